"""The HTTP API's request and envelope models.

Responses reuse the library's own value models (``Case``, ``Account``, ``User``, ``CaseChange``), so the
OpenAPI document describes exactly what ``SupportCases`` returns; only the request bodies and the list
envelopes are defined here.  Request models validate shape only (types, required fields): every rule about
values (lengths, emails, limits) is the library's, so the API and the library refuse the same input with
the same message.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Base64Bytes, BaseModel, ConfigDict, Field

from mappings.models import Attachment, CaseChange

__all__ = [
    "AccountBody",
    "AttachmentBody",
    "ChangeList",
    "CloseBody",
    "ErrorBody",
    "Order",
    "RecipientBody",
    "RecipientList",
    "ReplyBody",
    "SubmitBody",
    "UserBody",
]

#: The orders ``browse`` accepts (docs/design.md §8).
Order = Literal["created_at", "-created_at", "updated_at", "-updated_at"]


class _Body(BaseModel):
    # Unknown fields are refused: a misspelt "acknowledges_solution" must not be silently ignored.
    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error answer: the library's error class name and its message."""

    error: str = Field(examples=["InvalidInput"])
    message: str


class AccountBody(_Body):
    name: str


class UserBody(_Body):
    email: str
    name: str
    admin: bool = False


class RecipientBody(_Body):
    email: str


class AttachmentBody(_Body):
    """An attachment of a new message; ``data`` is the file's content, base64-encoded (RFC 4648)."""

    filename: str
    content_type: str = "application/octet-stream"
    data: Base64Bytes

    def to_attachment(self) -> Attachment:
        return Attachment(filename=self.filename, content_type=self.content_type, data=self.data)


class SubmitBody(_Body):
    user_id: str
    subject: str
    body: str
    refers_to: int | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    attachments: list[AttachmentBody] = Field(default_factory=list)


class ReplyBody(_Body):
    user_id: str
    body: str
    acknowledges_solution: bool = False
    attachments: list[AttachmentBody] = Field(default_factory=list)


class CloseBody(_Body):
    user_id: str


class ChangeList(BaseModel):
    """Change-feed entries after ``since``, oldest first."""

    changes: list[CaseChange]


class RecipientList(BaseModel):
    """The account's full recipient list: admin users' addresses first, then the registered ones."""

    recipients: list[str]

