"""What casesync last saw of a ticket's assignee, from its own writes and from Zendesk's snapshots.

Closing a ticket needs an assignee (Zendesk refuses otherwise).  Knowing whether the ticket has one lets
the outbox close it in one request: ``status`` alone when it is assigned, or the default agent and
``status`` together — as a *safe update* stamped with the ``updated_at`` seen, so an assignment staff made
since is never overwritten (Zendesk answers 409 and the outbox re-reads).
"""

from __future__ import annotations

from mappings.zendesk import ZTicket
from sync.store import StoreTx
from sync.store.kv_keys import TICKET_FACTS
from sync.store.kv_values import TicketFacts

__all__ = ["TicketFacts", "known_ticket", "remember_ticket"]


def remember_ticket(tx: StoreTx, ticket: ZTicket) -> None:
    """Record ``ticket``'s assignee unless a newer snapshot was recorded already."""
    if ticket.updated_at is None:
        return
    current = known_ticket(tx, ticket.id)
    if current is not None and current.updated_at > ticket.updated_at:
        return
    TICKET_FACTS.put(tx, ticket.id, TicketFacts(assignee_id=ticket.assignee_id, updated_at=ticket.updated_at))


def known_ticket(tx: StoreTx, ticket_id: int) -> TicketFacts | None:
    """What was last seen of the ticket, or ``None`` when nothing was recorded."""
    return TICKET_FACTS.get(tx, ticket_id)
