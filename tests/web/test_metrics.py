"""sync.metrics: endpoint templates, private registries, label hygiene."""

from __future__ import annotations

import pytest

from sync.metrics import WEBHOOK_OUTCOMES, Metrics, endpoint_template


@pytest.mark.parametrize(
    ("raw", "template"),
    [
        ("/api/v2/tickets/123/comments.json", "/api/v2/tickets/{id}/comments"),
        ("/api/v2/tickets/123/comments", "/api/v2/tickets/{id}/comments"),
        ("https://acme.zendesk.com/api/v2/tickets/5.json?include=users", "/api/v2/tickets/{id}"),
        ("/api/v2/incremental/tickets/cursor.json?cursor=abc", "/api/v2/incremental/tickets/cursor"),
        ("/api/v2/tickets/9/comments/77/make_private", "/api/v2/tickets/{id}/comments/{id}/make_private"),
        ("/api/v2/webhooks/01GDXYD7ZTWYKXY6MW0DXC1FHB/signing_secret", "/api/v2/webhooks/{token}/signing_secret"),
        ("/attachments/token/a1B2c3D4e5F6g7H8i9J0kLmN/?name=log.txt", "/attachments/token/{token}"),
        ("/api/v2/uploads.json?filename=a.png", "/api/v2/uploads"),
        ("/api/v2/users/me", "/api/v2/users/me"),
        ("/api/v2/tickets/{id}/comments", "/api/v2/tickets/{id}/comments"),  # idempotent
        ("", "/"),
    ],
)
def test_endpoint_template(raw: str, template: str) -> None:
    assert endpoint_template(raw) == template


def test_each_instance_has_its_own_registry() -> None:
    a, b = Metrics(), Metrics()  # would raise "Duplicated timeseries" on a shared registry
    a.count_webhook("accepted")
    assert a.webhook_count("accepted") == 1
    assert b.webhook_count("accepted") == 0


def test_every_outcome_is_exported_from_the_start() -> None:
    text = Metrics().exposition().decode()
    for outcome in WEBHOOK_OUTCOMES:
        assert f'casesync_webhook_deliveries_total{{outcome="{outcome}"}} 0.0' in text


def test_unknown_outcomes_are_refused() -> None:
    with pytest.raises(ValueError):
        Metrics().count_webhook("whatever")


def test_methods_record_values() -> None:
    m = Metrics()
    m.observe_request("/api/v2/tickets/1.json", None, 1.5)
    m.observe_request("/api/v2/tickets/2", 429, 0.1)
    m.add_rate_limit_wait(2.0)
    m.add_rate_limit_wait(-1.0)  # ignored
    m.set_outbox(0, None)
    m.count_outbox_delivered("create", 3)
    m.count_inbound_applied("status")
    m.mark_poll_success(at=1_700_000_000.0)
    get = m.registry.get_sample_value
    assert get("casesync_zendesk_requests_total", {"endpoint": "/api/v2/tickets/{id}", "status": "network_error"}) == 1
    assert get("casesync_zendesk_requests_total", {"endpoint": "/api/v2/tickets/{id}", "status": "429"}) == 1
    assert get("casesync_zendesk_request_seconds_count", {"endpoint": "/api/v2/tickets/{id}"}) == 2
    assert get("casesync_rate_limit_wait_seconds_total") == 2.0
    assert get("casesync_outbox_oldest_age_seconds") == 0.0
    assert get("casesync_outbox_delivered_total", {"kind": "create"}) == 3
    assert get("casesync_inbound_applied_total", {"kind": "status"}) == 1
    assert get("casesync_last_poll_success_timestamp_seconds") == 1_700_000_000.0
