"""Schema creation and upgrades, as an ordered list of steps.

An empty database gets the current tables at once (``schema.metadata``) and is stamped with
``SCHEMA_VERSION``.  A database stamped with an older version runs every step whose ``version`` is above
its own, in order, each in the same transaction as the new stamp.  A new schema version appends one
:class:`Migration` to :data:`MIGRATIONS` and changes the tables in :mod:`sync.store.schema` to match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, inspect, select, text

from sync.errors import ConfigurationError
from sync.store import schema as s
from sync.store.search_index import create_search_structures
from sync.store.types import SchemaStatus

__all__ = ["MIGRATIONS", "Migration", "read_status", "upgrade"]

# An arbitrary constant: the advisory lock that makes concurrent first uses of an empty PostgreSQL
# database take turns instead of racing to create the same tables.
_PG_SCHEMA_LOCK = 0x6361_7365_7379_6E63 & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class Migration:
    """Upgrades a database from ``version - 1`` to ``version``."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _console_browse(conn: Connection) -> None:
    """Version 2: case revisions and browse indexes, the word-search index, idempotency keys."""
    conn.execute(text("ALTER TABLE cases ADD COLUMN revision BIGINT NOT NULL DEFAULT 0"))
    for index in s.cases.indexes:
        if index.name in ("ix_cases_account_updated", "ix_cases_account_created"):
            index.create(conn, checkfirst=True)
    s.idempotency_keys.create(conn, checkfirst=True)
    create_search_structures(conn)


def _rich_text(conn: Connection) -> None:
    """Version 3: a message's sanitized HTML, and which attachments are inline images (docs/design.md §8)."""
    conn.execute(text("ALTER TABLE messages ADD COLUMN html TEXT"))
    conn.execute(text("ALTER TABLE attachments ADD COLUMN inline BOOLEAN NOT NULL DEFAULT false"))


def _add_staff_fields(conn: Connection) -> None:
    """Version 4: who wrote each user message; the priority, status label and mapped fields of a case."""
    for table, column, kind in (
        ("messages", "user_id", "VARCHAR(255)"),
        ("cases", "priority", "VARCHAR(16)"),
        ("cases", "status_label", "TEXT"),
        ("cases", "fields", "JSON"),
    ):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


#: Steps after version 1 (the initial schema).  Versions must be consecutive and end at SCHEMA_VERSION.
MIGRATIONS: list[Migration] = [
    Migration(2, "case revisions, browse and search indexes, idempotency keys", _console_browse),
    Migration(3, "messages.html and attachments.inline", _rich_text),
    Migration(4, "messages.user_id; cases.priority, status_label, fields", _add_staff_fields),
]


def read_status(conn: Connection, expected: int | None = None) -> SchemaStatus:
    """Compare the database's stamp with ``expected`` (default: this code's SCHEMA_VERSION)."""
    want = s.SCHEMA_VERSION if expected is None else expected
    if not inspect(conn).has_table("schema_version"):
        return SchemaStatus("empty", None, want)
    current = conn.execute(select(s.schema_version.c.version).where(s.schema_version.c.id == 1)).scalar()
    if current is None:
        return SchemaStatus("empty", None, want)
    if current == want:
        return SchemaStatus("current", current, want)
    return SchemaStatus("outdated" if current < want else "newer", current, want)


def upgrade(conn: Connection, now: datetime) -> list[int]:
    """Create or upgrade the schema inside the caller's (write) transaction; returns versions applied."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
    status = read_status(conn)
    if status.state == "current":
        return []
    if status.state == "newer":
        raise ConfigurationError(status.message)
    if status.state == "empty":
        s.metadata.create_all(conn)
        create_search_structures(conn)
        if conn.dialect.name != "postgresql":
            conn.execute(s.counters.insert().values(name="case_number", value=0))
        conn.execute(s.schema_version.insert().values(id=1, version=s.SCHEMA_VERSION, applied_at=now))
        return [s.SCHEMA_VERSION]
    assert status.current is not None
    applied: list[int] = []
    for step in sorted(MIGRATIONS, key=lambda m: m.version):
        if status.current < step.version <= s.SCHEMA_VERSION:
            step.apply(conn)
            applied.append(step.version)
    if not applied or applied[-1] != s.SCHEMA_VERSION:
        raise ConfigurationError(f"no upgrade path from schema version {status.current} to {s.SCHEMA_VERSION}")
    conn.execute(
        s.schema_version.update().where(s.schema_version.c.id == 1).values(version=s.SCHEMA_VERSION, applied_at=now)
    )
    return applied
