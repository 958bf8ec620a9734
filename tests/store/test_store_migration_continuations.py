"""A version-4 database upgrades to ``case_continuations``: the ``continuation:<case>`` keys it kept become rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, select, text

from mappings.models import CaseStatus
from sync.store import StoreTx, open_store
from sync.store import schema as s

WRITTEN_AT = datetime(2025, 2, 1, 9, 30, tzinfo=UTC)

#: kv rows as version 4 wrote them (the last three are not links between existing cases).
OLD_ROWS: list[tuple[str, Any]] = [
    ("continuation:1", 2),  # case 1 closed before a reply arrived: case 2 continues it
    ("continuation:2", 3),  # and case 3 continues case 2
    ("continuation:9", 4),  # case 9 never existed
    ("continuation:x", 4),  # not a case number
    ("continuation:4", "5"),  # not a case id
]


def _fill(tx: StoreTx) -> None:
    tx.upsert_account("acme", "Acme")
    tx.upsert_user("acme", "bob", "bob@acme.test", "Bob", False)
    for number in (1, 2, 3, 4):
        tx.create_case(number, "acme", "bob", f"Case {number}", refers_to=number - 1 if 1 < number < 4 else None)
    tx.set_case_status(1, CaseStatus.CLOSED, closed_by="system", reason="closed in Zendesk before a reply arrived")
    tx.kv_set("installation_id", "ab" * 16)


def _make_version_4(url: str) -> None:
    """What version 4 left behind: no ``case_continuations`` table, the links in the kv table, revision 0004."""
    store = open_store(url)
    try:
        store.migrate()
        with store.transaction() as tx:
            _fill(tx)
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text("DROP TABLE case_continuations"))
            conn.execute(s.kv.insert(), [{"key": k, "value": v, "updated_at": WRITTEN_AT} for k, v in OLD_ROWS])
            conn.execute(text("UPDATE alembic_version SET version_num = '0004'"))
            conn.execute(s.schema_version.update().values(version=4))
    finally:
        store.close()


def test_a_version_4_database_carries_its_continuations_into_the_table(store_url: str) -> None:
    _make_version_4(store_url)
    store = open_store(store_url)
    try:
        assert store.schema_status().current == 4
        if store.dialect == "postgresql":
            assert store.migrate() == [5]
        with store.read() as tx:  # SQLite upgrades itself on first use
            assert [tx.continuation_of(n) for n in (1, 2, 3, 4, 9)] == [2, 3, None, None, None]
            assert tx.kv_get("installation_id") == "ab" * 16  # the other keys stay
            assert [tx.kv_get(k) for k, _ in OLD_ROWS] == [None] * len(OLD_ROWS)
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            assert "case_continuations" in inspect(conn).get_table_names()
            assert conn.execute(select(s.kv.c.key).where(s.kv.c.key.like("continuation:%"))).all() == []
            c = s.case_continuations.c
            rows = conn.execute(select(c.case_id, c.continuation_id, c.created_at).order_by(c.case_id)).all()
        assert [tuple(r) for r in rows] == [(1, 2, WRITTEN_AT), (2, 3, WRITTEN_AT)]
        assert store.schema_status().state == "current"
        with store.transaction() as tx:  # the table takes new links after the upgrade
            tx.set_continuation(3, 4)
        with store.read() as tx:
            assert tx.continuation_of(3) == 4
    finally:
        store.close()


def test_a_new_database_records_a_continuation_once(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.transaction() as tx:
            _fill(tx)
            assert tx.continuation_of(1) is None
            tx.set_continuation(1, 2)
        with store.read() as tx:
            assert (tx.continuation_of(1), tx.continuation_of(2)) == (2, None)
    finally:
        store.close()
