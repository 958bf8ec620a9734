"""The :class:`ConflictsTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from sync.store.types import ConflictRecord

__all__ = ["ConflictsTx"]


class ConflictsTx(ABC):
    """Conflicts: disagreements between the console and Zendesk made visible, until resolved."""

    @abstractmethod
    def record_conflict(
        self,
        kind: str,
        detail: str,
        *,
        account_id: str | None = None,
        case_id: int | None = None,
        ticket_id: int | None = None,
    ) -> int:
        """Record a conflict; one about a case also appears in the feed (``conflict``)."""

    @abstractmethod
    def conflicts(self, *, open_only: bool = True) -> list[ConflictRecord]: ...

    @abstractmethod
    def resolve_conflict(self, conflict_id: int) -> bool: ...
