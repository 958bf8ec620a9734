"""The :class:`FeedTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from mappings.models import CaseChange, ChangeKind

__all__ = ["FeedTx"]


class FeedTx(ABC):
    """The change feed: every change a case underwent, in order, for the console to read."""

    @abstractmethod
    def append_change(
        self, account_id: str, case_id: int, kind: ChangeKind, detail: str, *, at: datetime | None = None
    ) -> int:
        """Append to the console's change feed; returns the seq.  Seqs become visible in order."""

    @abstractmethod
    def changes(self, since: int = 0, *, account_id: str | None = None, limit: int | None = None) -> list[CaseChange]:
        """Feed entries with ``seq > since``, in seq order."""
