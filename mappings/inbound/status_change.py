"""Whether Zendesk's status of a linked ticket changes the case's, and, for a close, who made it.

Who closed it (an agent, Zendesk's automation, a merge, a deletion) is :func:`mappings.closer.who_closed`'s
answer over the snapshot, the case's status and the export's evidence in :class:`InboundContext`; a Closed case
stays Closed, and a disagreement is a conflict (docs/design.md §3, §4).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mappings.closer import CloseCause, CloseEvidence, CloseWitness, who_closed
from mappings.errors import TransitionRefused
from mappings.inbound.inputs import InboundContext
from mappings.inbound.plan import ChangeStatus, ConflictReason, InboundAction, RecordConflict, StatusDecision
from mappings.lifecycle import Transition, apply_staff_status, apply_system_close
from mappings.models import CaseStatus, ChangeKind
from mappings.status import status_from_zendesk
from mappings.zendesk import ZComment, ZTicket

__all__ = ["close_evidence", "decide_status", "find_merge_target"]

# Zendesk's merge comments read "... was closed and merged into request #N" (or "ticket #N").
_MERGED_INTO_RE = re.compile(r"merged\s+into\s+(?:this\s+)?(?:request|ticket)?\s*#(\d+)", re.IGNORECASE)


def find_merge_target(ticket: ZTicket, comments: Sequence[ZComment], hint: int | None = None) -> int | None:
    """The ticket a merged ticket went into: ``hint`` when known, else the last merge comment's ``#N``."""
    if hint is not None:
        return hint
    target: int | None = None
    for comment in comments:
        match = _MERGED_INTO_RE.search(comment.body)
        if match and int(match.group(1)) != ticket.id:
            target = int(match.group(1))
    return target


def close_evidence(status: CaseStatus, ticket: ZTicket, context: InboundContext) -> CloseEvidence:
    """What a ticket snapshot and the export's events tell of the close of a case in ``status``."""
    return CloseEvidence(
        witness=CloseWitness.SNAPSHOT,
        case_status=status,
        ticket_status=ticket.status,
        tags=frozenset(ticket.tags),
        status_change=context.status_change,
        status_changed_by=context.status_changed_by,
        events_pending=context.await_close_actor,
    )


def decide_status(
    status: CaseStatus,
    ticket: ZTicket,
    comments: Sequence[ZComment],
    pending_outbound: bool,
    context: InboundContext,
) -> tuple[StatusDecision, list[InboundAction]]:
    """The status decision for a case in ``status`` given the ticket, and the actions it takes."""
    target = status_from_zendesk(ticket.status)
    if status is CaseStatus.CLOSED:
        if target is CaseStatus.CLOSED:
            return StatusDecision.UNCHANGED, []
        if pending_outbound:
            return StatusDecision.DEFER_OUTBOUND, []
        return StatusDecision.CONFLICT, [
            RecordConflict(
                reason=ConflictReason.STATUS,
                detail=f"the case is Closed but ticket #{ticket.id} is {ticket.status}",
            )
        ]
    # A ticket closed in Zendesk is final there, so it is applied even while console changes are queued
    # (a queued reply then continues as a follow-up case).
    if pending_outbound and target is not CaseStatus.CLOSED:
        return StatusDecision.DEFER_OUTBOUND, []

    merged_into: int | None = None
    feed = ChangeKind.STATUS
    transition: Transition
    try:
        if target is CaseStatus.CLOSED:
            closer = who_closed(close_evidence(status, ticket, context))
            if closer is None:
                # Left for the export's events: the rest of the snapshot applies, the status waits.
                return StatusDecision.AWAIT_ACTOR, []
            if closer.actor == "system":
                transition = apply_system_close(status, closer.reason or "")
            else:
                transition = apply_staff_status(status, target)
            feed = closer.feed_kind
            if closer.cause is CloseCause.MERGE:
                target_ticket = find_merge_target(ticket, comments, context.merge_target_ticket_id)
                # Only a target of the same account is named; any other stays unnamed.
                merged_into = context.ticket_cases.get(target_ticket) if target_ticket is not None else None
        else:
            transition = apply_staff_status(status, target)
    except TransitionRefused as refused:
        return StatusDecision.CONFLICT, [
            RecordConflict(
                reason=ConflictReason.STATUS,
                detail=f"ticket #{ticket.id} is {ticket.status}, not applicable to a {status.value} case: {refused}",
            )
        ]
    if not transition.changed:
        return StatusDecision.UNCHANGED, []
    return StatusDecision.APPLY, [
        ChangeStatus(
            status=transition.after,
            actor=transition.actor,
            reason=transition.reason,
            merged_into=merged_into,
            feed_kind=feed,
        )
    ]
