"""Version 5: the continuation of a closed case is a table, ``case_continuations``.

Earlier releases kept it in the key-value table, one key ``continuation:<case id>`` holding the continuing
case's id.  Each such row whose two cases exist is carried into the table (its ``updated_at`` becomes the
link's ``created_at``); then the keys are removed, so the link has one home.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from sync.store.schema import UtcDateTime

__all__ = ["branch_labels", "depends_on", "down_revision", "revision", "upgrade"]

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

#: The key family of the releases before this version (frozen here: the registry no longer knows it).
_OLD_PREFIX = "continuation:"

_kv = sa.table("kv", sa.column("key", sa.String()), sa.column("value", sa.JSON()),
               sa.column("updated_at", UtcDateTime()))
_cases = sa.table("cases", sa.column("id", sa.BigInteger()))


def _link(key: str, value: Any) -> tuple[int, int] | None:
    """(case, continuation) of one old row, or ``None`` when it is not one."""
    suffix = key[len(_OLD_PREFIX):]
    if not suffix.isdigit() or not isinstance(value, int) or isinstance(value, bool):
        return None
    return int(suffix), value


def upgrade() -> None:
    table = op.create_table(
        "case_continuations",
        sa.Column("case_id", sa.BigInteger(), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("continuation_id", sa.BigInteger(), sa.ForeignKey("cases.id"), nullable=False, unique=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    conn = op.get_bind()
    old = _kv.c.key.like(f"{_OLD_PREFIX}%")
    links: dict[int, tuple[int, Any]] = {}
    for key, value, at in conn.execute(sa.select(_kv.c.key, _kv.c.value, _kv.c.updated_at).where(old)):
        link = _link(str(key), value)
        if link is not None:
            links[link[0]] = (link[1], at)
    wanted = set(links) | {c for c, _ in links.values()}
    known = set(conn.execute(sa.select(_cases.c.id).where(_cases.c.id.in_(wanted))).scalars()) if wanted else set()
    rows: list[dict[str, Any]] = []
    taken: set[int] = set()  # a continuation continues one case
    for case_id, (continuation, at) in sorted(links.items()):
        if case_id in known and continuation in known and continuation not in taken:
            taken.add(continuation)
            rows.append({"case_id": case_id, "continuation_id": continuation, "created_at": at})
    if rows:
        conn.execute(table.insert(), rows)
    conn.execute(_kv.delete().where(old))
