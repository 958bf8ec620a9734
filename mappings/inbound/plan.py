"""What the inbound decisions return: the plan for one ticket and the changes the I/O layer executes in order.

The I/O layer executes an :class:`InboundPlan` in one transaction: it creates the plan's ``follow_up`` case when
there is one, applies the ``changes`` **in order** to the plan's case (or to that new case), then stores the
plan's watermark (``updated_at`` / ``generated_timestamp``) for the ticket (docs/design.md §4).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from mappings.models import Actor, Author, CaseStatus, ChangeKind
from mappings.zendesk import ZAttachment

__all__ = [
    "ChangeStatus",
    "CommentDecision",
    "CommentVerdict",
    "ConflictReason",
    "CreateFollowUpCase",
    "ImportMessage",
    "InboundAction",
    "InboundPlan",
    "RecordConflict",
    "SetCc",
    "StatusDecision",
    "TicketOutcome",
    "WithdrawMessage",
]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CommentDecision(StrEnum):
    """What to do with one comment of a ticket."""

    IMPORT_STAFF = "import_staff"  # a public comment by an agent → a staff message
    IMPORT_USER = "import_user"  # a public comment by an end user (requester or CC, e.g. by email)
    SKIP_ECHO = "skip_echo"  # casesync wrote it
    SKIP_INTERNAL = "skip_internal"  # an internal note: never leaves Zendesk
    WITHDRAW = "withdraw"  # imported earlier, now private: withdraw the message
    SKIP_DUPLICATE = "skip_duplicate"  # already imported (or already withdrawn)
    REFUSE_CLOSED = "refuse_closed"  # a new public comment on a case the console has Closed: a conflict


class CommentVerdict(_Value):
    comment_id: int
    decision: CommentDecision


class CreateFollowUpCase(_Value):
    """Create a console case for a follow-up made in Zendesk; the plan's ``changes`` apply to that new case."""

    kind: Literal["create_follow_up_case"] = "create_follow_up_case"
    account_id: str
    ticket_id: int
    refers_to: int
    subject: str
    requester_zendesk_id: int | None
    organization_id: int | None


class ImportMessage(_Value):
    """Add a message to the case (feed kind ``staff_message`` or ``user_message``)."""

    kind: Literal["import_message"] = "import_message"
    comment_id: int
    author: Author
    author_name: str
    author_zendesk_id: int
    body: str
    created_at: datetime
    attachments: list[ZAttachment] = Field(default_factory=list)
    #: The comment's HTML, sanitized (``mappings.rich_text.message_html``); ``None`` without ``html_body``.
    html: str | None = None

    @property
    def feed_kind(self) -> ChangeKind:
        return ChangeKind.STAFF_MESSAGE if self.author == "staff" else ChangeKind.USER_MESSAGE


class WithdrawMessage(_Value):
    """Withdraw the message imported from this comment (it was made private); feed ``withdrawn_message``."""

    kind: Literal["withdraw_message"] = "withdraw_message"
    comment_id: int


class ChangeStatus(_Value):
    """Set the case's status; ``closed_by``/``reason``/``merged_into`` when it closes; ``feed_kind`` to record."""

    kind: Literal["change_status"] = "change_status"
    status: CaseStatus
    actor: Actor
    reason: str | None = None
    merged_into: int | None = None
    feed_kind: ChangeKind = ChangeKind.STATUS


class SetCc(_Value):
    """Show these addresses as the case's ``cc`` (console addresses and hand-added CCs)."""

    kind: Literal["set_cc"] = "set_cc"
    emails: list[str]


class ConflictReason(StrEnum):
    MOVED_ORGANIZATION = "moved_organization"
    MOVED_REQUESTER = "moved_requester"
    STATUS = "status"
    MESSAGE_AFTER_CLOSE = "message_after_close"


class RecordConflict(_Value):
    """Record a conflict (feed ``conflict``); the I/O layer records a given reason once per ticket."""

    kind: Literal["record_conflict"] = "record_conflict"
    reason: ConflictReason
    detail: str


#: A change to one case; which case is the plan's to say (its ``case_id``, or its ``follow_up``'s new case).
InboundAction = Annotated[
    ImportMessage | WithdrawMessage | ChangeStatus | SetCc | RecordConflict,
    Field(discriminator="kind"),
]


class TicketOutcome(StrEnum):
    APPLY = "apply"  # a linked ticket: execute the actions
    NEW_FOLLOW_UP = "new_follow_up"  # an unlinked follow-up of a managed ticket: a new case, then its changes
    IGNORE_UNMANAGED = "ignore_unmanaged"  # not casesync's ticket
    AWAIT_LINK = "await_link"  # casesync created it but the link is not stored yet: the outbox will link it
    IGNORE_STALE = "ignore_stale"  # older than what was applied
    CONFLICT = "conflict"  # moved across accounts: only the conflict is recorded


class StatusDecision(StrEnum):
    UNCHANGED = "unchanged"
    APPLY = "apply"
    IGNORE_STALE = "ignore_stale"
    DEFER_OUTBOUND = "defer_outbound"  # console changes are in flight; Zendesk's status lags behind
    CONFLICT = "conflict"
    AWAIT_ACTOR = "await_actor"  # closed from Solved by someone the snapshot does not tell: left for the events
    SKIPPED = "skipped"  # not evaluated (unmanaged, awaiting link, moved across accounts)


class InboundPlan(_Value):
    """The decisions for one ticket.

    ``follow_up`` (outcome ``new_follow_up``, ``case_id`` ``None``): the case to create first; ``changes`` then
    apply to it.  Otherwise ``changes`` apply to ``case_id`` (none when it is ``None``).  Then store the
    watermark, unless ``None``.
    """

    ticket_id: int
    case_id: int | None
    outcome: TicketOutcome
    status: StatusDecision
    follow_up: CreateFollowUpCase | None = None
    changes: list[InboundAction] = Field(default_factory=list)
    comments: list[CommentVerdict] = Field(default_factory=list)
    updated_at: datetime | None = None
    generated_timestamp: int | None = None

    @property
    def actions(self) -> list[CreateFollowUpCase | InboundAction]:
        """Everything the plan does, in the order it happens: the follow-up case (if any), then the changes."""
        return [self.follow_up, *self.changes] if self.follow_up is not None else list(self.changes)
