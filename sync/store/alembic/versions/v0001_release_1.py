"""Release 1's schema: the baseline every later revision builds on.

No database is brought here by running this revision.  An empty database gets today's tables at once and is
stamped with the head revision; a database release 1 made carries ``schema_version`` 1 and is stamped with
this revision when it is adopted (see :mod:`sync.store.migrations`).  Running it on an empty database by hand
(``alembic upgrade``) would leave the later revisions without their tables, so it refuses.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import inspect

from sync.errors import ConfigurationError

__all__ = ["branch_labels", "depends_on", "down_revision", "downgrade", "revision", "upgrade"]

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if not inspect(op.get_bind()).has_table("cases"):
        raise ConfigurationError("an empty database is created by `casesync migrate`, not from the baseline")


def downgrade() -> None:
    raise ConfigurationError("release 1's schema is the oldest casesync knows: nothing to downgrade to")
