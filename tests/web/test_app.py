"""Health, readiness, metrics and the status page."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter
from starlette.testclient import TestClient

from sync.metrics import Metrics

from .conftest import URL, AppFactory, event_payload, signed


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_ready(client: TestClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_readyz_not_ready_gives_the_reason(build: AppFactory) -> None:
    client = TestClient(build(ready=lambda: (False, "the store's schema is outdated: run casesync migrate")))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "reason": "the store's schema is outdated: run casesync migrate"}


def test_readyz_when_the_check_itself_fails(build: AppFactory) -> None:
    def unreachable() -> tuple[bool, str]:
        raise ConnectionRefusedError("connection refused")

    client = TestClient(build(ready=unreachable), raise_server_exceptions=False)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "connection refused" in response.json()["reason"]


METRIC_NAMES = [
    "casesync_zendesk_requests_total",
    "casesync_zendesk_request_seconds",
    "casesync_retries_total",
    "casesync_rate_limit_wait_seconds_total",
    "casesync_outbox_depth",
    "casesync_outbox_oldest_age_seconds",
    "casesync_inbound_lag_seconds",
    "casesync_dead_letters",
    "casesync_webhook_deliveries_total",
    "casesync_outbox_delivered_total",
    "casesync_inbound_applied_total",
]


def test_metrics_exposes_every_name(client: TestClient, metrics: Metrics) -> None:
    metrics.observe_request("/api/v2/tickets/5.json", 200, 0.12)
    metrics.count_retry("429")
    metrics.add_rate_limit_wait(3.5)
    metrics.set_outbox(4, 12.0)
    metrics.observe_inbound_lag(0.4)
    metrics.set_dead_letters(1)
    metrics.count_outbox_delivered("comment")
    metrics.count_inbound_applied("staff_message")
    body = event_payload()
    client.post(URL, content=body, headers=signed(body))

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in METRIC_NAMES:
        assert re.search(rf"^# HELP {name} ", text, re.M), name
    assert 'casesync_webhook_deliveries_total{outcome="accepted"} 1.0' in text
    assert 'casesync_webhook_deliveries_total{outcome="bad_signature"} 0.0' in text
    assert 'casesync_zendesk_requests_total{endpoint="/api/v2/tickets/{id}",status="200"} 1.0' in text
    assert "casesync_outbox_depth 4.0" in text


def test_metrics_can_expose_another_registry(build: AppFactory) -> None:
    registry = CollectorRegistry()
    Counter("other_things_total", "Other things.", registry=registry).inc()
    client = TestClient(build(registry=registry))
    assert "other_things_total 1.0" in client.get("/metrics").text


STATUS = {
    "queue_depth": 3,
    "oldest_pending_age_s": 125.0,
    "dead_letters": 2,
    "conflicts": 0,
    "last_successful_poll": datetime(2024, 5, 1, 11, 59, tzinfo=UTC),
    "cursor_lag_s": 4.2,
    "webhook_deliveries": {"accepted": 10, "duplicate": 1, "bad_signature": 0},
    "reconcile_drift": 7,
    "reconcile_drift_left": None,
    "recent_dead_letters": [{"id": 1, "reason": "422 <b>closed</b>"}],
    "note": "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>": "key is hostile too",
}


@pytest.mark.parametrize("path", ["/", "/status"])
def test_status_page_shows_the_values_escaped(build: AppFactory, path: str) -> None:
    client = TestClient(build(status_provider=lambda: STATUS, refresh_s=15))
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    html = response.text
    assert '<meta http-equiv="refresh" content="15">' in html
    for shown in ("Queue depth", ">3<", "Oldest pending age", "2 min 5 s", "Dead letters", "Conflicts",
                  "2024-05-01T11:59:00+00:00", "Cursor lag", "4.2 s", "Webhook deliveries", "Accepted",
                  ">10<", "Reconcile drift left", "422 &lt;b&gt;closed&lt;/b&gt;"):
        assert shown in html, shown
    assert "<th>Reconcile drift</th>" not in html  # what the last reconcile left, not what it found
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert '<span class="warn"><span class="num">2</span></span>' in html  # dead letters stand out
    # Self-contained: no scripts, no external stylesheets, fonts or images.
    assert not re.search(r"<script|<link|<[a-z][^>]*\s(src|href)=\"?https?:|url\(", html, re.I)


def test_status_json(build: AppFactory) -> None:
    client = TestClient(build(status_provider=lambda: STATUS))
    response = client.get("/status.json")
    assert response.status_code == 200
    data = response.json()
    assert data["queue_depth"] == 3
    assert data["last_successful_poll"] == "2024-05-01T11:59:00+00:00"
    assert data["webhook_deliveries"] == {"accepted": 10, "duplicate": 1, "bad_signature": 0}
    assert json.loads(response.text) == data


def test_status_when_the_store_cannot_be_read(build: AppFactory) -> None:
    def broken() -> dict[str, Any]:
        raise OSError("unable to open database file")

    client = TestClient(build(status_provider=broken), raise_server_exceptions=False)
    page = client.get("/status")
    assert page.status_code == 503
    assert "unable to open database file" in page.text
    assert client.get("/status.json").status_code == 503


def test_empty_status(build: AppFactory) -> None:
    client = TestClient(build(status_provider=dict))
    assert "Nothing to report yet" in client.get("/").text
