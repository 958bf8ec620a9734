"""Schema creation and upgrades, as Alembic revisions run inside the caller's write transaction.

The revisions live in ``sync/store/alembic/versions/`` (one file each, oldest first, a single line of
descent); the Nth of them is schema version N, and ``SCHEMA_VERSION`` in :mod:`sync.store.schema` names the
one this code's tables describe.  Three kinds of database meet :func:`upgrade`:

* an empty one gets the current tables at once (``schema.metadata``) and is stamped with revision
  ``SCHEMA_VERSION``;
* one that only carries the ``schema_version`` stamp of the hand-written steps of earlier releases is
  adopted: Alembic's version table is stamped with the revision of that version, then upgraded;
* one Alembic already tracks is upgraded from its revision.

Either way ``schema_version`` is kept in step, so older tooling and :func:`read_status` agree.  A new schema
version adds one revision file whose ``down_revision`` is the previous head, changes the tables in
:mod:`sync.store.schema` to match and bumps ``SCHEMA_VERSION`` (see the README's "Schema migrations").
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, select, text

from sync.errors import ConfigurationError
from sync.store import schema as s
from sync.store.search_index import create_search_structures
from sync.store.types import SchemaStatus

__all__ = ["ENVIRONMENT", "VERSION_LOCATIONS", "read_status", "revisions", "upgrade"]

#: The Alembic environment shipped with the package (``env.py``).
ENVIRONMENT = Path(__file__).parent / "alembic"

#: Where revision files are looked up; a test may add a directory holding a revision of a next version.
VERSION_LOCATIONS: list[Path] = [ENVIRONMENT / "versions"]

# An arbitrary constant: the advisory lock that makes concurrent first uses of an empty PostgreSQL
# database take turns instead of racing to create the same tables.
_PG_SCHEMA_LOCK = 0x6361_7365_7379_6E63 & 0x7FFF_FFFF_FFFF_FFFF


def _config(conn: Connection | None = None, **attributes: Any) -> Config:
    """An Alembic configuration built in code: no ``alembic.ini`` is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in VERSION_LOCATIONS))
    if conn is not None:
        config.attributes["connection"] = conn
    config.attributes.update(attributes)
    return config


def revisions() -> list[str]:
    """The revision ids, oldest first: position N-1 holds schema version N."""
    return list(_revisions(tuple(VERSION_LOCATIONS)))


@functools.cache
def _script(_locations: Sequence[Path]) -> ScriptDirectory:
    """The revision files, read once per set of locations (opening a store must stay cheap)."""
    return ScriptDirectory.from_config(_config())


@functools.cache
def _revisions(locations: Sequence[Path]) -> tuple[str, ...]:
    script = _script(locations)
    heads = script.get_heads()
    if len(heads) != 1:
        raise ConfigurationError(f"the schema revisions must form one line, found heads {sorted(heads)}")
    return tuple(reversed([rev.revision for rev in script.walk_revisions()]))


def _stamped_version(conn: Connection) -> int | None:
    if not inspect(conn).has_table("schema_version"):
        return None
    version: int | None = conn.execute(
        select(s.schema_version.c.version).where(s.schema_version.c.id == 1)
    ).scalar()
    return version


def _alembic_revision(conn: Connection) -> str | None:
    """The revision Alembic's version table names (read with plain SQL: a status check logs nothing)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise ConfigurationError(f"the database names several schema revisions at once: {sorted(rows)}")
    return str(rows[0]) if rows else None


def read_status(conn: Connection, expected: int | None = None) -> SchemaStatus:
    """Compare the database's revision with ``expected`` (default: this code's SCHEMA_VERSION).

    Reads only: an empty database stays empty.  A revision this code does not know was written by a newer
    casesync; its ``schema_version`` stamp then says which version.
    """
    want = s.SCHEMA_VERSION if expected is None else expected
    stamped = _stamped_version(conn)
    revision = _alembic_revision(conn)
    if revision is not None:
        known = revisions()
        if revision not in known:
            newer = stamped if stamped is not None and stamped > want else want + 1
            return SchemaStatus("newer", newer, want)
        current = known.index(revision) + 1
    elif stamped is None:
        return SchemaStatus("empty", None, want)
    else:
        current = stamped
    if current == want:
        return SchemaStatus("current", current, want)
    return SchemaStatus("outdated" if current < want else "newer", current, want)


def upgrade(conn: Connection, now: datetime) -> list[int]:
    """Create or upgrade the schema inside the caller's (write) transaction; returns the versions applied."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SCHEMA_LOCK})
    status = read_status(conn)
    if status.state == "current":
        return []
    if status.state == "newer":
        raise ConfigurationError(status.message)
    known = revisions()
    if len(known) < s.SCHEMA_VERSION:
        raise ConfigurationError(f"no revision for schema version {s.SCHEMA_VERSION} (the newest is {len(known)})")
    target = known[s.SCHEMA_VERSION - 1]
    if status.state == "empty":
        s.metadata.create_all(conn)
        create_search_structures(conn)
        if conn.dialect.name != "postgresql":
            conn.execute(s.counters.insert().values(name="case_number", value=0))
        conn.execute(s.schema_version.insert().values(id=1, version=s.SCHEMA_VERSION, applied_at=now))
        # Stamped directly: nothing runs, so Alembic's environment need not be loaded for a new database.
        MigrationContext.configure(conn).stamp(_script(tuple(VERSION_LOCATIONS)), target)
        return [s.SCHEMA_VERSION]
    assert status.current is not None
    if _alembic_revision(conn) is None:  # adopt a database of the hand-written steps
        command.stamp(_config(conn), known[status.current - 1])
    applied: list[int] = []

    def note(*, step: Any, **_: Any) -> None:
        if step.is_upgrade and not step.is_stamp:
            applied.append(known.index(step.up_revision_id) + 1)

    command.upgrade(_config(conn, on_version_apply=[note]), target)
    conn.execute(
        s.schema_version.update().where(s.schema_version.c.id == 1).values(version=s.SCHEMA_VERSION, applied_at=now)
    )
    return applied
