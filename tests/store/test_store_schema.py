"""Schema creation and upgrades: automatic for SQLite, explicit (``migrate``) for PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from sync.errors import ConfigurationError
from sync.store import open_store
from sync.store import schema as s
from sync.store.engine import normalise_url
from tests.store.next_revision import add_next_revision
from tests.support.sql import engine_of


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


def test_older_schema_is_upgraded_in_place_on_sqlite_and_waits_for_migrate_on_postgresql(
    store_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = open_store(store_url)
    first.counts()
    first.close()
    nxt = add_next_revision(monkeypatch, tmp_path / "next", "CREATE TABLE upgrade_probe (id INTEGER PRIMARY KEY)")
    store = open_store(store_url)
    try:
        assert store.schema_status().state == "outdated"
        assert "casesync migrate" in store.schema_status().message
        if store.dialect == "postgresql":
            with pytest.raises(ConfigurationError, match="casesync migrate"):
                store.counts()
            with engine_of(store).connect() as conn:
                assert not inspect(conn).has_table("upgrade_probe")
            assert store.migrate() == [nxt]
        else:
            store.counts()  # SQLite upgrades itself
        assert store.schema_status().state == "current"
        with engine_of(store).connect() as conn:
            assert inspect(conn).has_table("upgrade_probe")
            assert conn.execute(select(s.schema_version.c.version)).scalar() == nxt
    finally:
        store.close()


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
        with engine_of(store).connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        store.close()
