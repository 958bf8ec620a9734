"""The :class:`OperatorsTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from sync.store.types import DeadLetter, StoreCounts

__all__ = ["OperatorsTx"]


class OperatorsTx(ABC):
    """What operators read: the dead letters and the counts of everything stored."""

    @abstractmethod
    def dead_letters(self) -> list[DeadLetter]:
        """Every dead-lettered outbox and inbox entry, oldest first."""

    @abstractmethod
    def counts(self) -> StoreCounts: ...
