"""Version 3: a message's sanitized HTML, and which attachments are inline images (docs/design.md §8)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

__all__ = ["branch_labels", "depends_on", "down_revision", "revision", "upgrade"]

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("html", sa.Text(), nullable=True))
    op.add_column("attachments", sa.Column("inline", sa.Boolean(), nullable=False, server_default=sa.false()))
