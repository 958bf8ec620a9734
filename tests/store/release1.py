"""The first release's schema (version 1), for tests that upgrade a database that release made.

``RELEASE_1`` is the inventory of tables, columns and indexes that release created, taken from its
``sync/store/schema.py``.  :func:`make_release_1` builds today's schema with the caller's data, then removes
everything the later versions added and stamps the database 1; it then checks the result against the
inventory, so a new migration whose additions are not removed here fails loudly instead of testing an upgrade
from a database no release ever made.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, inspect, text

from sync.store import Store, StoreTx, open_store
from sync.store import schema as s

__all__ = ["RELEASE_1", "RELEASE_1_INDEXES", "make_release_1", "schema_inventory"]

RELEASE_1: dict[str, set[str]] = {
    "accounts": {"created_at", "id", "name", "updated_at", "zendesk_org_id"},
    "attachments": {"case_id", "content", "content_type", "filename", "id", "message_id", "sha256", "size",
                    "zendesk_attachment_id"},
    "cases": {"account_id", "cc", "closed_by", "closed_reason", "created_at", "id", "merged_into", "refers_to",
              "requester_id", "status", "subject", "updated_at"},
    "conflicts": {"account_id", "case_id", "created_at", "detail", "id", "kind", "resolved_at", "ticket_id"},
    "counters": {"name", "value"},
    "cursors": {"name", "updated_at", "value"},
    "feed": {"account_id", "at", "case_id", "detail", "kind", "seq"},
    "inbox": {"attempts", "created_at", "dedupe_key", "done_at", "id", "last_error", "lease_owner", "lease_until",
              "next_attempt_at", "payload", "source", "status", "ticket_id"},
    "kv": {"key", "updated_at", "value"},
    "leases": {"name", "owner", "until"},
    "messages": {"account_id", "acknowledges_solution", "author", "author_name", "body", "case_id", "created_at",
                 "id", "origin", "withdrawn", "zendesk_comment_id"},
    "outbox": {"account_id", "attempts", "case_id", "created_at", "delivered_at", "first_attempt_at", "id", "kind",
               "last_error", "lease_owner", "lease_until", "next_attempt_at", "ordering_key", "payload", "status"},
    "recipients": {"account_id", "created_at", "email", "email_key", "position"},
    "schema_version": {"applied_at", "id", "version"},
    "seen_comments": {"comment_id", "ticket_id"},
    "staff_emails": {"email", "email_key", "noted_at", "zendesk_user_id"},
    "ticket_links": {"case_id", "linked_at", "ticket_id"},
    "ticket_state": {"case_id", "extra", "generated_timestamp", "status", "ticket_id", "updated_at"},
    "users": {"account_id", "admin", "created_at", "email", "email_key", "name", "updated_at", "user_id",
              "zendesk_user_id"},
}

#: The named indexes of release 1 (unique constraints' own indexes aside).
RELEASE_1_INDEXES: set[str] = {
    "ix_feed_account_seq", "ix_inbox_status_ticket", "ix_outbox_status_key", "ix_cases_account_id",
    "ix_users_email_key", "ix_users_zendesk_user_id", "ix_messages_case_id", "ix_attachments_message_id",
    "ix_attachments_case_id",
}


def schema_inventory(conn: Connection) -> dict[str, set[str]]:
    """The database's tables and their columns (SQLite's full-text shadow tables aside)."""
    insp = inspect(conn)
    return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}


def _remove_later_versions(conn: Connection) -> None:
    insp = inspect(conn)
    for table in insp.get_table_names():
        if table not in RELEASE_1 and table in set(inspect(conn).get_table_names()):
            conn.execute(text(f"DROP TABLE {table}"))  # FTS5 tables take their shadow tables with them
    for table, columns in RELEASE_1.items():
        for index in inspect(conn).get_indexes(table):
            if index.get("duplicates_constraint"):
                continue  # a unique constraint's own index: it goes with its column
            if index["name"] and index["name"] not in RELEASE_1_INDEXES:
                conn.execute(text(f"DROP INDEX {index['name']}"))
        for column in {c["name"] for c in inspect(conn).get_columns(table)} - columns:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    conn.execute(s.schema_version.update().values(version=1))


def make_release_1(
    url: str, fill: Callable[[StoreTx], None] | None = None, *, raw: Callable[[Connection], None] | None = None
) -> None:
    """A database as release 1 left it: ``fill`` writes its data (through today's store, before the later
    versions' additions are removed), then the schema is cut back to release 1 and stamped 1; ``raw`` then
    writes rows as release 1's SQL would, in the same transaction."""
    store: Store = open_store(url)
    try:
        store.migrate()
        if fill is not None:
            with store.transaction() as tx:
                fill(tx)
        with store.engine.begin() as conn:  # type: ignore[attr-defined]
            _remove_later_versions(conn)
            left = schema_inventory(conn)
            if raw is not None:
                raw(conn)
    finally:
        store.close()
    assert left == RELEASE_1, f"not release 1's schema: {left}"
