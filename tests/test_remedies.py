"""What a failed delivery or import does about each error: one table for the outbox and the inbox."""

from __future__ import annotations

import pytest

from mappings.errors import MappingValueError, TransitionRefused
from sync.errors import (
    AuthenticationFailed,
    MalformedPayload,
    MappingError,
    NetworkError,
    RateLimited,
    RecordNotFound,
    Remedy,
    ServerUnavailable,
    SyncError,
    TicketClosedRemotely,
    UpdateConflict,
    ZendeskRejected,
    remedy_for,
)


@pytest.mark.parametrize(
    ("error", "remedy"),
    [
        (RateLimited("429", retry_after=3), Remedy.RETRY),
        (ServerUnavailable("503", status=503), Remedy.RETRY),
        (NetworkError("reset", ambiguous=True), Remedy.RETRY),
        (NetworkError("refused", ambiguous=False), Remedy.RETRY),
        (UpdateConflict("409"), Remedy.REREAD),
        (TicketClosedRemotely("closed prevents ticket update"), Remedy.REREAD),
        (ZendeskRejected("422", status=422), Remedy.GIVE_UP),
        (RecordNotFound("404", status=404), Remedy.GIVE_UP),
        (AuthenticationFailed("401", status=401), Remedy.GIVE_UP),
        (MappingError("unknown status"), Remedy.GIVE_UP),
        (MalformedPayload("case_id: missing"), Remedy.GIVE_UP),
        (SyncError("any other Zendesk error"), Remedy.GIVE_UP),
        (MappingValueError("no such priority"), Remedy.GIVE_UP),
        (TransitionRefused("Closed", status="Closed", action="reply", closed=True), Remedy.GIVE_UP),
        (KeyError("case_id"), Remedy.INVESTIGATE),
        (RuntimeError("a bug"), Remedy.INVESTIGATE),
    ],
)
def test_each_error_demands_one_remedy(error: BaseException, remedy: Remedy) -> None:
    assert remedy_for(error) is remedy
