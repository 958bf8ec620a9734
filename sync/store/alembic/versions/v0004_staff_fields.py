"""Version 4: who wrote each user message; the priority, status label and mapped fields of a case."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "revision", "upgrade"]

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("user_id", sa.String(255), nullable=True))
    op.add_column("cases", sa.Column("priority", sa.String(16), nullable=True))
    op.add_column("cases", sa.Column("status_label", sa.Text(), nullable=True))
    op.add_column("cases", sa.Column("fields", sa.JSON(), nullable=True))
