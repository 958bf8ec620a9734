"""Who closed a case: one table over the evidence each place that closes a case has (docs/design.md §2, §3)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mappings.closer import (
    CLOSED_BEFORE_IMPORT,
    CLOSED_BEFORE_REPLY,
    CLOSED_BY_USER,
    ERASED,
    MERGE_TAG,
    CloseCause,
    CloseEvidence,
    CloseWitness,
    StatusChange,
    who_closed,
)
from mappings.lifecycle import SystemCloseReason
from mappings.models import CaseStatus, ChangeKind

CONSOLE, ERASURE, SNAPSHOT = CloseWitness.CONSOLE, CloseWitness.ERASURE, CloseWitness.SNAPSHOT
REPLY_REFUSED, IMPORT = CloseWitness.REPLY_REFUSED, CloseWitness.IMPORT
OPEN, SOLVED, PENDING, NEW = CaseStatus.OPEN, CaseStatus.SOLVED, CaseStatus.PENDING, CaseStatus.NEW
AUTO, MERGED, DELETED = (r.value for r in SystemCloseReason)
MERGE = frozenset({MERGE_TAG})

AUTOMATION = StatusChange(status="closed", updater_id=-1, via_channel="rule")
AGENT = StatusChange(status="closed", updater_id=900, via_channel="web")
TRIGGER = StatusChange(status="closed", updater_id=900, via_channel="Rule")
AGENT_SOLVED = StatusChange(status="solved", updater_id=900, via_channel="web")  # an earlier change


@pytest.mark.parametrize(
    ("witness", "evidence", "closer"),
    [
        # The console user's close; an erased requester's cases.
        (CONSOLE, {}, ("user", CloseCause.CONSOLE_USER, CLOSED_BY_USER)),
        (ERASURE, {}, ("system", CloseCause.ERASURE, ERASED)),
        # A ticket read from Zendesk: a deletion, then a merge, are Zendesk's whatever else is known.
        (SNAPSHOT, {"ticket_status": "deleted", "status_change": AGENT}, ("system", CloseCause.DELETION, DELETED)),
        (SNAPSHOT, {"ticket_status": "deleted", "tags": MERGE}, ("system", CloseCause.DELETION, DELETED)),
        (SNAPSHOT, {"tags": MERGE, "status_change": AGENT}, ("system", CloseCause.MERGE, MERGED)),
        (SNAPSHOT, {"tags": MERGE, "events_pending": True}, ("system", CloseCause.MERGE, MERGED)),
        # ... then the export's event that set the snapshot's status names the updater.
        (SNAPSHOT, {"status_change": AUTOMATION}, ("system", CloseCause.AUTOMATION, AUTO)),
        (SNAPSHOT, {"status_change": TRIGGER}, ("system", CloseCause.AUTOMATION, AUTO)),
        (SNAPSHOT, {"case_status": SOLVED, "status_change": AGENT}, ("staff", CloseCause.AGENT, None)),
        (SNAPSHOT, {"case_status": SOLVED, "status_change": AGENT, "events_pending": True},
         ("staff", CloseCause.AGENT, None)),
        # ... or the caller was told who, without the event.
        (SNAPSHOT, {"status_changed_by": "system"}, ("system", CloseCause.AUTOMATION, AUTO)),
        (SNAPSHOT, {"case_status": SOLVED, "status_changed_by": "staff", "events_pending": True},
         ("staff", CloseCause.AGENT, None)),
        # An event of another status change says nothing of this close.
        (SNAPSHOT, {"case_status": SOLVED, "status_change": AGENT_SOLVED}, ("system", CloseCause.AUTOMATION, AUTO)),
        (SNAPSHOT, {"case_status": SOLVED, "status_change": AGENT_SOLVED, "events_pending": True}, None),
        # Nothing tells: a close from Solved waits while the poller has yet to read its events ...
        (SNAPSHOT, {"case_status": SOLVED, "events_pending": True}, None),
        # ... else it is taken for the auto-close, which takes solved tickets only.
        (SNAPSHOT, {"case_status": SOLVED}, ("system", CloseCause.AUTOMATION, AUTO)),
        (SNAPSHOT, {"case_status": OPEN, "events_pending": True}, ("staff", CloseCause.AGENT, None)),
        (SNAPSHOT, {"case_status": NEW}, ("staff", CloseCause.AGENT, None)),
        (SNAPSHOT, {"case_status": PENDING}, ("staff", CloseCause.AGENT, None)),
        # A reply Zendesk refused: the ticket was deleted, or closed by someone the refusal does not name.
        (REPLY_REFUSED, {"ticket_status": "deleted"}, ("system", CloseCause.DELETION, DELETED)),
        (REPLY_REFUSED, {"case_status": SOLVED}, ("system", CloseCause.AUTOMATION, CLOSED_BEFORE_REPLY)),
        (REPLY_REFUSED, {"last_seen_ticket_status": "solved"},
         ("system", CloseCause.AUTOMATION, CLOSED_BEFORE_REPLY)),  # the reply reopened the case, not the ticket
        (REPLY_REFUSED, {"last_seen_ticket_status": "open"}, ("staff", CloseCause.AGENT, CLOSED_BEFORE_REPLY)),
        (REPLY_REFUSED, {"case_status": PENDING}, ("staff", CloseCause.AGENT, CLOSED_BEFORE_REPLY)),
        (REPLY_REFUSED, {"status_change": AUTOMATION}, ("staff", CloseCause.AGENT, CLOSED_BEFORE_REPLY)),
        # The backfill: a merge into a case of the account is Zendesk's; anything else is taken for an agent's.
        (IMPORT, {"tags": MERGE, "merged_into": 1043}, ("system", CloseCause.MERGE, MERGED)),
        (IMPORT, {"tags": MERGE}, ("staff", CloseCause.AGENT, CLOSED_BEFORE_IMPORT)),
        (IMPORT, {}, ("staff", CloseCause.AGENT, CLOSED_BEFORE_IMPORT)),
        (IMPORT, {"status_change": AUTOMATION}, ("staff", CloseCause.AGENT, CLOSED_BEFORE_IMPORT)),
    ],
)
def test_who_closed(
    witness: CloseWitness, evidence: dict[str, Any], closer: tuple[str, CloseCause, str | None] | None
) -> None:
    defaults: dict[str, Any] = {"ticket_status": "closed"}
    if witness in (SNAPSHOT, REPLY_REFUSED):
        defaults["case_status"] = OPEN
    answer = who_closed(CloseEvidence(witness=witness, **{**defaults, **evidence}))
    assert (None if answer is None else (answer.actor, answer.cause, answer.reason)) == closer


@pytest.mark.parametrize(
    ("witness", "evidence", "feed"),
    [
        (SNAPSHOT, {"tags": MERGE}, ChangeKind.MERGED),
        (SNAPSHOT, {"ticket_status": "deleted"}, ChangeKind.CLOSED_BY_SYSTEM),
        (SNAPSHOT, {"status_change": AUTOMATION}, ChangeKind.CLOSED_BY_SYSTEM),
        (ERASURE, {}, ChangeKind.CLOSED_BY_SYSTEM),
        (SNAPSHOT, {"status_change": AGENT}, ChangeKind.STATUS),
        (REPLY_REFUSED, {}, ChangeKind.STATUS),
        (CONSOLE, {}, ChangeKind.STATUS),
    ],
)
def test_the_feed_entry_of_each_close(witness: CloseWitness, evidence: dict[str, Any], feed: ChangeKind) -> None:
    answer = who_closed(CloseEvidence(witness=witness, **{"ticket_status": "closed", "case_status": OPEN, **evidence}))
    assert answer is not None and answer.feed_kind is feed


@pytest.mark.parametrize("witness", [SNAPSHOT, REPLY_REFUSED])
def test_a_close_seen_on_a_ticket_needs_the_status_it_closed_from(witness: CloseWitness) -> None:
    with pytest.raises(ValidationError, match="needs the case's status"):
        CloseEvidence(witness=witness, ticket_status="closed")
