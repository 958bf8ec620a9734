"""The :class:`InboxTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from sync.store.types import InboxEntry

__all__ = ["InboxTx"]


class InboxTx(ABC):
    """The inbox: Zendesk tickets waiting to be applied to the console, and the verbs of its entries."""

    @abstractmethod
    def add_inbox(self, ticket_id: int, source: str, dedupe_key: str, payload: dict[str, Any] | None = None) -> bool:
        """Store a hint that a ticket changed; False when ``dedupe_key`` was already stored."""

    @abstractmethod
    def complete_inbox(self, entry: InboxEntry) -> bool:
        """Mark the entry and the hints it ``covers`` done."""

    @abstractmethod
    def fail_inbox(self, entry: InboxEntry, error: str, next_attempt_at: datetime) -> bool: ...

    @abstractmethod
    def release_inbox(self, entry: InboxEntry) -> bool:
        """Hand a claimed entry back untouched (no attempt counted), due as it was."""

    @abstractmethod
    def dead_letter_inbox(self, entry: InboxEntry, reason: str) -> bool: ...

    @abstractmethod
    def replay_inbox(self, entry_id: int) -> bool: ...

    @abstractmethod
    def discard_inbox(self, entry_id: int) -> bool: ...
