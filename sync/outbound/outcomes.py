"""How a delivery attempt can end besides success, as exceptions the worker classifies.

Handlers raise :mod:`sync.errors` errors for Zendesk failures; these two cover the decisions that are
not errors of Zendesk's: waiting for something else to happen first, and giving up for a reason that
retrying cannot fix.
"""

from __future__ import annotations

from collections.abc import Callable

from sync.errors import PermanentError
from sync.store import StoreTx

__all__ = ["Deferred", "Finish", "Undeliverable"]

#: What a handler leaves to write when its Zendesk work succeeded (links, comment ids): the worker runs it
#: in the same transaction that marks the entry delivered, so a delivery costs one write transaction.
Finish = Callable[[StoreTx], None]


class Deferred(Exception):
    """Not yet: try again after ``delay_s`` (e.g. a follow-up waits for its source ticket to close)."""

    def __init__(self, reason: str, delay_s: float = 30.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay_s = delay_s


class Undeliverable(PermanentError):
    """The change can never be delivered as it is (e.g. the user's email belongs to a Zendesk agent)."""
