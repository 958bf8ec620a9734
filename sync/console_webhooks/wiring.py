"""Building the console webhook worker from the settings (both variables, or neither)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from sync.console_webhooks.worker import ConsoleWebhookWorker
from sync.errors import ConfigurationError
from sync.metrics import Metrics
from sync.retry import RetryPolicy
from sync.settings import ENV_PREFIX, Settings
from sync.store import Store

__all__ = ["console_webhook_worker"]


def console_webhook_worker(
    store: Store,
    settings: Settings,
    *,
    clock: Callable[[], datetime],
    rng: random.Random | None,
    metrics: Metrics | None,
    worker_id: str,
) -> ConsoleWebhookWorker | None:
    """The worker when ``console_webhook_url`` and ``console_webhook_secret`` are set; None when neither is.

    Raises ``ConfigurationError`` when only one of them is set, or the URL is not http(s).
    """
    url, secret = settings.console_webhook_url, settings.console_webhook_secret
    if url is None and secret is None:
        return None
    if url is None or secret is None:
        missing = "URL" if url is None else "SECRET"
        raise ConfigurationError(f"{ENV_PREFIX}CONSOLE_WEBHOOK_{missing} is not set (console webhooks need both)")
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"{ENV_PREFIX}CONSOLE_WEBHOOK_URL must be an http(s) URL")
    policy = RetryPolicy(random_source=(rng or random.Random()).random)
    return ConsoleWebhookWorker(
        store,
        url=url,
        secret=secret.get_secret_value(),
        clock=clock,
        policy=policy,
        metrics=metrics,
        max_backoff_s=settings.outbox_max_backoff_s,
        timeout_s=settings.console_webhook_timeout_s,
        worker_id=worker_id,
    )
