"""Zendesk-side value models: snapshots of what Zendesk holds, and drafts of what to write.

These are plain values decoded from Zendesk's JSON (never zenpy objects), so decisions about them stay
pure and testable.  The gateway builds snapshots from responses and turns drafts into requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CcChange",
    "CommentDraft",
    "CommentEvent",
    "StatusEvent",
    "TicketDraft",
    "TicketUpdateDraft",
    "ZAttachment",
    "ZComment",
    "ZCustomField",
    "ZCustomStatus",
    "ZOrganization",
    "ZTicket",
    "ZUser",
    "ZendeskStatus",
]

#: The values of a ticket's ``status`` field (with custom statuses it holds the status category).
ZendeskStatus = Literal["new", "open", "pending", "hold", "solved", "closed", "deleted"]


class _Snapshot(BaseModel):
    # Zendesk adds fields over time: snapshots ignore what they do not model.
    model_config = ConfigDict(frozen=True, extra="ignore")


class ZOrganization(_Snapshot):
    id: int
    name: str
    external_id: str | None = None


class ZUser(_Snapshot):
    id: int
    email: str | None = None
    name: str = ""
    role: str = "end-user"
    external_id: str | None = None
    organization_id: int | None = None
    verified: bool = False


class ZAttachment(_Snapshot):
    id: int
    file_name: str
    content_type: str = "application/octet-stream"
    size: int = 0
    content_url: str = ""
    mapped_content_url: str = ""
    #: An image referenced from the comment's ``html_body`` (listed with ``include_inline_images=true`` only).
    inline: bool = False


class ZComment(_Snapshot):
    """A ticket comment. ``public=False`` is an internal note, which never leaves Zendesk."""

    id: int
    author_id: int
    body: str = ""
    html_body: str | None = None
    public: bool = True
    created_at: datetime
    attachments: list[ZAttachment] = Field(default_factory=list)
    audit_id: int | None = None
    #: ``metadata.custom`` of the update that added the comment; casesync's marker lives here.
    custom: dict[str, Any] = Field(default_factory=dict)
    via_channel: str | None = None


class CommentEvent(_Snapshot):
    """A comment as the ticket-event export reports it (``include=comment_events``)."""

    ticket_id: int
    comment_id: int
    author_id: int
    public: bool
    body: str = ""
    html_body: str | None = None
    created_at: datetime
    attachments: list[ZAttachment] = Field(default_factory=list)
    #: ``metadata.custom`` of the update that carried the comment, when the export includes it.
    custom: dict[str, Any] = Field(default_factory=dict)
    via_channel: str | None = None
    #: The event's ``updater_id`` (the updater may differ from the author shown).
    updater_id: int | None = None


class StatusEvent(_Snapshot):
    """A ticket's status set by an update, as the ticket-event export reports it (a ``Change`` child event of
    ``status``), with who made the update: ``updater_id`` (Zendesk's own updates, automations among them, are
    ``-1``) and the channel (``rule`` for triggers and automations)."""

    ticket_id: int
    status: str
    at: int
    updater_id: int | None = None
    via_channel: str | None = None


class ZCustomField(_Snapshot):
    """One entry of a ticket's ``custom_fields``."""

    id: int
    value: Any = None


class ZCustomStatus(_Snapshot):
    """A custom ticket status (``/api/v2/custom_statuses``)."""

    id: int
    status_category: str
    agent_label: str = ""
    end_user_label: str = ""
    active: bool = True
    default: bool = False


class ZTicket(_Snapshot):
    """The fields of a ticket that casesync reads."""

    id: int
    status: str
    subject: str = ""
    requester_id: int | None = None
    submitter_id: int | None = None
    assignee_id: int | None = None
    organization_id: int | None = None
    external_id: str | None = None
    tags: list[str] = Field(default_factory=list)
    email_cc_ids: list[int] = Field(default_factory=list)
    followup_ids: list[int] = Field(default_factory=list)
    #: The ticket this one follows up, when Zendesk created it as a follow-up (``via.source.rel``).
    followup_source_id: int | None = None
    custom_status_id: int | None = None
    priority: str | None = None
    custom_fields: list[ZCustomField] = Field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    generated_timestamp: int | None = None


class CcChange(_Snapshot):
    """One entry of a ticket's ``email_ccs`` write list."""

    email: str
    action: Literal["put", "delete"]


class CommentDraft(_Snapshot):
    body: str
    public: bool = True
    author_id: int | None = None
    uploads: list[str] = Field(default_factory=list)


class TicketDraft(_Snapshot):
    """A ticket to create."""

    subject: str
    comment: CommentDraft
    requester_id: int
    organization_id: int
    external_id: str
    tags: list[str] = Field(default_factory=list)
    custom_fields: list[dict[str, Any]] = Field(default_factory=list)
    email_ccs: list[CcChange] = Field(default_factory=list)
    via_followup_source_id: int | None = None
    priority: str | None = None
    #: Sent as the create request's ``metadata``: the audit's ``metadata.custom`` (casesync's marker).
    metadata: dict[str, Any] = Field(default_factory=dict)


class TicketUpdateDraft(_Snapshot):
    """A sparse ticket update: only the fields set are sent."""

    comment: CommentDraft | None = None
    status: str | None = None
    assignee_id: int | None = None
    additional_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    email_ccs: list[CcChange] = Field(default_factory=list)
    organization_id: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
