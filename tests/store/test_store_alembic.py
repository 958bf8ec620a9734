"""Migrations are Alembic revisions: a release-1 database is adopted and upgraded, an empty one is created at
the head, a newer one is refused, and the upgraded schema is the one the models describe."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from sync.errors import ConfigurationError
from sync.store import open_store
from sync.store import schema as s
from sync.store.migrations import revisions
from tests.store.release1 import make_release_1
from tests.store.test_store_upgrade_v2 import _rows_of_release_1

#: What the word-search index adds beside the models: SQLite's FTS5 table and its shadow tables, PostgreSQL's
#: tsvector column and its GIN index (see sync.store.search_index).
_SEARCH_STRUCTURES = {"case_search", "search_vector", "ix_cases_search"}


def _alembic_revision(conn: Connection) -> list[str]:
    return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _outside_the_models(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    return reflected and compare_to is None and any(str(name).startswith(n) for n in _SEARCH_STRUCTURES)


def _differences(conn: Connection) -> list[Any]:
    """What autogenerate would put in a new revision, the search structures aside."""
    context = MigrationContext.configure(
        conn, opts={"include_object": lambda *a: not _outside_the_models(*a)}
    )
    return list(compare_metadata(context, s.metadata))


def test_one_revision_per_schema_version_in_a_single_line() -> None:
    assert revisions()[:4] == ["0001", "0002", "0003", "0004"]  # release 1's baseline, then its steps
    assert len(revisions()) == s.SCHEMA_VERSION


def test_the_environment_ships_inside_the_package() -> None:
    env = resources.files("sync.store.alembic")
    assert env.joinpath("env.py").is_file()
    names = {p.name for p in env.joinpath("versions").iterdir()}
    assert {"v0001_release_1.py", "v0002_console_browse.py", "v0003_rich_text.py", "v0004_staff_fields.py"} <= names


def test_a_release_1_database_is_adopted_and_upgraded_to_the_head_with_its_rows(store_url: str) -> None:
    make_release_1(store_url, raw=_rows_of_release_1)
    store = open_store(store_url)
    try:
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            assert not conn.dialect.has_table(conn, "alembic_version")  # only release 1's own stamp
        status = store.schema_status()
        assert (status.state, status.current) == ("outdated", 1)
        assert store.migrate() == list(range(2, s.SCHEMA_VERSION + 1))
        assert store.schema_status().state == "current"
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            assert _alembic_revision(conn) == [revisions()[-1]]
            assert conn.execute(s.schema_version.select()).one().version == s.SCHEMA_VERSION
            assert _differences(conn) == []
        with store.read() as tx:
            case = tx.get_case(41)
            assert case is not None and case.subject == "Legacy printer"
            assert [m.body for m in tx.case_messages(41)] == ["toner everywhere", "still smudged"]
        assert store.migrate() == []
    finally:
        store.close()


def test_an_empty_database_is_created_at_the_head_and_matches_the_models(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert store.schema_status().state == "empty"
        assert store.migrate() == [s.SCHEMA_VERSION]
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            assert _alembic_revision(conn) == [revisions()[-1]]
            assert _differences(conn) == []
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text("ALTER TABLE cases DROP COLUMN status_label"))
            # the comparison does see a schema that falls short of the models
            assert [d[0] for d in _differences(conn)] == ["add_column"]
    finally:
        store.close()


@pytest.mark.parametrize("how", ["unknown revision", "higher schema_version"])
def test_a_database_newer_than_the_code_is_refused(store_url: str, how: str) -> None:
    store = open_store(store_url)
    try:
        store.migrate()
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(s.schema_version.update().values(version=s.SCHEMA_VERSION + 1))
            if how == "unknown revision":
                conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed'"))
            else:
                conn.execute(text("DROP TABLE alembic_version"))
    finally:
        store.close()
    store = open_store(store_url)
    try:
        status = store.schema_status()
        assert (status.state, status.current, status.expected) == ("newer", s.SCHEMA_VERSION + 1, s.SCHEMA_VERSION)
        with pytest.raises(ConfigurationError, match=r"newer than this casesync understands.*upgrade casesync"):
            store.migrate()
        with pytest.raises(ConfigurationError, match="upgrade casesync"):
            store.counts()
    finally:
        store.close()
