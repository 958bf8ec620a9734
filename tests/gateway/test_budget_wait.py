"""Waiting out a per-minute budget (the incremental exports'): ``sync.retry.BudgetWait``, and its two callers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import pytest

from sync.consistency.comments import ExportBudgetExhausted, comment_census
from sync.errors import (
    NetworkError,
    RateLimited,
    RecordNotFound,
    RetriableError,
    ServerUnavailable,
    SyncError,
    ZendeskRejected,
)
from sync.gateway import EventPage, ZendeskGateway
from sync.retry import BudgetWait


def _failing(failures: Sequence[BaseException], result: str = "page") -> tuple[Callable[[], str], list[int]]:
    """A call that raises ``failures`` in turn, then returns ``result``; and its call count."""
    calls = [0]

    def call() -> str:
        calls[0] += 1
        if calls[0] <= len(failures):
            raise failures[calls[0] - 1]
        return result

    return call, calls


@pytest.mark.parametrize(
    ("failures", "sleeps"),
    [
        ([], []),
        ([RateLimited("429", retry_after=37.0)], [37.0]),
        ([RateLimited("429", retry_after=0.0)], [10.0]),  # Retry-After: 0 still pauses
        ([RateLimited("429", retry_after=None)], [10.0]),
        ([ServerUnavailable("503", status=503, retry_after=4.0), NetworkError("reset", ambiguous=True)], [4.0, 10.0]),
        ([RateLimited("429", retry_after=60.0)] * 3, [60.0, 60.0, 60.0]),
    ],
    ids=["no failure", "retry-after", "retry-after zero", "no retry-after", "503 then reset", "three waits"],
)
def test_retriable_failures_are_waited_out(failures: list[BaseException], sleeps: list[float]) -> None:
    slept: list[float] = []
    call, calls = _failing(failures)
    assert BudgetWait(3, slept.append).call(call) == "page"
    assert slept == sleeps
    assert calls[0] == len(failures) + 1


def test_after_the_last_wait_the_last_error_is_raised_unchanged() -> None:
    slept: list[float] = []
    last = RateLimited("still limited", retry_after=5.0)
    call, calls = _failing([RateLimited("429", retry_after=5.0)] * 3 + [last])
    with pytest.raises(RateLimited) as raised:
        BudgetWait(3, slept.append).call(call)
    assert raised.value is last
    assert slept == [5.0, 5.0, 5.0]
    assert calls[0] == 4


@pytest.mark.parametrize("error", [RecordNotFound("gone", status=404), ZendeskRejected("refused", status=422)])
def test_a_failure_waiting_cannot_fix_is_raised_at_once(error: SyncError) -> None:
    slept: list[float] = []
    call, calls = _failing([error])
    with pytest.raises(type(error)):
        BudgetWait(3, slept.append).call(call)
    assert slept == [] and calls[0] == 1


class RateLimitedEventExport:
    """A gateway whose ticket-event export answers 429 ``limited`` times, then one empty last page."""

    def __init__(self, limited: int) -> None:
        self.limited = limited
        self.calls = 0

    def export_ticket_events(self, start_time: int) -> EventPage:
        self.calls += 1
        if self.calls <= self.limited:
            raise RateLimited("429", retry_after=6.0)
        return EventPage(comment_events=[], end_time=start_time, end_of_stream=True)


def test_the_comment_census_waits_out_the_event_exports_budget() -> None:
    slept: list[float] = []
    export = RateLimitedEventExport(limited=6)
    census = comment_census(cast(ZendeskGateway, export), [1], 0, sleep=slept.append)
    assert census.requests == 1 and census.public == {}
    assert slept == [6.0] * 6


def test_the_comment_census_gives_up_after_six_waits() -> None:
    slept: list[float] = []
    export = RateLimitedEventExport(limited=7)
    with pytest.raises(ExportBudgetExhausted) as raised:
        comment_census(cast(ZendeskGateway, export), [1], 0, sleep=slept.append)
    assert isinstance(raised.value.__cause__, RetriableError)
    assert slept == [6.0] * 6 and export.calls == 7
