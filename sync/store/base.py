"""The store's interface: what every caller (the API, the workers, the CLI) may rely on.

A :class:`Store` hands out transactions (:class:`StoreTx`); everything done through one transaction
commits together or not at all, which is how a console change and its outbox entry become durable
together.  Queue operations that must lock rows their own way (claims) live on :class:`Store`.
Callers never learn which database is behind it: :func:`sync.store.open_store` picks the backend from
the URL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from mappings.models import CaseChange
from sync.store.facets import (
    CasesTx,
    ConflictsTx,
    ConsoleTx,
    DeliveryTx,
    FeedTx,
    InboxTx,
    MemoryTx,
    MessagesTx,
    OperatorsTx,
    OutboxTx,
    PeopleTx,
    TicketsTx,
)
from sync.store.feed_signal import FeedSignal
from sync.store.types import (
    InboxEntry,
    OutboxEntry,
    SchemaStatus,
    StoreCounts,
)

__all__ = ["POLLER_LOCK", "Clock", "Store", "StoreTx"]

#: The exclusive role of the inbound poller (see :meth:`Store.try_lock`).
POLLER_LOCK = "poller"

#: Returns the current time as an aware UTC datetime; tests pass a fake.
Clock = Callable[[], datetime]


class StoreTx(
    PeopleTx,
    CasesTx,
    MessagesTx,
    TicketsTx,
    OutboxTx,
    InboxTx,
    MemoryTx,
    FeedTx,
    ConflictsTx,
    ConsoleTx,
    OperatorsTx,
    DeliveryTx,
    ABC,
):
    """One transaction.  Reads see its own writes; nothing is visible to others before commit.

    It is every facet of :mod:`sync.store.facets` at once; each facet holds the verbs of one kind of thing
    stored (people, cases, messages, ticket links, outbox, inbox, memory, feed, conflicts, console, operators,
    and the outbox worker's bulk reads and writes).
    """

    now: datetime  # the clock's time when the transaction began: one timestamp for all its writes


class Store(ABC):
    """A casesync database.  Thread-safe: each thread's transactions use their own connection."""

    clock: Clock
    dialect: str  # "sqlite" or "postgresql"
    feed_signal: FeedSignal  # wakes readers waiting for the change feed (see sync.feed_wait)

    @abstractmethod
    def transaction(self) -> AbstractContextManager[StoreTx]:
        """A write transaction: commits on normal exit, rolls back on an exception.

        On SQLite it starts with ``BEGIN IMMEDIATE``, so processes sharing the file serialize their
        writes instead of failing half-way with "database is locked".
        """

    @abstractmethod
    def read(self) -> AbstractContextManager[StoreTx]:
        """A read-only transaction (a consistent snapshot on both backends); writing in it is a bug."""

    @abstractmethod
    def claim_outbox(
        self, worker_id: str, now: datetime | None = None, *, limit: int = 100, lease_s: float = 30.0
    ) -> list[OutboxEntry]:
        """Lease due work: per ordering key only its oldest undelivered entry, when it is due and not
        leased by a live worker, and never an entry whose key has an older dead letter.

        So per-key order never breaks and two workers never hold the same key at once (while their leases
        last: a worker that outlives its lease must renew it).
        """

    @abstractmethod
    def claim_inbox(
        self, worker_id: str, now: datetime | None = None, *, limit: int = 100, lease_s: float = 30.0
    ) -> list[InboxEntry]:
        """Lease due hints: at most one per ticket, never a ticket another live worker holds."""

    # -- exclusive roles (one poller at a time) ---------------------------------------------------------

    def try_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take the exclusive role ``name`` for ``owner`` without waiting; True when ``owner`` holds it.

        Asking again while holding it succeeds (and renews it).  This default is the named lease: a dead
        holder is taken over after ``ttl_s``, and a holder must ask again within ``ttl_s`` to keep it.
        A backend with a better primitive overrides it (PostgreSQL: a session-level advisory lock, held
        as long as the holder's process lives, whatever ``ttl_s``).
        """
        with self.transaction() as tx:
            return tx.acquire_lease(name, owner, ttl_s)

    def unlock(self, name: str, owner: str) -> None:
        """Give up ``name`` if ``owner`` holds it (no effect otherwise)."""
        with self.transaction() as tx:
            tx.release_named_lease(name, owner)

    @contextmanager
    def poller_lock(self, owner: str, ttl_s: float = 30.0) -> Iterator[bool]:
        """``with store.poller_lock(owner) as held:`` — the poller's role for the block, if ``held``.

        Exactly one poller runs at a time across every process and machine sharing the store.
        """
        held = self.try_lock(POLLER_LOCK, owner, ttl_s)
        try:
            yield held
        finally:
            if held:
                self.unlock(POLLER_LOCK, owner)

    def compact(self) -> list[str]:
        """Make removed data physically unreadable after an erasure; returns what was done (default: nothing)."""
        return []

    @abstractmethod
    def schema_status(self) -> SchemaStatus: ...

    @abstractmethod
    def migrate(self) -> list[int]:
        """Create or upgrade the schema; returns the versions applied (empty when already current)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (idempotent)."""

    # Conveniences: one-operation transactions for the queue verbs workers use most.

    def complete(self, entry: OutboxEntry) -> bool:
        with self.transaction() as tx:
            return tx.complete(entry)

    def fail(self, entry: OutboxEntry, error: str, next_attempt_at: datetime) -> bool:
        with self.transaction() as tx:
            return tx.fail(entry, error, next_attempt_at)

    def dead_letter(self, entry: OutboxEntry, reason: str) -> bool:
        with self.transaction() as tx:
            return tx.dead_letter(entry, reason)

    def release(self, entry: OutboxEntry) -> bool:
        with self.transaction() as tx:
            return tx.release(entry)

    def replay(self, entry_id: int) -> bool:
        with self.transaction() as tx:
            return tx.replay(entry_id)

    def discard(self, entry_id: int) -> bool:
        with self.transaction() as tx:
            return tx.discard(entry_id)

    def changes(self, since: int = 0, *, account_id: str | None = None) -> list[CaseChange]:
        with self.read() as tx:
            return tx.changes(since, account_id=account_id)

    def counts(self) -> StoreCounts:
        with self.read() as tx:
            return tx.counts()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
