"""The store's tables, in SQLAlchemy Core terms that both SQLite and PostgreSQL understand.

``SCHEMA_VERSION`` is the version these tables describe.  An empty database gets them all at once; an
older database is brought here by the Alembic revisions that :mod:`sync.store.migrations` runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Sequence,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)

__all__ = [
    "CASE_NUMBER_SEQUENCE",
    "SCHEMA_VERSION",
    "UtcDateTime",
    "accounts",
    "attachments",
    "case_continuations",
    "cases",
    "conflicts",
    "counters",
    "cursors",
    "feed",
    "idempotency_keys",
    "inbox",
    "kv",
    "leases",
    "messages",
    "metadata",
    "outbox",
    "recipients",
    "schema_version",
    "seen_comments",
    "staff_emails",
    "ticket_links",
    "ticket_state",
    "users",
]

SCHEMA_VERSION = 5


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the backend stores.

    SQLite keeps text without an offset, so values are normalised to UTC before binding; that also keeps
    its text comparisons (``next_attempt_at <= now``) correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

# PostgreSQL hands out case numbers from a sequence, which never gives a number twice even when the
# transaction that took it rolls back; SQLite uses the ``counters`` table (see SqlTx.next_case_number).
CASE_NUMBER_SEQUENCE = Sequence("case_number_seq", start=1, metadata=metadata)

schema_version = Table(
    "schema_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(255), primary_key=True),
    Column("name", Text, nullable=False),
    Column("zendesk_org_id", BigInteger, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("account_id", String(255), ForeignKey("accounts.id"), primary_key=True),
    Column("user_id", String(255), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), nullable=False, index=True),  # lower-cased, for lookups
    Column("name", Text, nullable=False),
    Column("admin", Boolean, nullable=False),
    Column("zendesk_user_id", BigInteger, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

recipients = Table(
    "recipients",
    metadata,
    Column("account_id", String(255), ForeignKey("accounts.id"), primary_key=True),
    Column("email_key", String(320), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("position", BigInteger, nullable=False),  # keeps the order addresses were registered in
    Column("created_at", UtcDateTime, nullable=False),
)

staff_emails = Table(
    "staff_emails",
    metadata,
    Column("email_key", String(320), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("zendesk_user_id", BigInteger),
    Column("noted_at", UtcDateTime, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),  # the console's case number
    Column("account_id", String(255), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("requester_id", String(255), nullable=False),
    Column("subject", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("refers_to", BigInteger),
    Column("merged_into", BigInteger),
    Column("closed_by", String(16)),
    Column("closed_reason", Text),
    Column("cc", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Which write last changed the case, for browse's snapshot bound (see sync.store.sql_browse):
    # a store-wide counter on SQLite, the writing transaction's id on PostgreSQL.
    Column("revision", BigInteger, nullable=False, server_default="0"),
    Index("ix_cases_account_updated", "account_id", "updated_at", "id"),
    Index("ix_cases_account_created", "account_id", "created_at", "id"),
    # Version 4: what staff set on the ticket besides its status (docs/design.md §8).
    Column("priority", String(16)),
    Column("status_label", Text),
    Column("fields", JSON),  # mapped custom fields, console name → value (None: none)
)

messages = Table(
    "messages",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("case_id", BigInteger, ForeignKey("cases.id"), nullable=False, index=True),
    Column("account_id", String(255), nullable=False),
    Column("author", String(16), nullable=False),
    Column("author_name", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("html", Text),  # sanitized HTML of a message imported from Zendesk (version 3)
    Column("created_at", UtcDateTime, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("zendesk_comment_id", BigInteger, unique=True),
    Column("withdrawn", Boolean, nullable=False),
    Column("acknowledges_solution", Boolean, nullable=False),
    Column("user_id", String(255)),  # version 4: the console user who wrote a user message
    sqlite_autoincrement=True,  # message ids are never reused, like case numbers
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("message_id", BigInteger, ForeignKey("messages.id"), nullable=False, index=True),
    Column("case_id", BigInteger, nullable=False, index=True),
    Column("filename", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("zendesk_attachment_id", BigInteger),
    Column("inline", Boolean, nullable=False, server_default=false()),  # an inline image (version 3)
)

ticket_links = Table(
    "ticket_links",
    metadata,
    Column("case_id", BigInteger, ForeignKey("cases.id"), primary_key=True),
    Column("ticket_id", BigInteger, nullable=False, unique=True),
    Column("linked_at", UtcDateTime, nullable=False),
)

# Version 5: which case continues a closed one (a reply that reached its ticket closed opened it); one
# continuation per case, and a continuation continues one case.
case_continuations = Table(
    "case_continuations",
    metadata,
    Column("case_id", BigInteger, ForeignKey("cases.id"), primary_key=True),
    Column("continuation_id", BigInteger, ForeignKey("cases.id"), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
)

ticket_state = Table(
    "ticket_state",
    metadata,
    Column("ticket_id", BigInteger, primary_key=True, autoincrement=False),
    Column("case_id", BigInteger),
    Column("updated_at", UtcDateTime),
    Column("generated_timestamp", BigInteger),
    Column("status", String(16)),
    Column("extra", JSON, nullable=False),
)

seen_comments = Table(
    "seen_comments",
    metadata,
    Column("ticket_id", BigInteger, primary_key=True, autoincrement=False),
    Column("comment_id", BigInteger, primary_key=True, autoincrement=False),
)

_id = BigInteger().with_variant(Integer, "sqlite")

outbox = Table(
    "outbox",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("ordering_key", String(300), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("account_id", String(255)),
    Column("case_id", BigInteger),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("first_attempt_at", UtcDateTime),
    Column("last_error", Text),
    Column("lease_owner", String(255)),
    Column("lease_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Index("ix_outbox_status_key", "status", "ordering_key", "id"),
    sqlite_autoincrement=True,  # ids order a key's entries: never reuse them
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("ticket_id", BigInteger, nullable=False),
    Column("source", String(32), nullable=False),
    Column("dedupe_key", String(300), nullable=False, unique=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text),
    Column("lease_owner", String(255)),
    Column("lease_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Index("ix_inbox_status_ticket", "status", "ticket_id", "id"),
    sqlite_autoincrement=True,
)

cursors = Table(
    "cursors",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

kv = Table(
    "kv",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("value", JSON),
    Column("updated_at", UtcDateTime, nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("owner", String(255), nullable=False),
    Column("until", UtcDateTime, nullable=False),
)

conflicts = Table(
    "conflicts",
    metadata,
    Column("id", _id, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("account_id", String(255)),
    Column("case_id", BigInteger),
    Column("ticket_id", BigInteger),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    sqlite_autoincrement=True,
)

feed = Table(
    "feed",
    metadata,
    Column("seq", _id, primary_key=True, autoincrement=True),
    Column("account_id", String(255), nullable=False),
    Column("case_id", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_feed_account_seq", "account_id", "seq"),
    sqlite_autoincrement=True,  # a seq is never handed out twice, so a reader's ``since`` stays valid
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("account_id", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("operation", String(32), nullable=False),
    Column("fingerprint", String(64), nullable=False),  # sha256 of the call's arguments
    Column("result", JSON),  # what the first call returned; written in the same transaction
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_idempotency_created", "created_at"),
)
