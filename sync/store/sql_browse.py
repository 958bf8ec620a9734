"""SQL implementation of browsing an account's cases: keyset pages, filters, word search.

A page is a range scan of ``ix_cases_account_updated`` or ``ix_cases_account_created`` (account, sort
timestamp, case number) from the previous page's last key, so its cost does not grow with the number of
cases before it.  Word search uses the index of :mod:`sync.store.search_index`.

Stability: ordered by ``updated_at``, a case changed while a client pages would move past the cursor and
show up twice.  The first page therefore returns a *snapshot bound*, which the cursor carries, and later
pages leave out every case changed after it.  SQLite's writers take turns, so the bound is the store's
case revision counter at the first page; PostgreSQL's writers overlap, so the bound is the first page's
transaction snapshot (``pg_current_snapshot()``) and a case counts as changed when the transaction that
last changed it (``cases.revision``) is not visible in that snapshot.  A case changed while paging thus
appears at most once; ordered by ``created_at``, which never changes, no bound is needed.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import bindparam, literal, select, text, tuple_

from sync.store import schema as s
from sync.store.console_types import BrowseQuery, BrowseSlice
from sync.store.search_index import fts_query
from sync.store.sql_entities import EntitiesMixin

__all__ = ["BrowseMixin", "valid_bound"]

_PG_SNAPSHOT = re.compile(r"^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$")
_COUNTER = re.compile(r"^\d{1,20}$")


def valid_bound(dialect: str, bound: str) -> bool:
    """Whether ``bound`` has the form this backend's bounds take (cursors come from clients)."""
    return bool((_PG_SNAPSHOT if dialect == "postgresql" else _COUNTER).match(bound))


class BrowseMixin(EntitiesMixin):
    def browse_cases(self, query: BrowseQuery) -> BrowseSlice:
        c = s.cases.c
        column = c.updated_at if query.order.endswith("updated_at") else c.created_at
        newest_first = query.order.startswith("-")
        bound = query.bound if query.bound is not None else self._current_bound()
        q: Any = (
            select(s.cases, s.ticket_links.c.ticket_id)
            .outerjoin(s.ticket_links, s.ticket_links.c.case_id == c.id)
            .where(c.account_id == query.account_id)
        )
        if query.status is not None:
            q = q.where(c.status == query.status.value)
        if query.requester_id is not None:
            q = q.where(c.requester_id == query.requester_id)
        if query.words:
            if self.is_pg:
                q = q.where(text("cases.search_vector @@ plainto_tsquery('simple', :words)")).params(
                    words=" ".join(query.words)
                )
            else:
                q = q.where(text("cases.id IN (SELECT rowid FROM case_search WHERE case_search MATCH :match)")).params(
                    match=fts_query(list(query.words))
                )
        if query.bound is not None and column is c.updated_at:
            if self.is_pg:
                q = q.where(
                    text("pg_visible_in_snapshot(cases.revision::text::xid8, CAST(:bound AS pg_snapshot))")
                ).params(bound=query.bound)
            else:
                q = q.where(c.revision <= bindparam("bound", int(query.bound)))
        if query.after is not None:
            key = tuple_(column, c.id)
            last = tuple_(literal(query.after[0], s.UtcDateTime), literal(query.after[1]))
            q = q.where(key < last if newest_first else key > last)
        q = q.order_by(column.desc(), c.id.desc()) if newest_first else q.order_by(column, c.id)
        rows = list(self.conn.execute(q.limit(query.limit + 1)))
        records = [self._case(r, r._mapping["ticket_id"]) for r in rows[: query.limit]]
        return BrowseSlice(cases=self._assemble(records), more=len(rows) > query.limit, bound=bound)

    def _current_bound(self) -> str:
        if self.is_pg:
            return str(self.conn.execute(text("SELECT pg_current_snapshot()::text")).scalar_one())
        value = self.conn.execute(select(s.counters.c.value).where(s.counters.c.name == "case_revision")).scalar()
        return str(value or 0)
