"""Shared helpers for the HTTP server tests: a frozen clock, a recording sink, signed requests."""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; httpx (the declared dev dependency) still works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from sync.metrics import Metrics
from sync.settings import Settings
from sync.web import WebhookHint, create_app, sign

SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_TS = "2024-05-01T12:00:00Z"
MAX_BODY = 4096
TOLERANCE_S = 300.0
URL = "/webhooks/zendesk"


def event_payload(ticket_id: int = 42, event_id: str = "0b0c3a5e-7c38-4d4e-9c16-1f3f5e7f9a01", **extra: Any) -> bytes:
    """A Zendesk event-subscription payload, as the sandbox and Zendesk send it."""
    payload = {
        "account_id": 1,
        "detail": {"id": str(ticket_id), "status": "OPEN", "subject": "Printer on fire"},
        "event": {"comment": {"id": "9", "body": "ignored", "is_public": True}},
        "id": event_id,
        "subject": f"zen:ticket:{ticket_id}",
        "time": "2024-05-01T11:59:58Z",
        "type": "zen:event-type:ticket.comment_added",
        "zendesk_event_version": "2022-11-06",
    }
    payload.update(extra)
    return json.dumps(payload).encode()


def signed(body: bytes, timestamp: str = NOW_TS, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": sign(secret, timestamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


class RecordingSink:
    """Stands in for the inbox: records every hint and reports duplicates by event id."""

    def __init__(self, fail: bool = False) -> None:
        self.hints: list[WebhookHint] = []
        self._seen: set[tuple[int, str | None]] = set()
        self._lock = threading.Lock()
        self.fail = fail

    def __call__(self, hint: WebhookHint) -> bool:
        if self.fail:
            raise RuntimeError("database is locked")
        with self._lock:
            self.hints.append(hint)
            key = (hint.ticket_id, hint.event_id)
            fresh = hint.event_id is None or key not in self._seen
            self._seen.add(key)
            return fresh


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_secret": SECRET,
        "webhook_tolerance_s": TOLERANCE_S,
        "webhook_max_body_bytes": MAX_BODY,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


AppFactory = Callable[..., Any]


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def build(sink: RecordingSink, metrics: Metrics) -> AppFactory:
    """Build an app with test defaults; any create_app argument or setting can be overridden."""

    def factory(settings: Settings | None = None, **kwargs: Any) -> Any:
        args: dict[str, Any] = {
            "settings": settings or make_settings(),
            "sink": sink,
            "status_provider": lambda: {"queue_depth": 0},
            "ready": lambda: (True, ""),
            "metrics": metrics,
            "clock": lambda: NOW,
        }
        args.update(kwargs)
        return create_app(**args)

    return factory


@pytest.fixture
def client(build: AppFactory) -> TestClient:
    return TestClient(build(), raise_server_exceptions=False)
