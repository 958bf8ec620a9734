"""``SupportCases.browse``: pages of an account's cases with opaque, stable cursors (docs/design.md §8).

The cursor is URL-safe base64 of a small JSON document: the order, the last case's sort key, the
snapshot bound of the first page (see :mod:`sync.store.sql_browse`) and a digest of the filters, so a
cursor is refused (``InvalidInput``) with other filters, another account or another order than the
ones it was made for.  It carries no secret: whatever a client puts in it, the page is still read from
the given account's cases only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from mappings.models import Case, CaseStatus
from sync.errors import InvalidInput
from sync.store import Store
from sync.store.console_types import BROWSE_ORDERS, BrowseOrder, BrowseQuery
from sync.store.search_index import query_words
from sync.store.sql_browse import valid_bound

__all__ = ["MAX_PAGE", "CasePage", "browse_page"]

#: The largest page ``browse`` returns.
MAX_PAGE = 100
_QUERY_MAX = 1000


class CasePage(BaseModel):
    """One page of ``SupportCases.browse``: the cases, and the cursor of the next page (None: the last)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cases: list[Case]
    next_cursor: str | None = None


def browse_page(
    store: Store,
    account_id: str,
    *,
    status: CaseStatus | str | None,
    requester_id: str | None,
    query: str | None,
    order: str,
    limit: int,
    cursor: str | None,
) -> CasePage:
    """Validate a browse call, read its page and make the next cursor (see ``SupportCases.browse``)."""
    if order not in BROWSE_ORDERS:
        raise InvalidInput(f"order must be one of {list(BROWSE_ORDERS)}")
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_PAGE}")
    case_status: CaseStatus | None = None
    if status is not None:
        try:
            case_status = CaseStatus(status)
        except ValueError:
            raise InvalidInput(f"status must be one of {[s.value for s in CaseStatus]}") from None
    words: tuple[str, ...] = ()
    if query is not None:
        if not isinstance(query, str) or len(query) > _QUERY_MAX:
            raise InvalidInput(f"query must be text of at most {_QUERY_MAX} characters")
        words = tuple(query_words(query))
        if not words:
            raise InvalidInput("query must contain at least one word")
    filters = _digest(account_id, order, case_status, requester_id, words)
    after, bound = (None, None) if cursor is None else _decode(cursor, filters, store.dialect)
    request = BrowseQuery(
        account_id=account_id,
        order=order,
        limit=limit,
        status=case_status,
        requester_id=requester_id,
        words=words,
        after=after,
        bound=bound,
    )
    with store.read() as tx:
        found = tx.browse_cases(request)
    next_cursor = None
    if found.more and found.cases:
        last = found.cases[-1]
        key = last.updated_at if order.endswith("updated_at") else last.created_at
        next_cursor = _encode(filters, key, last.id, found.bound)
    return CasePage(cases=found.cases, next_cursor=next_cursor)


def _digest(
    account_id: str,
    order: BrowseOrder | str,
    status: CaseStatus | None,
    requester_id: str | None,
    words: tuple[str, ...],
) -> str:
    raw = json.dumps([account_id, order, status.value if status else None, requester_id, list(words)])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def _encode(filters: str, key: datetime, case_id: int, bound: str) -> str:
    doc = {"f": filters, "k": key.isoformat(), "i": case_id, "b": bound}
    return base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: object, filters: str, dialect: str) -> tuple[tuple[datetime, int], str]:
    bad = InvalidInput("cursor is not a cursor returned by browse")
    if not isinstance(cursor, str) or not cursor or len(cursor) > 4096:
        raise bad
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        key = datetime.fromisoformat(doc["k"])
        case_id, bound, made_for = doc["i"], doc["b"], doc["f"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise bad from None
    if key.tzinfo is None or not isinstance(case_id, int) or isinstance(case_id, bool):
        raise bad
    if not isinstance(bound, str) or not valid_bound(dialect, bound):
        raise bad
    if made_for != filters:
        raise InvalidInput("cursor was made for other filters, order or account: start again without a cursor")
    return (key, case_id), bound
