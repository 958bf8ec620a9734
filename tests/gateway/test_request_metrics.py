"""Every Zendesk request is counted under its endpoint template and status, however often it repeats."""

from __future__ import annotations

from sync.metrics import Metrics


def test_repeated_requests_add_to_the_same_series_and_statuses_stay_apart() -> None:
    metrics = Metrics()
    for ticket_id in (1, 2, 3):
        metrics.observe_request(f"https://x.zendesk.com/api/v2/tickets/{ticket_id}.json", 200, 0.01)
    metrics.observe_request("https://x.zendesk.com/api/v2/tickets/4.json", 409, 0.02)
    metrics.observe_request("https://x.zendesk.com/api/v2/tickets/5.json", None, 0.5)
    text = metrics.exposition().decode()
    assert 'casesync_zendesk_requests_total{endpoint="/api/v2/tickets/{id}",status="200"} 3.0' in text
    assert 'casesync_zendesk_requests_total{endpoint="/api/v2/tickets/{id}",status="409"} 1.0' in text
    assert 'casesync_zendesk_requests_total{endpoint="/api/v2/tickets/{id}",status="network_error"} 1.0' in text
    assert 'casesync_zendesk_request_seconds_count{endpoint="/api/v2/tickets/{id}"} 5.0' in text


def test_two_registries_keep_their_own_counts() -> None:
    first, second = Metrics(), Metrics()
    first.observe_request("/api/v2/tickets/1.json", 200, 0.01)
    text = second.exposition().decode()
    assert 'casesync_zendesk_requests_total{endpoint="/api/v2/tickets/{id}",status="200"}' not in text
