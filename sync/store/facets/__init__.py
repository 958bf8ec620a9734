"""The facets of a store transaction: one small interface per kind of thing stored.

:class:`sync.store.StoreTx` is all of them at once; a reader looking for how outbox entries are claimed or how
messages are withdrawn opens the one facet that holds it.
"""

from __future__ import annotations

from sync.store.facets.cases import CasesTx
from sync.store.facets.conflicts import ConflictsTx
from sync.store.facets.console import ConsoleTx
from sync.store.facets.delivery import DeliveryTx
from sync.store.facets.feed import FeedTx
from sync.store.facets.inbox import InboxTx
from sync.store.facets.memory import MemoryTx
from sync.store.facets.messages import MessagesTx
from sync.store.facets.operators import OperatorsTx
from sync.store.facets.outbox import OutboxTx
from sync.store.facets.people import PeopleTx
from sync.store.facets.tickets import TicketsTx

__all__ = [
    "CasesTx",
    "ConflictsTx",
    "ConsoleTx",
    "DeliveryTx",
    "FeedTx",
    "InboxTx",
    "MemoryTx",
    "MessagesTx",
    "OperatorsTx",
    "OutboxTx",
    "PeopleTx",
    "TicketsTx",
]
