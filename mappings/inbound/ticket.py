"""The decision for one ticket snapshot: what it and its comments change on the console (docs/design.md §3, §4).

It composes the topics of this package in a fixed order — the follow-up case (for an unlinked ticket), else order
and ownership, then the comments, the status and the CCs — so the changes of a plan apply in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from mappings.inbound.comments import decide_comments, withdrawals
from mappings.inbound.followups import decide_unlinked
from mappings.inbound.inputs import CaseView, CommentLedger, InboundContext
from mappings.inbound.ownership import conflict_plan, is_stale, ownership_conflict
from mappings.inbound.plan import (
    CreateFollowUpCase,
    InboundAction,
    InboundPlan,
    SetCc,
    StatusDecision,
    TicketOutcome,
)
from mappings.inbound.status_change import decide_status
from mappings.models import CaseStatus
from mappings.status import status_from_zendesk
from mappings.zendesk import ZComment, ZTicket

__all__ = ["decide_ticket"]


def _cc_emails(ticket: ZTicket, current: Sequence[str], context: InboundContext) -> list[str] | None:
    """The ticket's CC addresses, keeping the case's known order first; ``None`` if a CC user is missing."""
    emails: list[str] = []
    for cc_id in ticket.email_cc_ids:
        user = context.users.get(cc_id)
        if user is None or not user.email:
            return None  # not supplied: keep what the case shows rather than guess
        emails.append(user.email.strip().lower())
    wanted = set(emails)
    kept = [email for email in current if email.lower() in wanted]
    kept_set = {email.lower() for email in kept}
    return [*kept, *(email for email in dict.fromkeys(emails) if email not in kept_set)]


def decide_ticket(
    case: CaseView | None,
    ticket: ZTicket,
    comments: Sequence[ZComment],
    ledger: CommentLedger | None = None,
    context: InboundContext | None = None,
) -> InboundPlan:
    """Decide what one ticket snapshot and its comments change on the console.

    ``case`` is the linked case, or ``None`` for a ticket with no link.  Raises ``UnknownZendeskStatus`` for a
    status outside the table (dead-letter the ticket) and ``MissingAuthor`` when a comment to import has no
    user in ``context.users``.
    """
    ledger = ledger or CommentLedger()
    context = context or InboundContext()
    if case is None:
        start = decide_unlinked(ticket, context)
        if isinstance(start, InboundPlan):
            return start
        # The follow-up case does not exist yet: the plan says to create it, its number is assigned then, and
        # it starts New, with no CC and nothing queued for it.
        return _decide_changes(
            ticket,
            comments,
            ledger,
            context,
            case_id=None,
            status=CaseStatus.NEW,
            cc=(),
            pending_outbound=False,
            outcome=TicketOutcome.NEW_FOLLOW_UP,
            follow_up=start,
        )
    status_from_zendesk(ticket.status)
    if is_stale(case, ticket):
        return InboundPlan(
            ticket_id=ticket.id,
            case_id=case.case_id,
            outcome=TicketOutcome.IGNORE_STALE,
            status=StatusDecision.IGNORE_STALE,
            changes=withdrawals(comments, ledger),
        )
    conflict = ownership_conflict(case.account_id, case.organization_id, case.requester_zendesk_id, ticket, context)
    if conflict is not None:
        return conflict_plan(ticket, case.case_id, conflict, watermark=True, withdrawals=withdrawals(comments, ledger))
    return _decide_changes(
        ticket,
        comments,
        ledger,
        context,
        case_id=case.case_id,
        status=case.status,
        cc=case.cc,
        pending_outbound=case.pending_outbound,
        outcome=TicketOutcome.APPLY,
    )


def _decide_changes(
    ticket: ZTicket,
    comments: Sequence[ZComment],
    ledger: CommentLedger,
    context: InboundContext,
    *,
    case_id: int | None,
    status: CaseStatus,
    cc: Sequence[str],
    pending_outbound: bool,
    outcome: TicketOutcome,
    follow_up: CreateFollowUpCase | None = None,
) -> InboundPlan:
    """The comments', status' and CCs' changes for a case in ``status`` showing ``cc`` (the case ``follow_up``
    creates, when given)."""
    closed = status is CaseStatus.CLOSED
    changes: list[InboundAction] = []
    comment_changes, verdicts = decide_comments(ticket.id, comments, ledger, context, case_closed=closed)
    changes.extend(comment_changes)
    status_decision, status_changes = decide_status(status, ticket, comments, pending_outbound, context)
    changes.extend(status_changes)
    if not closed:
        emails = _cc_emails(ticket, cc, context)
        if emails is not None and emails != list(cc):
            changes.append(SetCc(emails=emails))
    # A close left for later keeps the watermark where it was, so that the snapshot is applied again.
    watermark = status_decision is not StatusDecision.AWAIT_ACTOR
    return InboundPlan(
        ticket_id=ticket.id,
        case_id=case_id,
        outcome=outcome,
        status=status_decision,
        follow_up=follow_up,
        changes=changes,
        comments=verdicts,
        updated_at=ticket.updated_at if watermark else None,
        generated_timestamp=ticket.generated_timestamp if watermark else None,
    )
