"""A ticket casesync has no link for: a follow-up made in Zendesk of a managed ticket becomes a new case
referring to the source's case; casesync's own ticket whose link is not stored yet waits for the outbox; any
other ticket is not casesync's and is ignored (docs/design.md §4)."""

from __future__ import annotations

from mappings.external_ids import try_parse_case_external_id
from mappings.inbound.inputs import InboundContext
from mappings.inbound.ownership import conflict_plan, ownership_conflict
from mappings.inbound.plan import CreateFollowUpCase, InboundPlan, StatusDecision, TicketOutcome
from mappings.status import status_from_zendesk
from mappings.zendesk import ZTicket

__all__ = ["decide_unlinked"]


def decide_unlinked(ticket: ZTicket, context: InboundContext) -> CreateFollowUpCase | InboundPlan:
    """The follow-up case to create for an unlinked ticket, or the whole plan when nothing is to be created.

    Raises ``UnknownZendeskStatus`` for a follow-up whose status is outside the table, before anything is created.
    """
    source = context.followup_source_case
    own_number = try_parse_case_external_id(ticket.external_id)
    is_followup = (
        ticket.followup_source_id is not None and source is not None and source.ticket_id == ticket.followup_source_id
    )
    if source is not None and is_followup and own_number in (None, source.case_id):
        # A follow-up made in Zendesk (it may carry the source's inherited external id).
        status_from_zendesk(ticket.status)
        conflict = ownership_conflict(
            source.account_id, source.organization_id, source.requester_zendesk_id, ticket, context
        )
        if conflict is not None:
            # No case exists for it yet: nothing of the ticket is watermarked.
            return conflict_plan(ticket, source.case_id, conflict, watermark=False)
        return CreateFollowUpCase(
            account_id=source.account_id,
            ticket_id=ticket.id,
            refers_to=source.case_id,
            subject=ticket.subject,
            requester_zendesk_id=ticket.requester_id,
            organization_id=ticket.organization_id,
        )
    # casesync's own ticket not linked yet (a lost create response) is linked by the outbox, not here.
    waiting = own_number is not None
    return InboundPlan(
        ticket_id=ticket.id,
        case_id=None,
        outcome=TicketOutcome.AWAIT_LINK if waiting else TicketOutcome.IGNORE_UNMANAGED,
        status=StatusDecision.SKIPPED,
    )
