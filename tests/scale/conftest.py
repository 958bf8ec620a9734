"""Fixtures for the scale-out tests: a fresh PostgreSQL database per module and a sandbox process.

PostgreSQL comes from ``CASESYNC_TEST_PG_URL`` (an admin connection; default
``postgresql://postgres@127.0.0.1:5432/postgres``).  Without a reachable server the module is skipped with
the reason, except when ``CI`` is set: there the tests fail instead, so CI always covers them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from sync.testing.processes import SandboxProcess

PG_ADMIN_URL = os.environ.get("CASESYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _admin_connection() -> psycopg.Connection[Any]:

    try:
        return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.Error as exc:
        reason = (
            f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({str(exc).strip().splitlines()[0]});"
            " the scale-out tests need a real server: start it or set CASESYNC_TEST_PG_URL"
        )
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the PostgreSQL scale-out tests must run: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test module; its ``postgresql://`` URL."""
    from sqlalchemy.engine import make_url

    admin = _admin_connection()
    name = f"casesync_scale_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def empty_pg(pg_url: str) -> str:
    """The module's database, emptied (no schema) for this test."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    return pg_url


@pytest.fixture(scope="module")
def sandbox_proc() -> Iterator[SandboxProcess]:
    """A sandbox (rate limits off) serving from its own process for the whole module."""
    # Limits off, and an advertised budget the workers' pacers never see running low.
    proc = SandboxProcess(rate_limits=False, requests_per_minute=1_000_000)
    try:
        proc.start()
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def sandbox(sandbox_proc: SandboxProcess) -> SandboxProcess:
    """The module's sandbox process, reset (no tickets, no faults, no stats)."""
    sandbox_proc.reset()
    return sandbox_proc
