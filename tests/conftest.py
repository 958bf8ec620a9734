"""Shared fixtures: database URLs for both store backends, a controllable clock, and a store dump.

``store_url`` is parametrized over SQLite (a temporary file) and PostgreSQL.  The PostgreSQL database is
created once per test session from ``CASESYNC_TEST_PG_URL`` (an admin connection; default
``postgresql://postgres@127.0.0.1:5432/postgres``) and emptied before each test.  Without a reachable
server those tests are skipped, except when ``CI`` is set: there they fail, so CI always covers PostgreSQL.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

PG_ADMIN_URL = os.environ.get("CASESYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


def _pg_url_for(database: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(PG_ADMIN_URL).set(database=database)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session; its URL (``postgresql://…``)."""
    import psycopg

    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        reason = (
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({str(exc).strip().splitlines()[0]});"
            " start it or set CASESYNC_TEST_PG_URL to an admin connection URL"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so PostgreSQL tests must run: {reason}")
        pytest.skip(reason)
    name = f"casesync_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield _pg_url_for(name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _empty_pg(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """An empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/casesync.db"
    url: str = request.getfixturevalue("pg_database")
    _empty_pg(url)
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(store_url: str, clock: FakeClock) -> Iterator[Any]:
    """An opened store on each backend, with the fake clock."""
    from sync.store import open_store

    opened = open_store(store_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def dump_store(store: Any) -> dict[str, Any]:
    """Every row of every table (and the case-number sequence): equal dumps mean an unchanged store."""
    from sqlalchemy import select, text

    from sync.store import schema

    out: dict[str, Any] = {}
    with store.engine.connect() as conn:
        for table in schema.metadata.sorted_tables:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(r) for r in rows]
        if conn.dialect.name == "postgresql":
            out["case_number_seq"] = tuple(
                conn.execute(text("SELECT last_value, is_called FROM case_number_seq")).one()
            )
    return out


@pytest.fixture
def dump() -> Callable[[Any], dict[str, Any]]:
    return dump_store
