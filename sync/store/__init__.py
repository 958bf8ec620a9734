"""casesync's state store: cases, messages, links, the outbox, the inbox, cursors and the change feed.

Open one with :func:`open_store`; the URL picks the backend (``sqlite:///…`` or ``postgresql://…``) and
callers only ever see the :class:`Store` / :class:`StoreTx` interface.
"""

from __future__ import annotations

from sync.store.base import Clock, Store, StoreTx
from sync.store.types import (
    AccountRecord,
    AttachmentRecord,
    CaseRecord,
    ConflictRecord,
    DeadLetter,
    InboxEntry,
    MessageRecord,
    Origin,
    OutboxEntry,
    OutboxKind,
    QueueStatus,
    SchemaStatus,
    StoreCounts,
    TicketState,
    UserRecord,
    account_key,
    case_key,
    user_key,
)

__all__ = [
    "AccountRecord",
    "AttachmentRecord",
    "CaseRecord",
    "Clock",
    "ConflictRecord",
    "DeadLetter",
    "InboxEntry",
    "MessageRecord",
    "Origin",
    "OutboxEntry",
    "OutboxKind",
    "QueueStatus",
    "SchemaStatus",
    "Store",
    "StoreCounts",
    "StoreTx",
    "TicketState",
    "UserRecord",
    "account_key",
    "case_key",
    "open_store",
    "user_key",
]


def open_store(database_url: str, *, clock: Clock | None = None) -> Store:
    """Open the store at ``database_url`` (nothing is read or created until first use).

    On first use an empty database gets the schema and an older SQLite schema is upgraded in place; an
    older PostgreSQL schema raises :class:`~sync.errors.ConfigurationError` until ``Store.migrate()``
    (``casesync migrate``) has run, since other machines may still be running the old code.
    """
    from sync.store.sql import SqlStore  # keeps `import sync.store` free of SQLAlchemy until needed

    return SqlStore(database_url, clock=clock)
