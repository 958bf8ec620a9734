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


def test_standard_collectors_and_build_info_are_exported() -> None:
    from sync.metrics import build_version

    text = Metrics().exposition().decode()
    for series in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds",
                   "python_info", "python_gc_objects_collected_total"):
        assert series in text, series
    line = next(x for x in text.splitlines() if x.startswith("casesync_build_info{"))
    assert f'version="{build_version()}"' in line and line.endswith(" 1.0")


def test_no_created_series() -> None:
    m = Metrics()
    m.count_retry("429")
    m.observe_request("/api/v2/tickets/1", 200, 0.1)
    assert "_created" not in m.exposition().decode()


def test_connection_paused_gauge_by_cause() -> None:
    m = Metrics()
    get = m.registry.get_sample_value
    assert get("casesync_connection_paused", {"cause": "credentials_refused"}) == 0
    m.set_connection_paused("credentials_refused")
    assert get("casesync_connection_paused", {"cause": "credentials_refused"}) == 1
    assert get("casesync_connection_paused", {"cause": "unreachable"}) == 0
    m.set_connection_paused(None)
    assert get("casesync_connection_paused", {"cause": "credentials_refused"}) == 0
    with pytest.raises(ValueError):
        m.set_connection_paused("bored")
