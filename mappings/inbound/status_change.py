"""Whether Zendesk's status of a linked ticket changes the case's, and who made the change.

Zendesk's merges and deletions close the case with actor ``system`` and a reason; a close straight from Solved
with no event telling who made it is Zendesk's auto-close; a Closed case stays Closed, and a disagreement is a
conflict (docs/design.md §3, §4).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from mappings.errors import TransitionRefused
from mappings.inbound.inputs import InboundContext
from mappings.inbound.plan import ChangeStatus, ConflictReason, InboundAction, RecordConflict, StatusDecision
from mappings.lifecycle import SystemCloseReason, Transition, apply_staff_status, apply_system_close
from mappings.models import CaseStatus, ChangeKind
from mappings.status import DELETED, status_from_zendesk
from mappings.zendesk import ZComment, ZTicket

__all__ = [
    "MERGE_TAG",
    "RULE_CHANNEL",
    "SYSTEM_UPDATER_ID",
    "assumed_close_actor",
    "decide_status",
    "find_merge_target",
    "status_actor",
]

#: The tag Zendesk puts on a ticket closed by a merge.
MERGE_TAG = "closed_by_merge"

#: The ``updater_id`` of the updates Zendesk makes itself (automations such as the auto-close of solved tickets).
SYSTEM_UPDATER_ID = -1

#: The channel of updates made by business rules (automations and triggers).
RULE_CHANNEL = "rule"

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


def status_actor(updater_id: int | None, via_channel: str | None) -> Literal["staff", "system"]:
    """Who made a ticket update, from the ticket-event export's ``updater_id`` and channel: Zendesk itself
    (``-1``, e.g. the automation that closes solved tickets) or a business rule (channel ``rule``) is
    ``system``; anything else is a person in Zendesk, i.e. ``staff``."""
    if updater_id == SYSTEM_UPDATER_ID or (via_channel or "").strip().lower() == RULE_CHANNEL:
        return "system"
    return "staff"


def assumed_close_actor(before: CaseStatus) -> Literal["staff", "system"]:
    """Who closed a ticket when no event says: Zendesk's auto-close closes solved tickets only, so a close
    straight from Solved is taken for it (``system``); a ticket closed from any other status was closed by
    a person in Zendesk (``staff``)."""
    return "system" if CaseStatus(before) is CaseStatus.SOLVED else "staff"


def _status_actor(before: CaseStatus, context: InboundContext) -> Literal["staff", "system"]:
    if context.status_changed_by is not None:
        return context.status_changed_by
    return assumed_close_actor(before)


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
        if ticket.status == DELETED:
            transition = apply_system_close(status, SystemCloseReason.DELETED)
            feed = ChangeKind.CLOSED_BY_SYSTEM
        elif target is CaseStatus.CLOSED and MERGE_TAG in ticket.tags:
            transition = apply_system_close(status, SystemCloseReason.MERGED)
            target_ticket = find_merge_target(ticket, comments, context.merge_target_ticket_id)
            # Only a target of the same account is named; any other stays unnamed.
            merged_into = context.ticket_cases.get(target_ticket) if target_ticket is not None else None
            feed = ChangeKind.MERGED
        elif (
            target is CaseStatus.CLOSED
            and status is CaseStatus.SOLVED
            and context.status_changed_by is None
            and context.await_close_actor
        ):
            # Staff's close and Zendesk's auto-close look the same on the ticket: only the export's events tell.
            return StatusDecision.AWAIT_ACTOR, []
        elif target is CaseStatus.CLOSED and _status_actor(status, context) == "system":
            transition = apply_system_close(status, SystemCloseReason.AUTO_CLOSED)
            feed = ChangeKind.CLOSED_BY_SYSTEM
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
