"""Value types the store hands to its callers: records, queue entries and status figures.

They are plain frozen dataclasses (not pydantic models) because they never cross the public API: the
console sees :mod:`mappings.models` values, the workers and the CLI see these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from mappings.models import Actor, Author, CaseStatus

__all__ = [
    "AccountRecord",
    "AttachmentRecord",
    "CaseRecord",
    "ConflictRecord",
    "DeadLetter",
    "InboxEntry",
    "MessageRecord",
    "Origin",
    "OutboxEntry",
    "OutboxKind",
    "QueueStatus",
    "SchemaState",
    "SchemaStatus",
    "StoreCounts",
    "TicketState",
    "UserRecord",
    "account_key",
    "case_key",
    "user_key",
]

#: Where a message was written: through :class:`sync.api.SupportCases` or in Zendesk.
Origin = Literal["console", "zendesk"]

#: ``pending`` (to do or retrying), ``done``, ``dead`` (dead-lettered, holds later entries of its key),
#: ``discarded`` (an operator dropped a dead letter).
QueueStatus = Literal["pending", "done", "dead", "discarded"]

SchemaState = Literal["empty", "current", "outdated", "newer"]


class OutboxKind(StrEnum):
    """The kinds of outbox entries :class:`sync.api.SupportCases` queues (workers may add their own)."""

    UPSERT_ACCOUNT = "upsert_account"
    UPSERT_USER = "upsert_user"
    RECIPIENTS_CHANGED = "recipients_changed"
    SUBMIT = "submit"
    REPLY = "reply"
    CLOSE = "close"
    #: Restore the console's addresses on named tickets from what Zendesk holds (the reconciler, a ticket
    #: created while the list changed, a follow-up created in Zendesk).
    REPAIR_CCS = "repair_ccs"
    #: Delete, then permanently delete, an erased console user's Zendesk user (``zendesk_user_id``).
    ERASE_USER = "erase_user"


def case_key(case_id: int) -> str:
    """The outbox ordering key of a case's work: one case's entries are delivered one at a time, in order."""
    return f"case:{case_id}"


def account_key(account_id: str) -> str:
    """The outbox ordering key of account-level work (the organization and the recipient list)."""
    return f"account:{account_id}"


def user_key(account_id: str, user_id: str) -> str:
    """The outbox ordering key of one user's changes: a dead letter holds that user's later changes only
    (what waits for what across keys: :mod:`sync.outbound.dependencies`)."""
    return f"user:{account_id}:{user_id}"


@dataclass(frozen=True)
class AccountRecord:
    id: str
    name: str
    zendesk_org_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class UserRecord:
    account_id: str
    user_id: str
    email: str
    name: str
    admin: bool
    zendesk_user_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CaseRecord:
    """A case's own row (no messages); ``ticket_id`` comes from the link table."""

    id: int
    account_id: str
    requester_id: str
    subject: str
    status: CaseStatus
    refers_to: int | None
    merged_into: int | None
    closed_by: Actor | None
    closed_reason: str | None
    cc: list[str]
    ticket_id: int | None
    created_at: datetime
    updated_at: datetime
    priority: str | None = None
    status_label: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AttachmentRecord:
    """An attachment's metadata; the bytes are read separately (``StoreTx.attachment_content``)."""

    id: str
    message_id: int
    case_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    zendesk_attachment_id: int | None
    inline: bool = False


@dataclass(frozen=True)
class MessageRecord:
    id: int
    case_id: int
    account_id: str
    author: Author
    author_name: str
    body: str
    created_at: datetime
    origin: Origin
    zendesk_comment_id: int | None
    withdrawn: bool
    acknowledges_solution: bool
    attachments: list[AttachmentRecord] = field(default_factory=list)
    html: str | None = None
    user_id: str | None = None  # the console user who wrote it (user messages written in the console or linked)


@dataclass(frozen=True)
class OutboxEntry:
    """One change to deliver to Zendesk. ``payload`` holds ids; the worker reloads the data by id."""

    id: int
    ordering_key: str
    kind: str
    payload: dict[str, Any]
    account_id: str | None
    case_id: int | None
    status: QueueStatus
    attempts: int
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    last_error: str | None
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class InboxEntry:
    """A hint that a ticket changed (webhook, poll failure, reconcile); the worker re-reads the ticket.

    ``covers`` lists the ids of this ticket's other pending hints that existed at claim time: they are all
    answered by the fetch that follows the claim, so completing this entry completes them too.
    """

    id: int
    ticket_id: int
    source: str
    dedupe_key: str
    payload: dict[str, Any]
    status: QueueStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    covers: tuple[int, ...] = ()


@dataclass(frozen=True)
class TicketState:
    """What was last applied from (or written to) one ticket: the basis of stale and echo decisions."""

    ticket_id: int
    case_id: int | None
    updated_at: datetime | None = None
    generated_timestamp: int | None = None
    status: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConflictRecord:
    id: int
    kind: str
    detail: str
    account_id: str | None
    case_id: int | None
    ticket_id: int | None
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class DeadLetter:
    """A dead-lettered outbox (``queue="outbox"``) or inbox (``queue="inbox"``) entry, for operators."""

    queue: Literal["outbox", "inbox"]
    id: int
    kind: str
    account_id: str | None
    case_id: int | None
    ticket_id: int | None
    attempts: int
    reason: str
    created_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class StoreCounts:
    """Figures for ``casesync status`` and ``SyncReport``."""

    outbox_pending: int
    outbox_dead: int
    outbox_done: int
    inbox_pending: int
    inbox_dead: int
    conflicts_open: int
    cases: int
    linked_cases: int
    oldest_pending_at: datetime | None
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SchemaStatus:
    """The database's schema version against the one this code expects."""

    state: SchemaState
    current: int | None
    expected: int

    @property
    def message(self) -> str:
        if self.state == "current":
            return f"schema is current (version {self.expected})"
        if self.state == "empty":
            return f"the database is empty: the schema (version {self.expected}) is created on first use"
        if self.state == "outdated":
            return (
                f"the database schema is version {self.current}, this casesync needs version {self.expected}:"
                " run `casesync migrate`"
            )
        return (
            f"the database schema is version {self.current}, newer than this casesync understands"
            f" ({self.expected}): upgrade casesync"
        )
