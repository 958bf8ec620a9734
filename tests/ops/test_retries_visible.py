"""Every retry and every rate-limit wait is counted (``casesync_retries_total{reason}``,
``casesync_rate_limit_wait_seconds_total``) and logged through structlog."""

from __future__ import annotations

import io

import httpx
import pytest
import structlog

from sync.api import SupportCases
from sync.logging import configure_logging
from sync.metrics import Metrics
from sync.retry import Pacer
from sync.sandbox import Sandbox

from .conftest import EngineFor


@pytest.fixture(autouse=True)
def every_level_logged() -> None:
    """Log at every level: a test run earlier in the process may have configured a higher one, and the
    level filter runs before ``capture_logs`` sees an event."""
    configure_logging("json", "DEBUG", stream=io.StringIO())


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_429_and_503_retries_are_counted_and_logged(zd: Sandbox, support: SupportCases, engine_for: EngineFor) -> None:
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "bob", "bob@acme.test", "Bob")
    for n in range(4):
        support.submit("acme", "bob", f"Case {n}", "Body")
    rules = [{"path": r"^/api/v2/(tickets|users|organizations)", "error_429": 0.3, "error_503": 0.3}]
    assert httpx.post(f"{zd.url}/__sandbox/faults", json={"seed": 3, "rules": rules}, timeout=5).is_success
    engine = engine_for()
    with structlog.testing.capture_logs() as logs:
        for _ in range(10):
            if engine.run_once().pending == 0:
                break
    metrics = engine.metrics
    retried_429 = sample(metrics, "casesync_retries_total", reason="429")
    retried_503 = sample(metrics, "casesync_retries_total", reason="503")
    assert retried_429 >= 1 and retried_503 >= 1
    # The sandbox's 429 says "Retry-After: 1" (as Zendesk does): that wait is the rate limit's.
    assert sample(metrics, "casesync_rate_limit_wait_seconds_total") >= retried_429
    retries = [e for e in logs if e["event"] == "zendesk_retry"]
    assert {e["reason"] for e in retries} >= {"429", "503"}
    assert len(retries) == retried_429 + retried_503 + sample(metrics, "casesync_retries_total", reason="network")
    exposition = metrics.exposition().decode()
    assert 'casesync_retries_total{reason="429"}' in exposition


def test_pacing_waits_are_counted_and_logged() -> None:
    slept: list[float] = []
    now = [0.0]
    metrics = Metrics()
    pacer = Pacer(clock=lambda: now[0], sleep=slept.append, metrics=metrics)
    pacer.observe(limit=100, remaining=5)  # under 10% left: requests are spread over the window
    with structlog.testing.capture_logs() as logs:
        pacer.wait()
        pacer.wait()
    assert sum(slept) > 0
    assert sample(metrics, "casesync_rate_limit_wait_seconds_total") == sum(slept)
    assert sample(metrics, "casesync_retries_total", reason="pacing") == len([s for s in slept if s > 0])
    assert [e["event"] for e in logs if e["event"] == "zendesk_pacing"] == ["zendesk_pacing"] * len(
        [s for s in slept if s > 0]
    )
