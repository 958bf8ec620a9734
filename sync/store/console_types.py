"""Value types of the store's console-backend operations: browsing pages and idempotency keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from mappings.models import Case, CaseStatus
from sync.store.types import CaseRecord

__all__ = [
    "BROWSE_ORDERS",
    "BrowseOrder",
    "BrowseQuery",
    "BrowseSlice",
    "IdempotencyRecord",
    "NewFile",
    "WriteContext",
]

#: A file to attach to a new message: filename, content type, content.
NewFile = tuple[str, str, bytes]

BrowseOrder = Literal["created_at", "-created_at", "updated_at", "-updated_at"]

#: The orders browse accepts; a leading ``-`` is newest first.
BROWSE_ORDERS: tuple[BrowseOrder, ...] = ("created_at", "-created_at", "updated_at", "-updated_at")


@dataclass(frozen=True)
class BrowseQuery:
    """One page request, already validated.

    ``after`` is the sort key (timestamp, case number) of the previous page's last case; ``bound`` the
    snapshot bound the first page returned (None on the first page).
    """

    account_id: str
    order: BrowseOrder
    limit: int
    status: CaseStatus | None = None
    requester_id: str | None = None
    words: tuple[str, ...] = ()
    after: tuple[datetime, int] | None = None
    bound: str | None = None


@dataclass(frozen=True)
class BrowseSlice:
    """A page: its cases, whether more follow, and the snapshot bound later pages must keep."""

    cases: list[Case]
    more: bool
    bound: str


@dataclass(frozen=True)
class IdempotencyRecord:
    """A stored idempotency key: which call used it, a digest of its arguments, and its result."""

    account_id: str
    key: str
    operation: str
    fingerprint: str
    result: dict[str, Any] | None
    created_at: datetime


@dataclass(frozen=True)
class WriteContext:
    """What a console write checks before it writes anything, read by one statement.

    ``user_name``: the acting user's name (None: not a user of the account); ``case``: the case asked for,
    locked until the transaction ends (None: no such case, or none asked for); ``key``: the idempotency
    key's stored record (None: unused, or no key given).
    """

    user_name: str | None
    case: CaseRecord | None
    key: IdempotencyRecord | None
