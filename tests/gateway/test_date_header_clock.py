"""The session's reading of Zendesk's clock: every response with a ``Date`` header restarts it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.gateway import DateHeaderClock


class _Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_same_date_header_seen_again_restarts_the_clock_from_that_response() -> None:
    monotonic = _Monotonic()
    clock = DateHeaderClock(monotonic)
    header = "Fri, 04 Dec 2026 22:50:00 GMT"
    assert clock.observe(header) == datetime(2026, 12, 4, 22, 50, tzinfo=UTC)
    monotonic.now += 0.7
    # A second response within the same second carries the same text: Zendesk's time is that second again.
    assert clock.observe(header) == datetime(2026, 12, 4, 22, 50, tzinfo=UTC)
    monotonic.now += 0.2
    assert clock.now() == datetime(2026, 12, 4, 22, 50, tzinfo=UTC) + timedelta(seconds=0.2)


def test_a_new_date_header_replaces_the_reading_and_an_unreadable_one_keeps_it() -> None:
    monotonic = _Monotonic()
    clock = DateHeaderClock(monotonic)
    clock.observe("Fri, 04 Dec 2026 22:50:00 GMT")
    clock.observe("Fri, 04 Dec 2026 22:50:05 GMT")
    assert clock.now() == datetime(2026, 12, 4, 22, 50, 5, tzinfo=UTC)
    assert clock.observe("not a date") is None
    assert clock.observe(None) is None
    monotonic.now += 1.0
    assert clock.now() == datetime(2026, 12, 4, 22, 50, 6, tzinfo=UTC)
