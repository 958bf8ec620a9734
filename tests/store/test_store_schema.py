"""Schema creation and upgrades: automatic for SQLite, explicit (``migrate``) for PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, inspect

from sync.errors import ConfigurationError
from sync.store import open_store
from sync.store import schema as s
from sync.store.engine import normalise_url
from sync.store.migrations import MIGRATIONS, Migration


def test_an_empty_database_gets_the_schema_on_first_use(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert store.schema_status().state == "empty"
        assert store.counts().cases == 0  # first use creates the schema
        status = store.schema_status()
        assert (status.state, status.current, status.expected) == ("current", s.SCHEMA_VERSION, s.SCHEMA_VERSION)
        assert store.migrate() == []
    finally:
        store.close()


def _add_next_version(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Pretend this code is one schema version ahead, with a step that adds a table."""
    ran: list[str] = []

    def step(conn: Any) -> None:
        from sqlalchemy import MetaData, Table

        Table("upgrade_probe", MetaData(), Column("id", Integer, primary_key=True)).create(conn)
        ran.append("next")

    nxt = s.SCHEMA_VERSION + 1
    monkeypatch.setattr(s, "SCHEMA_VERSION", nxt)
    MIGRATIONS.append(Migration(nxt, "add upgrade_probe", step))
    return ran


def test_older_schema_is_upgraded_in_place_on_sqlite_and_waits_for_migrate_on_postgresql(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = open_store(store_url)
    first.counts()
    first.close()
    ran = _add_next_version(monkeypatch)
    try:
        store = open_store(store_url)
        try:
            assert store.schema_status().state == "outdated"
            assert "casesync migrate" in store.schema_status().message
            if store.dialect == "postgresql":
                with pytest.raises(ConfigurationError, match="casesync migrate"):
                    store.counts()
                assert ran == []
                assert store.migrate() == [s.SCHEMA_VERSION]
            else:
                store.counts()  # SQLite upgrades itself
            assert ran == ["next"]
            assert store.schema_status().state == "current"
            with store.engine.connect() as conn:
                assert inspect(conn).has_table("upgrade_probe")
        finally:
            store.close()
    finally:
        MIGRATIONS.pop()


def test_a_newer_schema_is_refused(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    first = open_store(store_url)
    first.counts()
    first.close()
    monkeypatch.setattr(s, "SCHEMA_VERSION", 0)
    store = open_store(store_url)
    try:
        assert store.schema_status().state == "newer"
        with pytest.raises(ConfigurationError, match="upgrade casesync"):
            store.counts()
    finally:
        store.close()


def test_sqlite_relative_urls_resolve_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalise_url("sqlite:///casesync.db") == f"sqlite:///{tmp_path}/casesync.db"
    assert normalise_url("sqlite:////abs/path.db") == "sqlite:////abs/path.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    store = open_store("sqlite:///casesync.db")
    store.counts()
    store.close()
    assert os.path.exists(tmp_path / "casesync.db")


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///:memory:", "mysql://x/y"])
def test_unusable_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError, match="CASESYNC_DATABASE_URL"):
        open_store(url)


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/w.db")
    try:
        store.counts()
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        store.close()
