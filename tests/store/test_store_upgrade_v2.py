"""A database of the first release (schema version 1) upgrades to browse, search and idempotency keys."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, inspect, text

from sync.api import SupportCases
from sync.store import open_store
from sync.store import schema as s
from tests.store.release1 import make_release_1


def _rows_of_release_1(conn: Connection) -> None:
    """One case of two messages, written as release 1's SQL wrote them."""
    now = "2025-01-01 10:00:00"
    conn.execute(text(f"INSERT INTO accounts VALUES ('acme', 'Acme', NULL, '{now}', '{now}')"))
    conn.execute(
        text(
            "INSERT INTO users VALUES ('acme', 'bob', 'b@acme.test', 'b@acme.test', 'Bob', false, NULL,"
            f" '{now}', '{now}')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO cases (id, account_id, requester_id, subject, status, cc, created_at, updated_at)"
            f" VALUES (41, 'acme', 'bob', 'Legacy printer', 'Open', '[]', '{now}', '{now}')"
        )
    )
    for body in ("toner everywhere", "still smudged"):
        conn.execute(
            text(
                "INSERT INTO messages (case_id, account_id, author, author_name, body, created_at, origin,"
                " withdrawn, acknowledges_solution)"
                f" VALUES (41, 'acme', 'user', 'Bob', :b, '{now}', 'console', false, false)"
            ),
            {"b": body},
        )


def _make_version_1(url: str) -> None:
    make_release_1(url, raw=_rows_of_release_1)


def test_a_version_1_database_upgrades_and_its_cases_are_searchable(store_url: str, clock: Any) -> None:
    _make_version_1(store_url)
    store = open_store(store_url, clock=clock)
    try:
        assert store.schema_status().current == 1
        if store.dialect == "postgresql":
            assert store.migrate() == list(range(2, s.SCHEMA_VERSION + 1))
        support = SupportCases(store=store)
        assert [c.id for c in support.browse("acme", query="smudged toner").cases] == [41]
        assert store.schema_status().state == "current"
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            names = {i["name"] for i in inspect(conn).get_indexes("cases")}
            assert {"ix_cases_account_updated", "ix_cases_account_created"} <= names
        # The upgraded database takes new writes: keys, revisions and the search index all work.
        support.reply("acme", 41, "bob", "cartridge replaced", idempotency_key="k")
        assert support.reply("acme", 41, "bob", "cartridge replaced", idempotency_key="k").id == 41
        assert [c.id for c in support.browse("acme", query="cartridge", order="updated_at").cases] == [41]
    finally:
        store.close()
