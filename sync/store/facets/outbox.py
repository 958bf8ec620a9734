"""The :class:`OutboxTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from sync.store.types import OutboxEntry

__all__ = ["OutboxTx"]


class OutboxTx(ABC):
    """The outbox: console changes waiting to reach Zendesk, and the verbs of its entries' lives."""

    @abstractmethod
    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        ordering_key: str,
        account_id: str | None = None,
        case_id: int | None = None,
        not_before: datetime | None = None,
    ) -> int:
        """Queue a change for Zendesk; returns its id.  Entries of one key are delivered in id order."""

    @abstractmethod
    def outbox_entry(self, entry_id: int) -> OutboxEntry | None: ...

    @abstractmethod
    def outbox_entries(
        self, *, ordering_key: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[OutboxEntry]: ...

    @abstractmethod
    def complete(self, entry: OutboxEntry) -> bool:
        """Mark delivered.  False (and nothing changed) when the caller's lease was taken over."""

    @abstractmethod
    def fail(self, entry: OutboxEntry, error: str, next_attempt_at: datetime) -> bool:
        """Count a failed attempt and schedule the next one; releases the lease."""

    @abstractmethod
    def dead_letter(self, entry: OutboxEntry, reason: str) -> bool:
        """Give up on the entry: it holds later entries of its key until replayed or discarded.

        A case's dead letter also appends ``delivery_failed`` to the change feed.
        """

    @abstractmethod
    def release(self, entry: OutboxEntry) -> bool:
        """Give the lease back without counting an attempt (shutting down)."""

    @abstractmethod
    def renew_lease(self, entry: OutboxEntry, lease_s: float) -> bool: ...

    @abstractmethod
    def amend_payload(self, entry: OutboxEntry, payload: dict[str, Any]) -> bool:
        """Replace the payload of an entry the caller holds: what an attempt must leave for the next one
        (a later attempt reads it back in ``entry.payload``).  False when the lease was taken over."""

    @abstractmethod
    def replay(self, entry_id: int) -> bool:
        """Put a dead letter back in the queue, due now."""

    @abstractmethod
    def discard(self, entry_id: int) -> bool:
        """Drop a dead letter for good; later entries of its key proceed."""
