"""The incremental export's budget on Zendesk's clock, ``start_time`` clamping, cursors and lag (docs/design.md §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.cursor import (
    CursorPosition,
    ZendeskClock,
    clamp_start_time,
    decode_after_cursor,
    encode_after_cursor,
    export_requests_in_window,
    lag_seconds,
    may_poll,
    prune_request_log,
)
from mappings.errors import InvalidCursor

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _ago(*seconds: float) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


@pytest.mark.parametrize(
    ("dates", "per_poll", "polls"),
    [
        ([], 1, True),
        (_ago(*range(1, 9)), 1, True),  # 8 in the window: 8 < 10 - 1
        (_ago(*range(1, 10)), 1, False),  # 9 already = 10 - 1
        (_ago(*range(1, 8)), 2, True),  # 7 < 10 - 2
        (_ago(*range(1, 9)), 2, False),  # 8 = 10 - 2
        (_ago(*([60.0] * 9)), 1, True),  # exactly 60 s old: out of the window
        (_ago(*([59.5] * 9)), 1, False),
        (_ago(0.1, 0.2), 1, True),  # requests a moment ago: no minimum spacing
    ],
)
def test_the_export_budget(dates: list[datetime], per_poll: int, polls: bool) -> None:
    assert may_poll(dates, NOW, requests_per_poll=per_poll) is polls


def test_the_window_counts_on_zendesks_clock_not_the_local_one() -> None:
    clock = ZendeskClock(date=NOW, seen_at_monotonic=1000.0)
    dates = _ago(*range(1, 10))
    assert not may_poll(dates, clock.now(1000.0))
    assert may_poll(dates, clock.now(1000.0 + 60.0))  # local time elapsed moves Zendesk's clock on


def test_the_clock_takes_the_latest_date_header() -> None:
    clock = ZendeskClock(date=NOW, seen_at_monotonic=10.0)
    assert clock.now(15.0) == NOW + timedelta(seconds=5)
    assert clock.now(5.0) == NOW  # never backwards
    later = clock.observe(NOW + timedelta(seconds=30), 20.0)
    assert later.now(20.0) == NOW + timedelta(seconds=30)
    truncated = clock.observe(NOW + timedelta(seconds=9), 20.0)  # a Date a little behind the extrapolation
    assert truncated == clock


def test_the_request_log_keeps_only_what_counts() -> None:
    dates = _ago(120, 61, 59, 1)
    assert prune_request_log(dates, NOW) == sorted(_ago(59, 1))
    assert export_requests_in_window(dates, NOW) == 2


@pytest.mark.parametrize(
    ("start", "now", "sent"),
    [
        (1_700_000_000, 1_700_000_000, 1_699_999_940),  # never later than now minus 60 s
        (1_700_000_000, 1_700_000_060, 1_700_000_000),
        (1_600_000_000, 1_700_000_000, 1_600_000_000),
        (1_700_000_000.9, 1_800_000_000, 1_700_000_000),
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), NOW, int(NOW.timestamp()) - 60),
    ],
)
def test_start_time_clamping(start: float | datetime, now: float | datetime, sent: int) -> None:
    assert clamp_start_time(start, now) == sent


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 4_000_000_000), st.integers(60, 4_000_000_000))
def test_start_time_is_never_later_than_zendesk_now_minus_a_minute(start: int, now: int) -> None:
    sent = clamp_start_time(start, now)
    assert sent <= now - 60
    assert sent == min(start, now - 60)


def test_decoding_zendesks_cursor() -> None:
    position = decode_after_cursor("MTU3NjYxMzUzOS4wfHw0Njd8")  # "1576613539.0||467|"
    assert position == CursorPosition(timestamp=1576613539, ticket_id=467)
    assert position.at == datetime(2019, 12, 17, 20, 12, 19, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["", "   ", "!!!", "aGVsbG8=", "MTU3NjYxMzUzOS4w"])
def test_undecodable_cursors_are_errors(bad: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_after_cursor(bad)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**10), st.one_of(st.none(), st.integers(1, 10**12)))
def test_cursors_round_trip(timestamp: int, ticket_id: int | None) -> None:
    position = CursorPosition(timestamp=timestamp, ticket_id=ticket_id)
    encoded = encode_after_cursor(position)
    assert decode_after_cursor(encoded) == position
    assert decode_after_cursor(encoded.rstrip("=")) == position  # padding is optional


def test_lag() -> None:
    position = CursorPosition(timestamp=int(NOW.timestamp()) - 90)
    assert lag_seconds(position, NOW) == 90.0
    assert lag_seconds(NOW + timedelta(seconds=5), NOW) == 0.0
