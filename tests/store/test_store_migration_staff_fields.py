"""Schema version 2: a database made by version 1 gains the authorship and case-detail columns, rows intact."""

from __future__ import annotations

from sqlalchemy import text

from mappings.models import CaseStatus
from sync.store import open_store
from sync.store import schema as s

_V2_COLUMNS = [("messages", "user_id"), ("cases", "priority"), ("cases", "status_label"), ("cases", "fields")]


def _make_version_1(url: str) -> None:
    """What version 1 left behind: its tables, a case with a message, the stamp 1."""
    store = open_store(url)
    with store.transaction() as tx:
        tx.upsert_account("acme", "Acme")
        tx.upsert_user("acme", "bob", "bob@acme.test", "Bob", False)
        tx.create_case(1, "acme", "bob", "Old case")
        tx.add_message(1, "user", "Bob", "Written before the upgrade", origin="console")
    with store.engine.begin() as conn:
        for table, column in _V2_COLUMNS:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(text("UPDATE schema_version SET version = 1"))
    store.close()


def test_a_version_1_database_upgrades_and_keeps_its_cases(store_url: str) -> None:
    _make_version_1(store_url)
    store = open_store(store_url)
    try:
        assert store.schema_status().current == 1
        if store.dialect == "postgresql":
            assert store.migrate()[-1] == s.SCHEMA_VERSION
        with store.transaction() as tx:  # SQLite upgrades itself on first use
            case = tx.case(1)
            assert case is not None and case.status is CaseStatus.NEW
            assert (case.priority, case.status_label, case.fields) == (None, None, {})
            assert [(m.body, m.user_id) for m in case.messages] == [("Written before the upgrade", None)]
            tx.set_case_details(1, priority="high", status_label="Waiting on engineering", fields={"plan": "gold"})
            tx.add_message(1, "user", "Bob", "After", origin="console", user_id="bob")
        with store.read() as tx:
            case = tx.case(1)
        assert case is not None
        assert (case.priority, case.status_label, case.fields) == ("high", "Waiting on engineering", {"plan": "gold"})
        assert case.messages[-1].user_id == "bob"
        assert store.schema_status().current == s.SCHEMA_VERSION
    finally:
        store.close()
