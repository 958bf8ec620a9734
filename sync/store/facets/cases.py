"""The :class:`CasesTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from mappings.models import Actor, Case, CaseStatus
from sync.store.types import CaseRecord

__all__ = ["CasesTx"]


class CasesTx(ABC):
    """Console cases: numbering, creation, reads, and the status, CC, details and references they carry."""

    @abstractmethod
    def next_case_number(self) -> int:
        """A new case number: unique, increasing, never handed out again even if this transaction fails."""

    @abstractmethod
    def create_case(
        self,
        case_id: int,
        account_id: str,
        requester_id: str,
        subject: str,
        *,
        status: CaseStatus = CaseStatus.NEW,
        refers_to: int | None = None,
    ) -> CaseRecord: ...

    @abstractmethod
    def get_case(self, case_id: int, *, for_update: bool = False) -> CaseRecord | None:
        """The case's row; ``for_update`` locks it (PostgreSQL) so concurrent changes of it serialize."""

    @abstractmethod
    def case(self, case_id: int) -> Case | None:
        """The case as the console sees it: withdrawn messages are left out."""

    @abstractmethod
    def cases(self, account_id: str, *, status: CaseStatus | None = None) -> list[Case]:
        """The account's cases as the console sees them, by case number."""

    @abstractmethod
    def case_records(self, account_id: str, *, open_only: bool = False) -> list[CaseRecord]:
        """The account's case rows; ``open_only`` leaves Closed cases out (CC refresh)."""

    @abstractmethod
    def set_case_status(
        self, case_id: int, status: CaseStatus, *, closed_by: Actor | None = None, reason: str | None = None
    ) -> None:
        """Set the status; ``closed_by`` and ``reason`` are kept for Closed."""

    @abstractmethod
    def set_case_cc(self, case_id: int, cc: list[str]) -> None: ...

    @abstractmethod
    def set_case_details(self, case_id: int, **details: Any) -> None:
        """Set any of ``priority``, ``status_label``, ``fields`` (what staff set on the ticket); others raise."""

    @abstractmethod
    def continuation_of(self, case_id: int) -> int | None:
        """The case continuing ``case_id`` (opened by a reply that reached its ticket closed), if any."""

    @abstractmethod
    def set_continuation(self, case_id: int, continuation_id: int) -> None:
        """Record that the new case ``continuation_id`` continues the closed case ``case_id``."""

    @abstractmethod
    def set_case_refs(self, case_id: int, *, refers_to: int | None = None, merged_into: int | None = None) -> None:
        """Set whichever of ``refers_to`` / ``merged_into`` is given (None leaves it unchanged)."""
