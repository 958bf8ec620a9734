"""Pure decisions for outbox entries: what to write to Zendesk for each console change (DESIGN.md §3).

* ``submit`` → :func:`build_ticket_draft`: subject, the first public comment authored by the requester,
  ``organization_id`` (always explicit), ``external_id`` ``console-case:<n>``, tags ``console_case`` and
  ``console_case_<n>`` (sent as ``tags`` on create, which also replaces the tags a follow-up would inherit from
  its parent), the "Console case" field when configured, CCs = the account's list minus the requester, and
  ``via_followup_source_id`` for a case with ``refers_to``.
* ``reply`` → :func:`build_reply`: one public comment by the requester carrying the marker
  ``{"casesync_message_id": <id>}`` in the update's ``metadata``, the status of the table (``open``; none for a
  New case), and ``console_ack_solved`` added with ``additional_tags`` (never by replacing ``tags``).
* ``close`` → :func:`decide_close`: ``closed``; Zendesk refuses to close an unassigned ticket, so it is
  assigned first.
* after a failure → :func:`decide_after_failure` (e.g. a reply refused because the ticket closed under us
  continues as a follow-up case).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mappings.errors import TooManyRecipients
from mappings.external_ids import (
    ACCOUNT_EXTERNAL_PREFIX,
    CASE_EXTERNAL_PREFIX,
    account_external_id,
    case_external_id,
    parse_account_external_id,
    parse_case_external_id,
    try_parse_case_external_id,
)
from mappings.inbound import MARKER_KEY, marker_message_id
from mappings.models import CaseStatus
from mappings.recipients import MAX_CCS, CcDecision, CcPlan, plan_ccs
from mappings.status import status_for_user_reply
from mappings.zendesk import CcChange, CommentDraft, TicketDraft, TicketUpdateDraft, ZComment, ZTicket

__all__ = [
    "ACCOUNT_EXTERNAL_PREFIX",
    "ACK_TAG",
    "CASE_EXTERNAL_PREFIX",
    "CASE_TAG",
    "MAX_SUBJECT",
    "CloseDecision",
    "ClosePlan",
    "FailureDecision",
    "FailureKind",
    "NewTicket",
    "OutboundKind",
    "ReplyOutbound",
    "ReplyPlan",
    "account_external_id",
    "body_digest",
    "build_reply",
    "build_ticket_draft",
    "case_external_id",
    "case_tags",
    "cc_update",
    "continuation_subject",
    "decide_after_failure",
    "decide_close",
    "find_message_comment",
    "is_closed_prevents_update",
    "message_marker",
    "parse_account_external_id",
    "parse_case_external_id",
    "try_parse_case_external_id",
]

#: Every managed ticket carries this tag and ``console_case_<n>`` (visible and searchable by staff).
CASE_TAG = "console_case"
#: Added to a ticket when the user's reply acknowledges the solution, so staff triggers can act on it.
ACK_TAG = "console_ack_solved"
#: casesync's limit of a subject (also Zendesk's practical one).
MAX_SUBJECT = 255


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def case_tags(case_id: int) -> list[str]:
    """The tags of a managed ticket."""
    return [CASE_TAG, f"{CASE_TAG}_{case_id}"]


def message_marker(message_id: int) -> dict[str, int]:
    """The ``metadata`` of an update that carries a console message (read back as ``ZComment.custom``)."""
    return {MARKER_KEY: message_id}


# --------------------------------------------------------------------------------------------- submit


class NewTicket(_Value):
    """What the outbox knows when it delivers a submitted case.

    ``recipients`` is the account's recipient list at delivery time; ``followup_source_ticket_id`` is the
    ticket of the ``refers_to`` case (it must be closed in Zendesk before the create is sent).
    """

    case_id: int
    subject: str
    body: str
    requester_zendesk_id: int
    requester_email: str | None = None
    organization_id: int
    recipients: list[str] = Field(default_factory=list)
    first_message_id: int | None = None
    uploads: list[str] = Field(default_factory=list)
    console_case_field_id: int | None = None
    followup_source_ticket_id: int | None = None
    priority: str | None = None
    #: The operator's mapped custom fields (``mappings.fields.ticket_custom_fields``).
    mapped_fields: list[dict[str, Any]] = Field(default_factory=list)
    #: When another user of the account wrote the first message (a reply that continues a closed case):
    #: that user's Zendesk id and address; the comment is theirs and they are CC'd, as for a reply.
    first_author_zendesk_id: int | None = None
    first_author_email: str | None = None


def build_ticket_draft(new: NewTicket) -> TicketDraft:
    """The ticket to create for a submitted case (see the module docstring).

    Raises ``TooManyRecipients`` when the CCs would exceed 48 (the API refuses such lists before this).
    """
    plan = plan_ccs(new.recipients, new.requester_email, [], [])
    if plan.decision is CcDecision.CONFLICT:
        raise TooManyRecipients(len(plan.managed) or len(new.recipients), MAX_CCS)
    custom_fields: list[dict[str, object]] = []
    if new.console_case_field_id is not None:
        custom_fields.append({"id": new.console_case_field_id, "value": str(new.case_id)})
    custom_fields.extend(new.mapped_fields)
    author = new.first_author_zendesk_id if new.first_author_zendesk_id is not None else new.requester_zendesk_id
    ccs = list(plan.changes)
    if new.first_author_email and new.first_author_email.lower() not in {c.email.lower() for c in ccs}:
        ccs.append(CcChange(email=new.first_author_email, action="put"))
    return TicketDraft(
        subject=new.subject,
        comment=CommentDraft(body=new.body, public=True, author_id=author, uploads=list(new.uploads)),
        requester_id=new.requester_zendesk_id,
        organization_id=new.organization_id,
        external_id=case_external_id(new.case_id),
        tags=case_tags(new.case_id),
        custom_fields=custom_fields,
        email_ccs=ccs,
        via_followup_source_id=new.followup_source_ticket_id,
        priority=new.priority,
        metadata=message_marker(new.first_message_id) if new.first_message_id is not None else {},
    )


def continuation_subject(subject: str) -> str:
    """The subject of a case that continues a closed one (a reply that arrived after Zendesk closed it)."""
    suffix = " (continued)"
    if subject.endswith(suffix):
        return subject[:MAX_SUBJECT]
    return subject[: MAX_SUBJECT - len(suffix)] + suffix


# --------------------------------------------------------------------------------------------- reply


class ReplyOutbound(_Value):
    """A user's reply to deliver.

    ``status_before`` is the case's status when the user replied (it decides the ticket status, per the
    table); ``impersonate`` selects the Requests API with ``X-On-Behalf-Of`` (DESIGN.md §3 Authorship).
    """

    message_id: int
    body: str
    requester_zendesk_id: int
    status_before: CaseStatus
    acknowledges_solution: bool = False
    uploads: list[str] = Field(default_factory=list)
    impersonate: bool = False
    #: The Zendesk user who wrote it when that is not the requester (another user of the account).
    author_zendesk_id: int | None = None
    #: That author's address, when it is not on the ticket's CCs yet: it is added (see ``ReplyPlan``).
    cc_author_email: str | None = None


class ReplyPlan(_Value):
    """The update to send, tags to add afterwards through the tags endpoint as the agent, and CCs to add first.

    In impersonation mode the Requests API update carries only the comment (Zendesk reopens the ticket
    itself for the user's own update), so the acknowledgement tag goes in ``tags_after``, and a replier who is
    neither the requester nor a CC is added as a CC by the agent first (``ccs_before``): Zendesk lets an end user
    update only a request they are the requester or a CC of.  In the default mode that CC rides on the update.
    A replier is CC'd because Zendesk flags, and keeps private, comments by end users who were not added to the
    ticket, and because only CCs get staff's answer by email (docs/design.md §3 Authorship).
    """

    update: TicketUpdateDraft
    tags_after: list[str] = Field(default_factory=list)
    ccs_before: list[CcChange] = Field(default_factory=list)


def build_reply(reply: ReplyOutbound) -> ReplyPlan:
    """The update for a user's reply; ``TransitionRefused(closed=True)`` if the case was already Closed."""
    status = status_for_user_reply(reply.status_before)
    tags = [ACK_TAG] if reply.acknowledges_solution else []
    ccs = [CcChange(email=reply.cc_author_email, action="put")] if reply.cc_author_email else []
    if reply.impersonate:
        comment = CommentDraft(body=reply.body, public=True, uploads=list(reply.uploads))
        return ReplyPlan(
            update=TicketUpdateDraft(comment=comment, metadata=message_marker(reply.message_id)),
            tags_after=tags,
            ccs_before=ccs,
        )
    author = reply.author_zendesk_id if reply.author_zendesk_id is not None else reply.requester_zendesk_id
    comment = CommentDraft(body=reply.body, public=True, author_id=author, uploads=list(reply.uploads))
    return ReplyPlan(
        update=TicketUpdateDraft(
            comment=comment,
            status=status,
            additional_tags=tags,
            email_ccs=ccs,
            metadata=message_marker(reply.message_id),
        )
    )


def body_digest(body: str) -> str:
    """sha256 of a body with its whitespace collapsed (Zendesk may reflow whitespace of a stored comment)."""
    return hashlib.sha256(" ".join(body.split()).encode("utf-8")).hexdigest()


def find_message_comment(
    comments: Iterable[ZComment],
    message_id: int,
    *,
    author_id: int | None = None,
    body: str | None = None,
    sent_after: datetime | None = None,
    tolerance: timedelta = timedelta(minutes=5),
) -> ZComment | None:
    """After an ambiguous failure: the comment that already carries this console message, if any.

    Matched by the marker first; failing that (impersonated updates), by author, body digest and a time no
    earlier than ``sent_after - tolerance``.  ``None`` means it is safe to post again.
    """
    candidates = list(comments)
    for comment in candidates:
        if marker_message_id(comment.custom) == message_id:
            return comment
    if author_id is None or body is None:
        return None
    digest = body_digest(body)
    for comment in candidates:
        if comment.author_id != author_id or body_digest(comment.body) != digest:
            continue
        if sent_after is None or comment.created_at >= sent_after - tolerance:
            return comment
    return None


# --------------------------------------------------------------------------------------------- close


class CloseDecision(StrEnum):
    CLOSE = "close"  # send ``update``
    ASSIGN_AND_CLOSE = "assign_and_close"  # ``update`` sets the default assignee and closes, in one update
    ASSIGN_FIRST = "assign_first"  # unassigned and no default assignee id known: resolve it, decide again
    ALREADY_CLOSED = "already_closed"  # nothing to send


class ClosePlan(_Value):
    decision: CloseDecision
    update: TicketUpdateDraft | None = None


def decide_close(ticket: ZTicket, default_assignee_id: int | None = None) -> ClosePlan:
    """How to close ``ticket`` for a user's close.

    Zendesk refuses to solve or close a ticket without an assignee, so an unassigned ticket gets the
    configured default agent (``default_assignee_email`` resolved to ``default_assignee_id`` by the I/O layer).
    """
    if ticket.status in ("closed", "deleted"):
        return ClosePlan(decision=CloseDecision.ALREADY_CLOSED)
    if ticket.assignee_id is not None:
        return ClosePlan(decision=CloseDecision.CLOSE, update=TicketUpdateDraft(status="closed"))
    if default_assignee_id is None:
        return ClosePlan(decision=CloseDecision.ASSIGN_FIRST)
    return ClosePlan(
        decision=CloseDecision.ASSIGN_AND_CLOSE,
        update=TicketUpdateDraft(status="closed", assignee_id=default_assignee_id),
    )


# --------------------------------------------------------------------------------------------- CCs


def cc_update(plan: CcPlan) -> TicketUpdateDraft | None:
    """The update that applies a CC plan, or ``None`` when there is nothing to send (unchanged or conflict)."""
    if plan.decision is not CcDecision.UPDATE:
        return None
    return TicketUpdateDraft(email_ccs=list(plan.changes))


# --------------------------------------------------------------------------------------------- failures


class OutboundKind(StrEnum):
    CREATE = "create"
    REPLY = "reply"
    CLOSE = "close"
    CC_UPDATE = "cc_update"
    TAGS = "tags"


class FailureKind(StrEnum):
    TICKET_CLOSED = "ticket_closed"  # 422 "closed prevents ticket update"
    UPDATE_CONFLICT = "update_conflict"  # 409 from a safe update
    AMBIGUOUS = "ambiguous"  # the request may have landed (timeout, reset, lost response)
    NOT_FOUND = "not_found"  # 404: the ticket is gone (deleted)


class FailureDecision(StrEnum):
    CONTINUE_AS_FOLLOW_UP = "continue_as_follow_up"  # a new case referring to the closed one, as a follow-up
    ALREADY_DONE = "already_done"  # the goal holds already: mark delivered
    SKIP_CLOSED_TICKET = "skip_closed_ticket"  # closed tickets are not touched: mark delivered
    REREAD_AND_RETRY = "reread_and_retry"  # re-read the ticket and decide again
    VERIFY_THEN_RETRY = "verify_then_retry"  # look for the message's comment before posting again
    LOOKUP_BY_EXTERNAL_ID = "lookup_by_external_id"  # find the ticket by external_id before creating again
    DEAD_LETTER = "dead_letter"


_FAILURE_TABLE: dict[tuple[OutboundKind, FailureKind], FailureDecision] = {
    (OutboundKind.CREATE, FailureKind.AMBIGUOUS): FailureDecision.LOOKUP_BY_EXTERNAL_ID,
    (OutboundKind.CREATE, FailureKind.UPDATE_CONFLICT): FailureDecision.LOOKUP_BY_EXTERNAL_ID,
    (OutboundKind.REPLY, FailureKind.TICKET_CLOSED): FailureDecision.CONTINUE_AS_FOLLOW_UP,
    (OutboundKind.REPLY, FailureKind.AMBIGUOUS): FailureDecision.VERIFY_THEN_RETRY,
    (OutboundKind.REPLY, FailureKind.UPDATE_CONFLICT): FailureDecision.VERIFY_THEN_RETRY,
    (OutboundKind.CLOSE, FailureKind.TICKET_CLOSED): FailureDecision.ALREADY_DONE,
    (OutboundKind.CLOSE, FailureKind.AMBIGUOUS): FailureDecision.REREAD_AND_RETRY,
    (OutboundKind.CLOSE, FailureKind.UPDATE_CONFLICT): FailureDecision.REREAD_AND_RETRY,
    (OutboundKind.CC_UPDATE, FailureKind.TICKET_CLOSED): FailureDecision.SKIP_CLOSED_TICKET,
    (OutboundKind.CC_UPDATE, FailureKind.AMBIGUOUS): FailureDecision.REREAD_AND_RETRY,
    (OutboundKind.CC_UPDATE, FailureKind.UPDATE_CONFLICT): FailureDecision.REREAD_AND_RETRY,
    (OutboundKind.CC_UPDATE, FailureKind.NOT_FOUND): FailureDecision.SKIP_CLOSED_TICKET,
    (OutboundKind.TAGS, FailureKind.AMBIGUOUS): FailureDecision.REREAD_AND_RETRY,
    (OutboundKind.TAGS, FailureKind.UPDATE_CONFLICT): FailureDecision.REREAD_AND_RETRY,
}


def decide_after_failure(kind: OutboundKind, failure: FailureKind) -> FailureDecision:
    """What an outbox entry does after a failure that re-deciding can fix; anything else is a dead letter.

    Notably a reply refused because Zendesk closed the ticket (its auto-close, staff) is neither lost nor
    forced in: it continues as a new case referring to the closed one (a Zendesk follow-up).  Tags may be
    added to a closed ticket, so a tag write is not re-routed.
    """
    return _FAILURE_TABLE.get((OutboundKind(kind), FailureKind(failure)), FailureDecision.DEAD_LETTER)


def is_closed_prevents_update(status: int | None, body: str | bytes | Sequence[str]) -> bool:
    """Whether an error answer is Zendesk's "closed prevents ticket update" (a 422, matched anywhere in the
    body: its exact key path varies)."""
    if status != 422:
        return False
    if isinstance(body, bytes):
        text = body.decode("utf-8", "replace")
    elif isinstance(body, str):
        text = body
    else:
        text = " ".join(body)
    return "closed prevents ticket update" in text.lower()
