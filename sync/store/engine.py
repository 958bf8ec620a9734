"""Turning a ``database_url`` into a configured SQLAlchemy engine.

SQLAlchemy Core is the one SQL layer for both backends: the same statements run on SQLite and
PostgreSQL, and the URL format is the one operators already know from SQLAlchemy.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from sync.errors import ConfigurationError

__all__ = ["BUSY_TIMEOUT_S", "CONNECT_TIMEOUT_S", "WRITE_OPTION", "make_engine", "normalise_url"]

#: How long a SQLite writer waits for another process's write transaction before giving up.
BUSY_TIMEOUT_S = 30.0

#: How long opening a PostgreSQL connection may take before it counts as failed.
CONNECT_TIMEOUT_S = 5

#: Connection execution option that makes the next SQLite ``BEGIN`` an ``IMMEDIATE`` one.
WRITE_OPTION = "casesync_write"


def normalise_url(database_url: str) -> str:
    """Map the documented URL forms onto SQLAlchemy driver URLs.

    ``postgresql://`` uses psycopg 3 (SQLAlchemy would pick psycopg2 otherwise).  A relative SQLite path
    (``sqlite:///casesync.db``) is resolved against the working directory *now*, so a later ``chdir`` by
    the host process cannot move the database.
    """
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url[len("postgresql://") :]
    if database_url.startswith("postgres://"):
        return "postgresql+psycopg://" + database_url[len("postgres://") :]
    if database_url.startswith("sqlite:///"):
        path = database_url[len("sqlite:///") :]
        if not path or path == ":memory:":
            raise ConfigurationError(
                "CASESYNC_DATABASE_URL: an in-memory SQLite database cannot be shared by workers;"
                " give a file path such as sqlite:///casesync.db"
            )
        query = ""
        if "?" in path:
            path, query = path.split("?", 1)
            query = "?" + query
        return "sqlite:///" + os.path.abspath(path) + query
    if database_url.startswith("postgresql+psycopg://"):
        return database_url
    raise ConfigurationError(
        f"CASESYNC_DATABASE_URL: unsupported URL {database_url.split(':', 1)[0]!r}:"
        " use sqlite:///path.db, sqlite:////abs/path.db or postgresql://…"
    )


def make_engine(database_url: str) -> Engine:
    """A pooled engine for ``database_url`` with casesync's connection settings applied."""
    url = normalise_url(database_url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"CASESYNC_DATABASE_URL: {exc}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    # pre-ping: a connection a PostgreSQL restart broke is replaced on checkout instead of failing a
    # transaction; connect_timeout: while the server is away, a connection attempt fails in seconds.
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # The sqlite3 module's own transaction handling would start deferred transactions behind our
        # back; switch it off and issue BEGIN ourselves (see _on_begin).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer, and vice versa
        # Freed space is overwritten with zeros, so deleted or rewritten text (erasures, redactions) does not
        # linger in the file's free pages and cells.
        cur.execute("PRAGMA secure_delete=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: a call returns only when its transaction survives a power cut, as the API promises.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A write transaction takes the write lock up front.  A deferred one that reads and then writes
        # can fail with SQLITE_BUSY on its first write without waiting (the snapshot is stale), which
        # the busy timeout cannot help; IMMEDIATE waits for the lock instead.
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
