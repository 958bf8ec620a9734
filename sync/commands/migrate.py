"""``casesync migrate``: create or upgrade the database schema, and say what was applied.

SQLite upgrades itself on first use; on PostgreSQL an upgrade is an explicit step (other machines may
still run the previous version), and ``casesync serve`` refuses an outdated schema until it has run.
The steps are Alembic revisions (:mod:`sync.store.migrations`); the command names those it applied.
Only the database is needed (``CASESYNC_DATABASE_URL``).  Running it again is harmless.
"""

from __future__ import annotations

import argparse

from sync.commands import EXIT_OK

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``migrate`` to the command line."""
    parser = sub.add_parser(
        "migrate",
        help="create or upgrade the database schema (needs only the database)",
        description="Create the schema of an empty database or upgrade an older one; prints what it applied.",
    )
    parser.set_defaults(handler=run)


def run(_args: argparse.Namespace) -> int:
    """Apply what the schema needs; a newer schema than this casesync knows is refused (exit 2)."""
    from sync.commands._common import load, open_database
    from sync.logging import get_logger
    from sync.store.migrations import revisions

    log = get_logger(__name__)
    store = open_database(load())
    try:
        before = store.schema_status()
        applied = store.migrate()  # raises ConfigurationError for a newer schema or a missing upgrade path
        after = store.schema_status()
    finally:
        store.close()
    named = [revisions()[v - 1] for v in applied]  # version N is the Nth Alembic revision
    if not applied:
        print(f"schema already current (version {after.expected}): nothing to apply")
    elif before.state == "empty":
        print(f"created the schema (version {after.current}) in an empty database, stamped revision {named[-1]}")
    else:
        print(
            f"upgraded the schema from version {before.current} to {after.current}"
            f" (applied revisions: {', '.join(named)})"
        )
    log.info("migrate.done", applied=applied, revisions=named, version=after.current)
    return EXIT_OK
