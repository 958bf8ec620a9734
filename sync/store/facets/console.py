"""The :class:`ConsoleTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Any

from sync.store.console_types import BrowseQuery, BrowseSlice, IdempotencyRecord

__all__ = ["ConsoleTx"]


class ConsoleTx(ABC):
    """The console backend's extras: browsing cases, idempotency keys, erasing a user's data."""

    @abstractmethod
    def browse_cases(self, query: BrowseQuery) -> BrowseSlice:
        """One page of an account's cases (see :mod:`sync.store.sql_browse` for order and stability)."""

    @abstractmethod
    def claim_idempotency_key(
        self, account_id: str, key: str, operation: str, fingerprint: str
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for this transaction's call (None), or return the record an earlier call stored."""

    @abstractmethod
    def save_idempotency_result(self, account_id: str, key: str, result: dict[str, Any]) -> None:
        """Store what the call that claimed ``key`` returns (in its transaction)."""

    @abstractmethod
    def prune_idempotency_keys(self, older_than: datetime) -> int:
        """Forget keys created before ``older_than``; returns how many."""

    @abstractmethod
    def erase_user_data(self, account_id: str, user_id: str) -> dict[str, Any]:
        """Erase one console user's personal data (see :mod:`sync.store.sql_erasure`); what was removed."""
