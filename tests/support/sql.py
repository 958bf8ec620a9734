"""The SQLAlchemy engine under a store, for tests that read its tables directly."""

from __future__ import annotations

from sqlalchemy import Engine

from sync.store import Store
from sync.store.sql import SqlStore

__all__ = ["engine_of"]


def engine_of(store: Store) -> Engine:
    """The engine of ``store``, which every store ``open_store`` returns has."""
    assert isinstance(store, SqlStore), type(store)
    return store.engine
