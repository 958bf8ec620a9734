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

from sqlalchemy import Connection, select, text

from sync.store import schema as s

__all__ = [
    "append_to_document",
    "create_search_structures",
    "fts_query",
    "index_new_case",
    "query_words",
    "reindex_case",
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


def append_to_document(conn: Connection, case_id: int, body: str) -> None:
    """Add one message's body to the case's document."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "UPDATE cases SET search_vector = coalesce(search_vector, ''::tsvector) || to_tsvector('simple', :b)"
                " WHERE id = :id"
            ),
            {"b": body, "id": case_id},
        )
    else:
        conn.execute(
            text("UPDATE case_search SET body = body || char(10) || :b WHERE rowid = :id"), {"b": body, "id": case_id}
        )


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
