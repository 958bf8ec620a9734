"""Every key of the store's key-value table, declared once with the model of its value.

The ``kv`` table (``key`` → JSON value) holds what the engine remembers between runs that is not a relation:
budgets, checkpoints, markers and small caches.  Nothing else names a key: code reads and writes through the
entries below, which parse and serialise their values with the models of :mod:`sync.store.kv_values`
(``tests/store/test_kv_registry.py`` checks that no other module of ``sync/`` calls ``kv_get`` / ``kv_set``).
An :class:`Entry` is one key; a :class:`Family` is one key per ticket, e-mail address, ....  The key strings
are those earlier releases wrote, so a store keeps its state across an upgrade.

A relation between two rows is a table, not a key family: the continuation of a case is
``case_continuations`` (:meth:`sync.store.StoreTx.continuation_of`).

=========================  ==========================================  =======================================
entry / family             key                                         value
=========================  ==========================================  =======================================
``CONNECTION_PAUSE``       ``connection:paused``                       :class:`Pause` (absent while running)
``RECONCILE_LAST``         ``reconcile:last``                          :class:`ReconcileSummary`
``BACKFILL_CHECKPOINT``    ``backfill:cursor``                         :class:`BackfillCheckpoint`
``WEBHOOK_DELIVERY``       ``console_webhooks:state``                  :class:`DeliveryState`
``INSTALLATION_ID``        ``installation_id``                         the store's random id (hex)
``AGENT_ID``               ``agent_id:<lower-cased email>``            a Zendesk agent's user id
``TICKET_FACTS``           ``ticket_facts:<ticket id>``                :class:`TicketFacts`
``EXPORT_REQUESTS``        ``inbound.export_requests``                 epoch times of recent export requests
``FIRST_START_TIME``       ``inbound.first_start_time``                the first ticket page's ``start_time``
``CARRIED``                ``inbound.carried.<ticket id>``             :class:`Carried`
``COMMENT_GAP``            ``inbound.comment_gap.<ticket id>``         ``True``: list the comments in full
``PRIVATE_COMMENTS``       ``inbound.private.<ticket id>``             comment ids made private, never imported
``SUSPENDED``              ``inbound.suspended``                       suspended id → the notice surfaced
``SUSPENDED_CHECKED_AT``   ``inbound.suspended_checked_at``            when the suspended list was last read
``FORMER_RECIPIENTS``      ``recipients:former:<account id>``          addresses that left the account's list
=========================  ==========================================  =======================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sync.store.facets.delivery import DeliveryTx
from sync.store.facets.memory import MemoryTx
from sync.store.kv_values import (
    BackfillCheckpoint,
    Carried,
    DeliveryState,
    Pause,
    ReconcileSummary,
    TicketFacts,
)

__all__ = [
    "AGENT_ID",
    "BACKFILL_CHECKPOINT",
    "CARRIED",
    "COMMENT_GAP",
    "CONNECTION_PAUSE",
    "EXPORT_REQUESTS",
    "FIRST_START_TIME",
    "FORMER_RECIPIENTS",
    "INSTALLATION_ID",
    "PRIVATE_COMMENTS",
    "RECONCILE_LAST",
    "SUSPENDED",
    "SUSPENDED_CHECKED_AT",
    "TICKET_FACTS",
    "TICKET_TEXT_FAMILIES",
    "WEBHOOK_DELIVERY",
    "Codec",
    "Entry",
    "Family",
    "ticket_text_keys",
]

V = TypeVar("V")
K = TypeVar("K")


@dataclass(frozen=True)
class Codec(Generic[V]):
    """How a value is stored: ``load`` reads the stored JSON back (``None``: absent or unreadable, read as
    nothing stored); ``dump`` writes a value as JSON."""

    load: Callable[[Any], V | None]
    dump: Callable[[V], Any]


@dataclass(frozen=True)
class Entry(Generic[V]):
    """One key of the kv table."""

    key: str
    codec: Codec[V]

    def get(self, tx: MemoryTx) -> V | None:
        return self.codec.load(tx.kv_get(self.key))

    def is_set(self, tx: MemoryTx) -> bool:
        """Whether anything is stored under the key (readable or not)."""
        return tx.kv_get(self.key) is not None

    def put(self, tx: MemoryTx, value: V) -> None:
        tx.kv_set(self.key, self.codec.dump(value))

    def clear(self, tx: MemoryTx) -> None:
        tx.kv_set(self.key, None)


@dataclass(frozen=True)
class Family(Generic[K, V]):
    """One key per ``K`` (a ticket id, an address): ``prefix`` followed by ``name(k)``."""

    prefix: str
    codec: Codec[V]
    name: Callable[[K], str] = str

    def key(self, of: K) -> str:
        return self.prefix + self.name(of)

    def get(self, tx: MemoryTx, of: K) -> V | None:
        return self.codec.load(tx.kv_get(self.key(of)))

    def is_set(self, tx: MemoryTx, of: K) -> bool:
        """Whether anything is stored under ``of``'s key (readable or not)."""
        return tx.kv_get(self.key(of)) is not None

    def put(self, tx: MemoryTx, of: K, value: V) -> None:
        tx.kv_set(self.key(of), self.codec.dump(value))

    def get_many(self, tx: DeliveryTx, of: Iterable[K]) -> dict[K, V]:
        """The readable values stored for those of ``of`` that have one, in one read."""
        keys = {self.key(k): k for k in of}
        found = tx.kv_get_many(keys)
        loaded = {keys[key]: self.codec.load(value) for key, value in found.items()}
        return {k: v for k, v in loaded.items() if v is not None}

    def put_many(self, tx: DeliveryTx, values: Mapping[K, V]) -> None:
        """:meth:`put` each ``of`` → value, in one write."""
        tx.kv_set_many({self.key(k): self.codec.dump(v) for k, v in values.items()})

    def clear(self, tx: MemoryTx, of: K) -> None:
        tx.kv_set(self.key(of), None)


# -- codecs of plain values ------------------------------------------------------------------------------


def _load_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _load_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _load_flag(value: Any) -> bool | None:
    return True if value else None


def _load_floats(value: Any) -> list[float] | None:
    return [float(x) for x in value] if isinstance(value, list) else None


def _load_ints(value: Any) -> tuple[int, ...] | None:
    return tuple(int(x) for x in value) if isinstance(value, list) else None


def _load_strs(value: Any) -> tuple[str, ...] | None:
    return tuple(str(x) for x in value) if isinstance(value, list) else None


def _load_datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _load_first_start(value: Any) -> int | None:
    # Written as an int; a digit string (hand-edited, or an older writer) reads the same.
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return _load_int(value)


def _load_suspended(value: Any) -> dict[str, dict[str, Any]] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): dict(v) if isinstance(v, dict) else {} for k, v in value.items()}


def _same(value: V) -> V:
    return value


_INT: Codec[int] = Codec(_load_int, _same)
_STR: Codec[str] = Codec(_load_str, _same)
_FLAG: Codec[bool] = Codec(_load_flag, _same)


# -- the entries -----------------------------------------------------------------------------------------

#: The connection's pause (:mod:`sync.connection`); cleared when the connection runs again.
CONNECTION_PAUSE: Entry[Pause] = Entry("connection:paused", Codec(Pause.from_json, Pause.to_json))
#: What the reconciler found on its last run (``casesync status``).
RECONCILE_LAST: Entry[ReconcileSummary] = Entry(
    "reconcile:last", Codec(ReconcileSummary.load, ReconcileSummary.dump)
)
#: An interrupted backfill's checkpoint; cleared when a run completes.
BACKFILL_CHECKPOINT: Entry[BackfillCheckpoint] = Entry(
    "backfill:cursor", Codec(BackfillCheckpoint.load, BackfillCheckpoint.dump)
)
#: Console webhook delivery's failure bookkeeping (its cursor is the ``cursors`` row of
#: :data:`sync.console_webhooks.state.DELIVERY_CURSOR`).
WEBHOOK_DELIVERY: Entry[DeliveryState] = Entry(
    "console_webhooks:state", Codec(DeliveryState.load, DeliveryState.dump)
)
#: The store's random id, part of every Idempotency-Key casesync sends, so two stores never collide.
INSTALLATION_ID: Entry[str] = Entry("installation_id", _STR)
#: The id of the Zendesk agent with an address (the default assignee), by lower-cased address.
AGENT_ID: Family[str, int] = Family("agent_id:", _INT, name=str.lower)
#: What casesync last saw of a ticket's assignee (:mod:`sync.ticket_facts`).
TICKET_FACTS: Family[int, TicketFacts] = Family("ticket_facts:", Codec(TicketFacts.load, TicketFacts.dump))

#: Zendesk-clock epoch times of recent export requests, shared by every process of the store (the budget).
EXPORT_REQUESTS: Entry[list[float]] = Entry("inbound.export_requests", Codec(_load_floats, _same))
#: The ``start_time`` of the first ticket page, kept while no ticket cursor is stored.
FIRST_START_TIME: Entry[int] = Entry("inbound.first_start_time", Codec(_load_first_start, _same))
#: Comments of a ticket the events cursor passed before a snapshot took them (:mod:`sync.inbound.events`).
CARRIED: Family[int, Carried] = Family("inbound.carried.", Codec(Carried.load, Carried.dump))
#: A ticket whose comments the event export showed before its snapshot was applied: they are listed in full
#: the next time it is applied (see the poller).
COMMENT_GAP: Family[int, bool] = Family("inbound.comment_gap.", _FLAG)
#: A ticket's comments reported made private before any message came from them: a comment list read just
#: before the change may still show them public, and the applier never imports them.
PRIVATE_COMMENTS: Family[int, tuple[int, ...]] = Family("inbound.private.", Codec(_load_ints, list))
#: The console users' emails Zendesk holds suspended: suspended ticket id → the notice surfaced
#: (``mappings.suspended.SuspendedNotice`` without its id), kept until Zendesk no longer lists it.
SUSPENDED: Entry[dict[str, dict[str, Any]]] = Entry("inbound.suspended", Codec(_load_suspended, _same))
#: When the suspended tickets were last read (:mod:`sync.inbound.suspended`).
SUSPENDED_CHECKED_AT: Entry[datetime] = Entry(
    "inbound.suspended_checked_at", Codec(_load_datetime, datetime.isoformat)
)

#: The addresses (lower-cased) that were on an account's recipient list and left it: casesync put them on the
#: account's tickets, so a ticket that still carries one (a follow-up Zendesk made of a closed ticket) is
#: rid of it.  An erasure of a user deletes the entry if it names their address (a few addresses forgotten).
FORMER_RECIPIENTS: Family[str, tuple[str, ...]] = Family("recipients:former:", Codec(_load_strs, list))

#: The families of a ticket whose values may hold its comments' text: a redaction scrubs them too.
TICKET_TEXT_FAMILIES: tuple[Family[int, Any], ...] = (CARRIED, COMMENT_GAP, PRIVATE_COMMENTS)


def ticket_text_keys(ticket_id: int) -> list[str]:
    """The keys of :data:`TICKET_TEXT_FAMILIES` for one ticket."""
    return [family.key(ticket_id) for family in TICKET_TEXT_FAMILIES]
