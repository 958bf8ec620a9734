"""The store's Alembic environment: ``env.py`` and the revisions in ``versions/`` (see :mod:`sync.store.migrations`)."""

__all__: list[str] = []
