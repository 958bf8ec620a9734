"""The word-search index behind ``SupportCases.browse(query=...)``: one document per case.

A case's document is its subject and the bodies of its messages the console sees (withdrawn ones are
left out).  Each backend uses its own full-text feature, both with a language-neutral tokenizer (words
are matched as written, case-insensitively, without stemming), so a query finds the same cases on both:

* **SQLite**: an FTS5 virtual table ``case_search`` (``rowid`` = case number; columns ``subject`` and
  ``body``), queried with ``MATCH``.  FTS5 ships with the sqlite3 module of every supported Python.
* **PostgreSQL**: a ``tsvector`` column ``cases.search_vector`` (``'simple'`` configuration) with a GIN
  index ``ix_cases_search``, queried with ``@@ plainto_tsquery('simple', …)``.

Appending a message extends the document in place; withdrawing, moving or erasing text rebuilds the
case's document from what is stored (:func:`reindex_case`).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Insert,
    MetaData,
    Select,
    Table,
    Text,
    bindparam,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from sync.store import schema as s
from sync.store._sqlbase import touch_values

__all__ = [
    "PG_CASES",
    "SIMPLE_CONFIG",
    "append_to_document",
    "create_search_structures",
    "fts_query",
    "index_new_case",
    "insert_case",
    "query_words",
    "reindex_case",
    "with_document_append",
]

_WORD = re.compile(r"\w+", re.UNICODE)


def query_words(query: str) -> list[str]:
    """The words of a search query (letters, digits and underscores), in order, without duplicates."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(query.lower()):
        seen.setdefault(w, None)
    return list(seen)


def fts_query(words: list[str]) -> str:
    """An FTS5 MATCH expression requiring every word; each is quoted, so no word is read as an operator."""
    return " ".join('"' + w.replace('"', '""') + '"' for w in words)


def create_search_structures(conn: Connection) -> None:
    """Create the index for this backend and fill it from the stored cases (new and upgraded databases)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE cases ADD COLUMN IF NOT EXISTS search_vector tsvector"))
        conn.execute(text("CREATE INDEX IF NOT EXISTS ix_cases_search ON cases USING GIN (search_vector)"))
    else:
        conn.execute(
            text("CREATE VIRTUAL TABLE IF NOT EXISTS case_search USING fts5(subject, body, tokenize='unicode61')")
        )
    for (case_id,) in conn.execute(select(s.cases.c.id)):
        reindex_case(conn, case_id)


# The cases table as PostgreSQL holds it, with the document column the schema adds there (see
# create_search_structures): a new case's row and its document are then written by one INSERT.
#: The text-search configuration of every document (see the module's docstring).
SIMPLE_CONFIG: ColumnElement[Any] = literal_column("'simple'::regconfig")
PG_CASES = Table(
    "cases",
    MetaData(),
    *(Column(c.name, c.type, primary_key=c.primary_key) for c in s.cases.columns),
    Column("search_vector", TSVECTOR),
)


def insert_case(conn: Connection, values: dict[str, Any]) -> None:
    """Insert a case's row (``values``: its columns) with its document started from its subject."""
    if conn.dialect.name == "postgresql":
        document = func.to_tsvector(SIMPLE_CONFIG, values["subject"], type_=TSVECTOR)
        conn.execute(PG_CASES.insert().values(search_vector=document, **values))
    else:
        conn.execute(s.cases.insert().values(**values))
        index_new_case(conn, values["id"], values["subject"])


def index_new_case(conn: Connection, case_id: int, subject: str) -> None:
    """Start a new case's document with its subject."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("UPDATE cases SET search_vector = to_tsvector('simple', :t) WHERE id = :id"),
            {"t": subject, "id": case_id},
        )
    else:
        conn.execute(
            text("INSERT INTO case_search(rowid, subject, body) VALUES (:id, :t, '')"), {"id": case_id, "t": subject}
        )


_PG_APPEND = {
    touch: PG_CASES.update()
    .where(PG_CASES.c.id == bindparam("b_case_id"))
    .values(
        search_vector=func.coalesce(PG_CASES.c.search_vector, literal_column("''::tsvector")).op("||")(
            func.to_tsvector(SIMPLE_CONFIG, bindparam("b_body", type_=Text), type_=TSVECTOR)
        ),
        **(touch_values(PG_CASES, is_pg=True) if touch else {}),
    )
    for touch in (False, True)
}


def with_document_append(insert: Insert) -> dict[bool, Select[Any]]:
    """PostgreSQL: ``insert`` of a message (RETURNING its row) that also appends to its case's document.

    One statement: the INSERT and the UPDATE of :func:`append_to_document` as data-modifying CTEs (both
    see the statement's snapshot; the UPDATE changes no key the message's foreign key locks), selecting
    the inserted row.  Keyed like the appends: with the touch's columns or without.  Parameters: the
    insert's, ``b_case_id``, ``b_body`` and the touch's.
    """
    rows = insert.cte("new_message")
    return {touch: select(rows).add_cte(update.cte("document")) for touch, update in _PG_APPEND.items()}


def append_to_document(conn: Connection, case_id: int, body: str, *, touch: dict[str, Any] | None = None) -> bool:
    """Add one message's body to the case's document.

    ``touch``: the parameters of :func:`sync.store._sqlbase.touch_values`; on PostgreSQL, whose document is
    in the case's row, the touch is written by the same UPDATE and True is returned; on SQLite nothing
    else is written and False is returned.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_PG_APPEND[touch is not None], {"b_case_id": case_id, "b_body": body, **(touch or {})})
        return True
    conn.execute(
        text("UPDATE case_search SET body = body || char(10) || :b WHERE rowid = :id"), {"b": body, "id": case_id}
    )
    return False


def reindex_case(conn: Connection, case_id: int) -> None:
    """Rebuild a case's document from its subject and visible messages (after text was removed or moved)."""
    subject = conn.execute(select(s.cases.c.subject).where(s.cases.c.id == case_id)).scalar()
    if subject is None:
        return
    m = s.messages.c
    bodies = [
        r[0] for r in conn.execute(select(m.body).where(m.case_id == case_id, m.withdrawn.is_(False)).order_by(m.id))
    ]
    body = "\n".join(bodies)
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "UPDATE cases SET search_vector = to_tsvector('simple', :s) || to_tsvector('simple', :b) WHERE id = :id"
            ),
            {"s": subject, "b": body, "id": case_id},
        )
    else:
        conn.execute(text("DELETE FROM case_search WHERE rowid = :id"), {"id": case_id})
        conn.execute(
            text("INSERT INTO case_search(rowid, subject, body) VALUES (:id, :s, :b)"),
            {"id": case_id, "s": subject, "b": body},
        )
