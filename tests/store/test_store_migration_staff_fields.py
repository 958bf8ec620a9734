"""A database made by version 1 gains the authorship and case-detail columns, rows intact."""

from __future__ import annotations

from mappings.models import CaseStatus
from sync.store import StoreTx, open_store
from sync.store import schema as s
from tests.store.release1 import make_release_1


def _fill(tx: StoreTx) -> None:
    tx.upsert_account("acme", "Acme")
    tx.upsert_user("acme", "bob", "bob@acme.test", "Bob", False)
    tx.create_case(1, "acme", "bob", "Old case")
    tx.add_message(1, "user", "Bob", "Written before the upgrade", origin="console")


def _make_version_1(url: str) -> None:
    """What version 1 left behind: its tables, a case with a message, the stamp 1."""
    make_release_1(url, _fill)


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
