"""The :class:`ConsoleTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mappings.models import Actor, Case, CaseStatus
from sync.store.console_types import BrowseQuery, BrowseSlice, IdempotencyRecord, NewFile, WriteContext
from sync.store.types import CaseRecord

__all__ = ["ConsoleTx"]


class ConsoleTx(ABC):
    """The console backend's extras: browsing cases, idempotency keys, erasing a user's data."""

    @abstractmethod
    def browse_cases(self, query: BrowseQuery) -> BrowseSlice:
        """One page of an account's cases (see :mod:`sync.store.sql_browse` for order and stability)."""

    @abstractmethod
    def console_write_context(
        self, account_id: str, user_id: str, *, case_id: int | None = None, key: str | None = None
    ) -> WriteContext:
        """What a console write checks, in one read: the user's name, the case (locked until the transaction
        ends; None when missing — of any account), the key's stored record (see :class:`WriteContext`)."""

    @abstractmethod
    def open_case(
        self,
        account_id: str,
        user_id: str,
        author_name: str,
        subject: str,
        body: str,
        *,
        refers_to: int | None = None,
        details: Mapping[str, Any] | None = None,
        files: Sequence[NewFile] = (),
    ) -> Case:
        """A new case (New, the next case number) whose first message is the user's ``body`` with ``files``;
        ``details``: as :meth:`set_case_details`.  Returns the case as :meth:`case` would read it."""

    @abstractmethod
    def add_reply(
        self,
        case: CaseRecord,
        author_name: str,
        body: str,
        *,
        user_id: str,
        acknowledges_solution: bool,
        status: CaseStatus | None = None,
        files: Sequence[NewFile] = (),
    ) -> tuple[int, Case]:
        """A console user's message on ``case`` with ``files``, and its new ``status`` if given; the message's
        id and the case as :meth:`case` reads it afterwards."""

    @abstractmethod
    def close_case(self, case_id: int, status: CaseStatus, *, closed_by: Actor, reason: str | None) -> Case:
        """:meth:`set_case_status`, returning the case as :meth:`case` reads it afterwards."""

    @abstractmethod
    def enqueue_keyed(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        ordering_key: str,
        account_id: str,
        case_id: int,
        key: IdempotencyRecord | None,
    ) -> int | None:
        """:meth:`enqueue`, and store ``key`` (with its result) if given; the entry's id, or None when
        another call stored that key first — then nothing of this transaction may commit."""

    @abstractmethod
    def prune_idempotency_keys(self, older_than: datetime) -> int:
        """Forget keys created before ``older_than``; returns how many."""

    @abstractmethod
    def erase_user_data(self, account_id: str, user_id: str) -> dict[str, Any]:
        """Erase one console user's personal data (see :mod:`sync.store.sql_erasure`); what was removed."""
