"""Everything a store holds, as text, to check that a string is nowhere in it (redaction, erasure)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from sync.store import schema as s

__all__ = ["store_text"]


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def store_text(store: Any) -> str:
    """Every value of every table of ``store``'s schema, as one string."""
    parts: list[str] = []
    with store.engine.connect() as conn:
        for table in s.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                parts.extend(_text(v) for v in row)
    return "\n".join(parts)
