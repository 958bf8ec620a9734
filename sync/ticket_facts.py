"""What casesync last saw of a ticket's assignee, from its own writes and from Zendesk's snapshots.

Closing a ticket needs an assignee (Zendesk refuses otherwise).  Knowing whether the ticket has one lets
the outbox close it in one request: ``status`` alone when it is assigned, or the default agent and
``status`` together — as a *safe update* stamped with the ``updated_at`` seen, so an assignment staff made
since is never overwritten (Zendesk answers 409 and the outbox re-reads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mappings.zendesk import ZTicket
from sync.store import StoreTx

__all__ = ["TicketFacts", "known_ticket", "remember_ticket"]


def _key(ticket_id: int) -> str:
    return f"ticket_facts:{ticket_id}"


@dataclass(frozen=True)
class TicketFacts:
    """The assignee and ``updated_at`` of the newest snapshot of a ticket seen."""

    assignee_id: int | None
    updated_at: datetime

    @property
    def stamp(self) -> str:
        """``updated_at`` as Zendesk writes it, for ``updated_stamp``."""
        return self.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def remember_ticket(tx: StoreTx, ticket: ZTicket) -> None:
    """Record ``ticket``'s assignee unless a newer snapshot was recorded already."""
    if ticket.updated_at is None:
        return
    current = known_ticket(tx, ticket.id)
    if current is not None and current.updated_at > ticket.updated_at:
        return
    tx.kv_set(_key(ticket.id), {"assignee_id": ticket.assignee_id, "updated_at": ticket.updated_at.isoformat()})


def known_ticket(tx: StoreTx, ticket_id: int) -> TicketFacts | None:
    """What was last seen of the ticket, or ``None`` when nothing was recorded."""
    raw = tx.kv_get(_key(ticket_id))
    if not isinstance(raw, dict) or "updated_at" not in raw:
        return None
    assignee = raw.get("assignee_id")
    return TicketFacts(
        assignee_id=int(assignee) if isinstance(assignee, int) else None,
        updated_at=datetime.fromisoformat(str(raw["updated_at"])),
    )
