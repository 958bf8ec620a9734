"""What casesync last saw of a ticket's assignee, from its own writes and from Zendesk's snapshots.

Closing a ticket needs an assignee (Zendesk refuses otherwise).  Knowing whether the ticket has one lets
the outbox close it in one request: ``status`` alone when it is assigned, or the default agent and
``status`` together — as a *safe update* stamped with the ``updated_at`` seen, so an assignment staff made
since is never overwritten (Zendesk answers 409 and the outbox re-reads).
"""

from __future__ import annotations

from collections.abc import Iterable

from mappings.zendesk import ZTicket
from sync.store import StoreTx
from sync.store.kv_keys import TICKET_FACTS
from sync.store.kv_values import TicketFacts

__all__ = ["TicketFacts", "known_ticket", "remember_ticket", "remember_tickets"]


def remember_ticket(tx: StoreTx, ticket: ZTicket) -> None:
    """Record ``ticket``'s assignee unless a newer snapshot was recorded already."""
    if ticket.updated_at is None:
        return
    current = known_ticket(tx, ticket.id)
    if current is not None and current.updated_at > ticket.updated_at:
        return
    TICKET_FACTS.put(tx, ticket.id, TicketFacts(assignee_id=ticket.assignee_id, updated_at=ticket.updated_at))


def remember_tickets(tx: StoreTx, tickets: Iterable[ZTicket]) -> None:
    """:func:`remember_ticket` for several tickets: one read of what is recorded, one write of what is newer.

    Of two snapshots of the same ticket, the newer is kept.
    """
    newest: dict[int, ZTicket] = {}
    for ticket in tickets:
        if ticket.updated_at is None:
            continue
        seen = newest.get(ticket.id)
        if seen is None or (seen.updated_at is not None and ticket.updated_at >= seen.updated_at):
            newest[ticket.id] = ticket
    if not newest:
        return
    recorded = TICKET_FACTS.get_many(tx, newest)
    changed: dict[int, TicketFacts] = {}
    for ticket_id, ticket in newest.items():
        assert ticket.updated_at is not None
        current = recorded.get(ticket_id)
        if current is not None and current.updated_at > ticket.updated_at:
            continue
        changed[ticket_id] = TicketFacts(assignee_id=ticket.assignee_id, updated_at=ticket.updated_at)
    TICKET_FACTS.put_many(tx, changed)


def known_ticket(tx: StoreTx, ticket_id: int) -> TicketFacts | None:
    """What was last seen of the ticket, or ``None`` when nothing was recorded."""
    return TICKET_FACTS.get(tx, ticket_id)
