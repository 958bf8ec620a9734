"""The :class:`MemoryTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

__all__ = ["MemoryTx"]


class MemoryTx(ABC):
    """What the engine remembers between runs: cursors, key-value state and named leases."""

    @abstractmethod
    def get_cursor(self, name: str) -> str | None: ...

    @abstractmethod
    def set_cursor(self, name: str, value: str) -> None: ...

    @abstractmethod
    def kv_get(self, key: str, default: Any = None) -> Any: ...

    @abstractmethod
    def kv_set(self, key: str, value: Any) -> None:
        """Store a JSON-compatible value (last poll time, export request times, last drift...)."""

    @abstractmethod
    def acquire_lease(self, name: str, owner: str, ttl_s: float) -> bool:
        """Hold a named lease (e.g. "poller") until now + ttl; renewing by the same owner succeeds.

        Another owner gets it only after it expires, so a dead holder is taken over after ``ttl_s``.
        """

    @abstractmethod
    def release_named_lease(self, name: str, owner: str) -> None: ...
