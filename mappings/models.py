"""The console's value models: what a console backend sees of accounts, users and cases.

Every model is an immutable pydantic value; nothing here performs I/O.  The public names of
docs/design.md §6 (``Case``, ``Message``, ``CaseStatus``, ``CaseChange``, ``Attachment``) are defined here
and re-exported by :mod:`sync`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "Account",
    "Actor",
    "Attachment",
    "AttachmentRef",
    "Author",
    "Case",
    "CaseChange",
    "CaseStatus",
    "ChangeKind",
    "FieldValue",
    "Message",
    "Priority",
    "User",
]

#: Who made a change to a case: the console user, support staff in Zendesk, or Zendesk itself
#: (auto-close, merge, deletion).
Actor = Literal["user", "staff", "system"]

#: Who wrote a message, as the console shows it.
Author = Literal["user", "staff"]

#: A ticket's priority, as Zendesk names it.
Priority = Literal["low", "normal", "high", "urgent"]

#: The value of a mapped custom field (text, number, checkbox, drop-down tag; None when empty).
FieldValue = str | int | float | bool | None


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseStatus(StrEnum):
    """A support case's status, in the order the console's process usually assigns them."""

    NEW = "New"
    OPEN = "Open"
    PENDING = "Pending"
    SOLVED = "Solved"
    CLOSED = "Closed"


class ChangeKind(StrEnum):
    """The kinds of entries in the console's change feed (``SupportCases.changes``)."""

    STAFF_MESSAGE = "staff_message"
    USER_MESSAGE = "user_message"
    STATUS = "status"
    LINKED_CASE = "linked_case"
    MERGED = "merged"
    CLOSED_BY_SYSTEM = "closed_by_system"
    WITHDRAWN_MESSAGE = "withdrawn_message"
    CONFLICT = "conflict"
    DELIVERY_FAILED = "delivery_failed"
    #: Staff redacted a string or an attachment of an imported message: the console's copy now reads the same.
    REDACTED_MESSAGE = "redacted_message"
    #: Zendesk suspended a console user's email instead of adding it to the ticket (docs/design.md §8).
    SUSPENDED_MESSAGE = "suspended_message"
    PRIORITY = "priority"
    FIELD = "field"


class Account(_Value):
    """A console account; mirrored as a Zendesk organization."""

    id: str
    name: str


class User(_Value):
    """A console user of one account; ``admin`` users' addresses are on the account's recipient list."""

    account_id: str
    id: str
    email: str
    name: str
    admin: bool = False


class Attachment(_Value):
    """An attachment given to ``submit`` or ``reply``: its name, MIME type and content."""

    filename: str
    content_type: str
    data: bytes


class AttachmentRef(_Value):
    """A stored attachment as a message lists it; fetch its bytes with ``SupportCases.attachment``."""

    id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    #: An inline image of the message's HTML (``<img src="attachment:<id>">``), not a listed attachment.
    inline: bool = False


class Message(_Value):
    """One message of a case: written by the console user or by support staff."""

    id: int
    author: Author
    author_name: str
    body: str
    created_at: datetime
    attachments: list[AttachmentRef] = Field(default_factory=list)
    #: A message imported from Zendesk: its comment's ``html_body``, sanitized (``mappings.html``); ``None`` for
    #: a console user's own message.
    html: str | None = None
    #: The console user who wrote a user message; None for staff and for end users known only to Zendesk.
    user_id: str | None = None


class Case(_Value):
    """A support case as the console shows it. ``id`` is the console's case number."""

    id: int
    account_id: str
    requester_id: str
    subject: str
    status: CaseStatus
    messages: list[Message] = Field(default_factory=list)
    refers_to: int | None = None
    merged_into: int | None = None
    ticket_id: int | None = None
    cc: list[str] = Field(default_factory=list)
    closed_by: Actor | None = None
    #: When the case was submitted (or imported), and the last change to it the console sees, on either side.
    created_at: datetime
    updated_at: datetime
    #: The end-user label of the ticket's custom status (custom statuses active); None otherwise.
    status_label: str | None = None
    #: The ticket's priority: ``low``, ``normal``, ``high``, ``urgent`` or None.
    priority: Priority | None = None
    #: The operator's mapped custom fields (``CASESYNC_FIELD_MAP``), console name → value.
    fields: dict[str, FieldValue] = Field(default_factory=dict)


class CaseChange(_Value):
    """One entry of the change feed: something that happened to a case, for the console to show."""

    seq: int
    account_id: str
    case_id: int
    kind: ChangeKind
    at: datetime
    detail: str
