"""Version 2: case revisions and browse indexes, the word-search index, idempotency keys."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sync.store import schema as s
from sync.store.search_index import create_search_structures

__all__ = ["branch_labels", "depends_on", "down_revision", "revision", "upgrade"]

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("revision", sa.BigInteger(), nullable=False, server_default="0"))
    conn = op.get_bind()
    for index in s.cases.indexes:
        if index.name in ("ix_cases_account_updated", "ix_cases_account_created"):
            index.create(conn, checkfirst=True)
    s.idempotency_keys.create(conn, checkfirst=True)
    create_search_structures(conn)
