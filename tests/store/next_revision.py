"""A schema version one past this code's, for tests of how an outdated database is upgraded.

:func:`add_next_revision` writes a revision whose ``down_revision`` is today's head into a directory of the
test's own, adds that directory to the places the store looks for revisions and bumps ``SCHEMA_VERSION`` —
what a developer's new revision does, undone by ``monkeypatch`` when the test ends.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.store import migrations
from sync.store import schema as s

__all__ = ["add_next_revision"]

_TEMPLATE = '''"""A test's next schema version."""
from alembic import op

revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute({sql!r})
'''


def add_next_revision(monkeypatch: pytest.MonkeyPatch, directory: Path, sql: str) -> int:
    """Pretend this code is one schema version ahead, with a revision that runs ``sql``; returns that version."""
    head = migrations.revisions()[-1]
    nxt = s.SCHEMA_VERSION + 1
    directory.mkdir(parents=True, exist_ok=True)
    revision = f"test_next_{nxt}"
    (directory / f"{revision}.py").write_text(_TEMPLATE.format(revision=revision, down=head, sql=sql))
    monkeypatch.setattr(migrations, "VERSION_LOCATIONS", [*migrations.VERSION_LOCATIONS, directory])
    monkeypatch.setattr(s, "SCHEMA_VERSION", nxt)
    return nxt
