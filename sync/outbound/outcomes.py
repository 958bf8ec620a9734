"""How a delivery attempt can end besides success, as exceptions the worker classifies.

Handlers raise :mod:`sync.errors` errors for Zendesk failures; these two cover the decisions that are
not errors of Zendesk's: waiting for something else to happen first, and giving up for a reason that
retrying cannot fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from mappings.zendesk import ZTicket
from sync.errors import PermanentError
from sync.store import StoreTx
from sync.ticket_facts import remember_ticket

__all__ = ["Deferred", "Finish", "Recorded", "Undeliverable"]

#: What a handler leaves to write when its Zendesk work succeeded (links, comment ids): the worker runs it
#: in the same transaction that marks the entry delivered, so a delivery costs one write transaction.
Finish = Callable[[StoreTx], None]


@dataclass(frozen=True)
class Recorded:
    """A :data:`Finish` in a form the worker writes in bulk with the other deliveries of its commit.

    ``comments``: message id → the Zendesk comment that delivered it; ``ticket``: the snapshot Zendesk
    answered with (its assignee, :mod:`sync.ticket_facts`); ``then``: anything else, written first.  Called
    on its own, it writes just what it holds.
    """

    comments: Mapping[int, int] = field(default_factory=dict)
    ticket: ZTicket | None = None
    then: Finish | None = None

    def __call__(self, tx: StoreTx) -> None:
        if self.then is not None:
            self.then(tx)
        if self.comments:
            tx.set_message_comments(self.comments)
        if self.ticket is not None:
            remember_ticket(tx, self.ticket)


class Deferred(Exception):
    """Not yet: try again after ``delay_s`` (e.g. a follow-up waits for its source ticket to close)."""

    def __init__(self, reason: str, delay_s: float = 30.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_s = delay_s


class Undeliverable(PermanentError):
    """The change can never be delivered as it is (e.g. the user's email belongs to a Zendesk agent)."""
