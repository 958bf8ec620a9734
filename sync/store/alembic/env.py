"""Alembic's entry point for the store: runs the revisions on the connection the caller hands over.

:mod:`sync.store.migrations` puts an open connection, already inside its write transaction, in
``config.attributes["connection"]``; the revisions then run in that transaction, so an upgrade and the
store's ``schema_version`` stamp commit together or not at all.  SQLite gets batch mode, so a revision that
alters or drops a column rebuilds the table instead of issuing an ALTER SQLite lacks.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from sync.store import schema as s

__all__: list[str] = []


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=s.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        on_version_apply=context.config.attributes.get("on_version_apply", []),
    )
    with context.begin_transaction():  # a no-op inside the caller's transaction
        context.run_migrations()


def _run_from_environment() -> None:
    """The ``alembic`` command line (a developer's tool): the database of ``CASESYNC_DATABASE_URL``."""
    import os

    from sync.errors import ConfigurationError
    from sync.store.engine import make_engine

    url = os.environ.get("CASESYNC_DATABASE_URL")
    if not url:
        raise ConfigurationError("CASESYNC_DATABASE_URL: name the database the revisions run on")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


_connection = context.config.attributes.get("connection")
if isinstance(_connection, Connection):
    _run(_connection)
else:
    _run_from_environment()
