"""The :class:`DeliveryTx` facet of a store transaction (:class:`sync.store.StoreTx`).

What the outbox worker reads and writes around every delivery, each in one round trip: the checks before a
delivery, and the completion of a batch of delivered entries.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

from sync.store.types import CaseRecord, MessageRecord, OutboxEntry, UserRecord

__all__ = ["DeliveryTx", "UserDependencies"]

#: A user, whether its address is known as staff, and the entries of an ordering key older than a given id
#: that are pending or dead-lettered, oldest first.
UserDependencies = tuple[UserRecord | None, bool, list[OutboxEntry]]


class DeliveryTx(ABC):
    """The outbox worker's bulk reads and writes."""

    @abstractmethod
    def user_dependencies(
        self, account_id: str, user_id: str, *, ordering_key: str, before_id: int
    ) -> UserDependencies:
        """The user (``None`` when absent), whether its address is a known staff address, and the entries of
        ``ordering_key`` older than ``before_id`` still pending or dead-lettered (oldest first), in one read.

        The same as :meth:`get_user`, :meth:`is_staff_email` and :meth:`outbox_entries` by key and status.
        """

    @abstractmethod
    def case_and_message(self, case_id: int, message_id: int) -> tuple[CaseRecord | None, MessageRecord | None]:
        """:meth:`get_case` and :meth:`message` in one read; ``(None, None)`` when the case is not stored."""

    @abstractmethod
    def link_created_ticket(self, case_id: int, ticket_id: int, cc: list[str]) -> None:
        """:meth:`link_ticket` and :meth:`set_case_cc` of a ticket just created for the case, in two statements
        when the case had no link (a conflicting link raises as :meth:`link_ticket` does)."""

    @abstractmethod
    def complete_all(self, entries: Iterable[OutboxEntry]) -> None:
        """:meth:`complete` each entry (an entry whose lease was taken over stays as it is)."""

    @abstractmethod
    def set_message_comments(self, comments: Mapping[int, int]) -> None:
        """:meth:`set_message_comment` for each message id → Zendesk comment id."""

    @abstractmethod
    def kv_get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The stored values of those ``keys`` that are set (see :meth:`kv_get`)."""

    @abstractmethod
    def kv_set_many(self, values: Mapping[str, Any]) -> None:
        """:meth:`kv_set` each key → value."""
