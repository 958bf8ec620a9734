"""Whether a ticket snapshot may change its case at all: not when it is older than the last one applied
(order, docs/design.md §4.10), nor when the ticket moved to another account's organization or requester
(tenant isolation, §4.8) — then a conflict is recorded and no comment of that ticket is imported any more."""

from __future__ import annotations

from collections.abc import Sequence

from mappings.inbound.inputs import CaseView, InboundContext
from mappings.inbound.plan import (
    ConflictReason,
    InboundAction,
    InboundPlan,
    RecordConflict,
    StatusDecision,
    TicketOutcome,
)
from mappings.zendesk import ZTicket

__all__ = ["conflict_plan", "is_stale", "ownership_conflict"]


def is_stale(case: CaseView, ticket: ZTicket) -> bool:
    """Whether ``ticket`` is older than the last snapshot applied to ``case`` (equal is not stale)."""
    if case.last_generated_timestamp is not None and ticket.generated_timestamp is not None:
        return ticket.generated_timestamp < case.last_generated_timestamp
    if case.last_updated_at is not None and ticket.updated_at is not None:
        return ticket.updated_at < case.last_updated_at
    return False


def ownership_conflict(
    account_id: str,
    organization_id: int | None,
    requester_zendesk_id: int | None,
    ticket: ZTicket,
    context: InboundContext,
) -> RecordConflict | None:
    """The conflict of a ticket that left ``account_id``'s organization or requester, else ``None``."""
    # Details name tickets, never another account's id or case numbers.
    if (
        organization_id is not None
        and ticket.organization_id != organization_id
        and context.organization_account_id != account_id
    ):
        return RecordConflict(
            reason=ConflictReason.MOVED_ORGANIZATION,
            detail=f"ticket #{ticket.id} was moved to an organization outside this account; the case stays",
        )
    if (
        requester_zendesk_id is not None
        and ticket.requester_id != requester_zendesk_id
        and account_id not in context.requester_account_ids
    ):
        return RecordConflict(
            reason=ConflictReason.MOVED_REQUESTER,
            detail=f"ticket #{ticket.id} was given a requester outside this account; the case stays",
        )
    return None


def conflict_plan(
    ticket: ZTicket,
    case_id: int,
    conflict: RecordConflict,
    *,
    watermark: bool,
    withdrawals: Sequence[InboundAction] = (),
) -> InboundPlan:
    """The plan of a ticket whose ownership conflicts: the conflict is recorded, and nothing else applies but
    the withdrawal of comments made private."""
    return InboundPlan(
        ticket_id=ticket.id,
        case_id=case_id,
        outcome=TicketOutcome.CONFLICT,
        status=StatusDecision.SKIPPED,
        changes=[*withdrawals, conflict],
        updated_at=ticket.updated_at if watermark else None,
        generated_timestamp=ticket.generated_timestamp if watermark else None,
    )
