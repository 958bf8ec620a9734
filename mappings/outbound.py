"""Pure decisions for outbox entries: what to write to Zendesk for each console change (docs/design.md §3).

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

What happens after a failed write is decided where the write is made (:mod:`sync.outbound.cases`), from the
error classes of :mod:`sync.errors`: a reply refused because the ticket closed under us continues as a new case
that refers to the closed one, a close of a ticket already closed is done, and an answer that may have been
lost is looked for in Zendesk before anything is written again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
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
from mappings.recipients import MAX_CCS, CcDecision, plan_ccs
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
    "NewTicket",
    "ReplyOutbound",
    "ReplyPlan",
    "account_external_id",
    "body_digest",
    "build_reply",
    "build_ticket_draft",
    "case_external_id",
    "case_tags",
    "continuation_subject",
    "decide_close",
    "find_message_comment",
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
    table); ``impersonate`` selects the Requests API with ``X-On-Behalf-Of`` (docs/design.md §3 Authorship).
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
