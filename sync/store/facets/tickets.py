"""The :class:`TicketsTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from sync.store.types import TicketState

__all__ = ["TicketsTx"]


class TicketsTx(ABC):
    """The case-ticket links and what has been applied of each ticket (watermark, comments seen)."""

    @abstractmethod
    def link_ticket(self, case_id: int, ticket_id: int) -> None:
        """Link a case and its ticket (idempotent); ValueError if either is linked to something else."""

    @abstractmethod
    def ticket_of(self, case_id: int) -> int | None: ...

    @abstractmethod
    def case_of_ticket(self, ticket_id: int) -> int | None: ...

    @abstractmethod
    def linked_cases(self, *, after_case_id: int = 0, limit: int = 1000) -> list[tuple[int, int]]:
        """(case id, ticket id) pairs by case id, for paging through every linked case."""

    @abstractmethod
    def ticket_state(self, ticket_id: int) -> TicketState | None: ...

    @abstractmethod
    def put_ticket_state(self, state: TicketState) -> None: ...

    @abstractmethod
    def seen_comments(self, ticket_id: int) -> set[int]: ...

    @abstractmethod
    def mark_comments_seen(self, ticket_id: int, comment_ids: set[int]) -> None: ...
