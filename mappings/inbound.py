"""Pure decisions for applying Zendesk's state of one ticket to the console (docs/design.md §3, §4).

The I/O layer gathers, for one ticket: the console's view of its case (:class:`CaseView`, or ``None`` when the
ticket is not linked), the ticket snapshot, its comments, what it already knows about those comments
(:class:`CommentLedger`) and the lookups in :class:`InboundContext`.  :func:`decide_ticket` returns an
:class:`InboundPlan` whose ``actions`` the I/O layer executes **in order**, in one transaction, then stores the
plan's watermark (``updated_at`` / ``generated_timestamp``) for the ticket.

What the decisions guarantee:

* internal notes never become messages (nor their attachments); a previously imported comment that is now
  private is withdrawn, whatever else the snapshot is (stale, or moved to another account);
* comments casesync wrote (known comment id, or the ``casesync_message_id`` marker) are never imported (no echo),
  and a comment already imported is never imported twice;
* a snapshot older than the last one applied changes nothing (order, docs/design.md §4.10);
* a ticket moved to another account's organization or requester moves nothing: a conflict is recorded and no
  comment of that ticket is imported any more (tenant isolation, §4.8);
* Zendesk's follow-ups of managed tickets become new cases referring to the source's case; merges and deletions
  close the case with actor ``system`` and a reason; tickets casesync does not manage are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mappings.errors import MissingAuthor, TransitionRefused
from mappings.external_ids import try_parse_case_external_id
from mappings.lifecycle import SystemCloseReason, Transition, apply_staff_status, apply_system_close
from mappings.models import Actor, Author, CaseStatus, ChangeKind
from mappings.references import translate_references
from mappings.rich_text import message_html
from mappings.status import DELETED, status_from_zendesk
from mappings.zendesk import ZAttachment, ZComment, ZTicket, ZUser

__all__ = [
    "MARKER_KEY",
    "MERGE_TAG",
    "RULE_CHANNEL",
    "STAFF_ROLES",
    "SYSTEM_UPDATER_ID",
    "CaseView",
    "ChangeStatus",
    "CommentDecision",
    "CommentLedger",
    "CommentVerdict",
    "ConflictReason",
    "CreateFollowUpCase",
    "ImportMessage",
    "InboundAction",
    "InboundContext",
    "InboundPlan",
    "RecordConflict",
    "SetCc",
    "StaffNameStyle",
    "StaffNames",
    "StatusDecision",
    "TicketOutcome",
    "WithdrawMessage",
    "assumed_close_actor",
    "decide_comment",
    "decide_ticket",
    "find_merge_target",
    "is_stale",
    "marker_message_id",
    "staff_display_name",
    "status_actor",
    "user_display_name",
]

#: The key of casesync's marker in an update's ``metadata`` (read back as ``ZComment.custom``).
MARKER_KEY = "casesync_message_id"

#: The tag Zendesk puts on a ticket closed by a merge.
MERGE_TAG = "closed_by_merge"

#: The ``updater_id`` of the updates Zendesk makes itself (automations such as the auto-close of solved tickets).
SYSTEM_UPDATER_ID = -1

#: The channel of updates made by business rules (automations and triggers).
RULE_CHANNEL = "rule"

#: Zendesk roles whose public comments are staff messages.
STAFF_ROLES: frozenset[str] = frozenset({"agent", "admin"})

# Zendesk's merge comments read "... was closed and merged into request #N" (or "ticket #N").
_MERGED_INTO_RE = re.compile(r"merged\s+into\s+(?:this\s+)?(?:request|ticket)?\s*#(\d+)", re.IGNORECASE)


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------------------------- names


class StaffNameStyle(StrEnum):
    """How a staff message's author is shown to the console user (a setting)."""

    FIRST_NAME = "first_name"
    FULL_NAME = "full_name"
    TEAM = "team"


class StaffNames(_Value):
    """The staff-name setting: the style, and the fixed name used by ``team`` (and as a last resort)."""

    style: StaffNameStyle = StaffNameStyle.FIRST_NAME
    team_name: str = "Support"


def staff_display_name(agent: ZUser | None, names: StaffNames | None = None) -> str:
    """The name shown for a staff message: the agent's first name (default), full name, or the team name."""
    names = names or StaffNames()
    full = (agent.name if agent else "").strip()
    if names.style is StaffNameStyle.TEAM or not full:
        return names.team_name
    if names.style is StaffNameStyle.FULL_NAME:
        return full
    return full.split()[0]


def user_display_name(user: ZUser) -> str:
    """The name shown for an end user's message written in Zendesk: their name, else their address."""
    return user.name.strip() or (user.email or "").strip() or "user"


# --------------------------------------------------------------------------------------------- comments


class CommentDecision(StrEnum):
    """What to do with one comment of a ticket."""

    IMPORT_STAFF = "import_staff"  # a public comment by an agent → a staff message
    IMPORT_USER = "import_user"  # a public comment by an end user (requester or CC, e.g. by email)
    SKIP_ECHO = "skip_echo"  # casesync wrote it
    SKIP_INTERNAL = "skip_internal"  # an internal note: never leaves Zendesk
    WITHDRAW = "withdraw"  # imported earlier, now private: withdraw the message
    SKIP_DUPLICATE = "skip_duplicate"  # already imported (or already withdrawn)
    REFUSE_CLOSED = "refuse_closed"  # a new public comment on a case the console has Closed: a conflict


class CommentLedger(_Value):
    """What the store knows about a ticket's comments.

    ``imported``: comment ids that became console messages; ``withdrawn``: those of them withdrawn since;
    ``written``: comment ids of casesync's own comments (recorded from the create/update audit);
    ``private``: comments the event export reported made private before any message came from them (a
    comment list read earlier may still show them public: they are never imported).
    """

    imported: frozenset[int] = frozenset()
    withdrawn: frozenset[int] = frozenset()
    written: frozenset[int] = frozenset()
    private: frozenset[int] = frozenset()


def marker_message_id(custom: Mapping[str, Any]) -> int | None:
    """The console message id in casesync's marker (``metadata.custom``), or ``None`` when absent."""
    value = custom.get(MARKER_KEY)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def decide_comment(comment: ZComment, ledger: CommentLedger, author: ZUser | None) -> CommentDecision:
    """Decide one comment, ignoring the case's status (see :func:`decide_ticket` for Closed cases).

    The author is needed only for a comment to import; ``MissingAuthor`` is raised when it is missing then.
    """
    # Echo first: casesync's own comments are never imported, whether public or not.
    if comment.id in ledger.written or MARKER_KEY in comment.custom:
        return CommentDecision.SKIP_ECHO
    # Zendesk has no way back from private (only ``make_private``): news that a comment is private always wins.
    public = comment.public and comment.id not in ledger.private
    if comment.id in ledger.imported:
        if not public and comment.id not in ledger.withdrawn:
            return CommentDecision.WITHDRAW
        return CommentDecision.SKIP_DUPLICATE
    if not public:
        return CommentDecision.SKIP_INTERNAL
    if author is None:
        raise MissingAuthor(comment.id, comment.author_id)
    return CommentDecision.IMPORT_STAFF if author.role in STAFF_ROLES else CommentDecision.IMPORT_USER


class CommentVerdict(_Value):
    comment_id: int
    decision: CommentDecision


# --------------------------------------------------------------------------------------------- inputs


class CaseView(_Value):
    """The console's side of a linked ticket, as the store holds it.

    ``organization_id`` / ``requester_zendesk_id`` are what the ticket had when linked (the account's
    organization and the requester's Zendesk user).  ``last_updated_at`` / ``last_generated_timestamp`` are
    the watermark of the last snapshot applied.  ``pending_outbound`` is true while console changes of this
    case wait in the outbox: Zendesk's status then lags behind the console's and is not applied.
    """

    case_id: int
    account_id: str
    ticket_id: int
    status: CaseStatus
    organization_id: int | None = None
    requester_zendesk_id: int | None = None
    cc: list[str] = Field(default_factory=list)
    last_updated_at: datetime | None = None
    last_generated_timestamp: int | None = None
    pending_outbound: bool = False


class InboundContext(_Value):
    """Lookups the I/O layer supplies with a ticket.

    * ``users``: Zendesk users by id — every comment author to import and every CC (sideload them);
    * ``ticket_cases``: ticket id → case number, **restricted to the case's account** (references, merges);
    * ``organization_account_id``: the console account whose organization the ticket is in now (``None``:
      no console account);
    * ``requester_account_ids``: the console accounts the ticket's current requester belongs to;
    * ``followup_source_case``: for an unlinked ticket with ``followup_source_id``, the case of that source
      ticket (``None`` when the source is not managed);
    * ``status_changed_by``: who changed the status when the export's events tell (:func:`status_actor`);
      ``None`` → a close of a Solved case is taken as Zendesk's auto-close, any other change as staff's —
      unless ``await_close_actor``, when such a close is left for a later apply that knows the actor
      (the plan then applies everything else and stores no watermark);
    * ``merge_target_ticket_id``: the ticket a merged ticket went into, when known (else read from comments).
    """

    users: dict[int, ZUser] = Field(default_factory=dict)
    ticket_cases: dict[int, int] = Field(default_factory=dict)
    staff_names: StaffNames = Field(default_factory=StaffNames)
    zendesk_host: str | None = None
    organization_account_id: str | None = None
    requester_account_ids: frozenset[str] = frozenset()
    followup_source_case: CaseView | None = None
    status_changed_by: Literal["staff", "system"] | None = None
    await_close_actor: bool = False
    merge_target_ticket_id: int | None = None


# --------------------------------------------------------------------------------------------- actions


class CreateFollowUpCase(_Value):
    """Create a console case for a follow-up made in Zendesk; the actions after it apply to that new case."""

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


InboundAction = Annotated[
    CreateFollowUpCase | ImportMessage | WithdrawMessage | ChangeStatus | SetCc | RecordConflict,
    Field(discriminator="kind"),
]


class TicketOutcome(StrEnum):
    APPLY = "apply"  # a linked ticket: execute the actions
    NEW_FOLLOW_UP = "new_follow_up"  # an unlinked follow-up of a managed ticket: a new case, then its actions
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
    """The decisions for one ticket.  Execute ``actions`` in order; then store the watermark, unless ``None``."""

    ticket_id: int
    case_id: int | None
    outcome: TicketOutcome
    status: StatusDecision
    actions: list[InboundAction] = Field(default_factory=list)
    comments: list[CommentVerdict] = Field(default_factory=list)
    updated_at: datetime | None = None
    generated_timestamp: int | None = None


# --------------------------------------------------------------------------------------------- helpers


def is_stale(case: CaseView, ticket: ZTicket) -> bool:
    """Whether ``ticket`` is older than the last snapshot applied to ``case`` (equal is not stale)."""
    if case.last_generated_timestamp is not None and ticket.generated_timestamp is not None:
        return ticket.generated_timestamp < case.last_generated_timestamp
    if case.last_updated_at is not None and ticket.updated_at is not None:
        return ticket.updated_at < case.last_updated_at
    return False


def find_merge_target(ticket: ZTicket, comments: Sequence[ZComment], hint: int | None = None) -> int | None:
    """The ticket a merged ticket went into: ``hint`` when known, else the last merge comment's ``#N``."""
    if hint is not None:
        return hint
    target: int | None = None
    for comment in comments:
        match = _MERGED_INTO_RE.search(comment.body)
        if match and int(match.group(1)) != ticket.id:
            target = int(match.group(1))
    return target


def _ownership_conflict(
    account_id: str,
    organization_id: int | None,
    requester_zendesk_id: int | None,
    ticket: ZTicket,
    context: InboundContext,
) -> RecordConflict | None:
    # Details name tickets, never another account's id or case numbers.
    if (
        organization_id is not None
        and ticket.organization_id != organization_id
        and context.organization_account_id != account_id
    ):
        return RecordConflict(
            reason=ConflictReason.MOVED_ORGANIZATION,
            detail=f"ticket #{ticket.id} was moved to an organization outside this account; the case stays",
        )
    if (
        requester_zendesk_id is not None
        and ticket.requester_id != requester_zendesk_id
        and account_id not in context.requester_account_ids
    ):
        return RecordConflict(
            reason=ConflictReason.MOVED_REQUESTER,
            detail=f"ticket #{ticket.id} was given a requester outside this account; the case stays",
        )
    return None


def status_actor(updater_id: int | None, via_channel: str | None) -> Literal["staff", "system"]:
    """Who made a ticket update, from the ticket-event export's ``updater_id`` and channel: Zendesk itself
    (``-1``, e.g. the automation that closes solved tickets) or a business rule (channel ``rule``) is
    ``system``; anything else is a person in Zendesk, i.e. ``staff``."""
    if updater_id == SYSTEM_UPDATER_ID or (via_channel or "").strip().lower() == RULE_CHANNEL:
        return "system"
    return "staff"


def assumed_close_actor(before: CaseStatus) -> Literal["staff", "system"]:
    """Who closed a ticket when no event says: Zendesk's auto-close closes solved tickets only, so a close
    straight from Solved is taken for it (``system``); a ticket closed from any other status was closed by
    a person in Zendesk (``staff``)."""
    return "system" if CaseStatus(before) is CaseStatus.SOLVED else "staff"


def _status_actor(before: CaseStatus, context: InboundContext) -> Literal["staff", "system"]:
    if context.status_changed_by is not None:
        return context.status_changed_by
    return assumed_close_actor(before)


def _decide_status(
    status: CaseStatus,
    ticket: ZTicket,
    comments: Sequence[ZComment],
    pending_outbound: bool,
    context: InboundContext,
) -> tuple[StatusDecision, list[InboundAction]]:
    target = status_from_zendesk(ticket.status)
    if status is CaseStatus.CLOSED:
        if target is CaseStatus.CLOSED:
            return StatusDecision.UNCHANGED, []
        if pending_outbound:
            return StatusDecision.DEFER_OUTBOUND, []
        return StatusDecision.CONFLICT, [
            RecordConflict(
                reason=ConflictReason.STATUS,
                detail=f"the case is Closed but ticket #{ticket.id} is {ticket.status}",
            )
        ]
    # A ticket closed in Zendesk is final there, so it is applied even while console changes are queued
    # (a queued reply then continues as a follow-up case).
    if pending_outbound and target is not CaseStatus.CLOSED:
        return StatusDecision.DEFER_OUTBOUND, []

    merged_into: int | None = None
    feed = ChangeKind.STATUS
    transition: Transition
    try:
        if ticket.status == DELETED:
            transition = apply_system_close(status, SystemCloseReason.DELETED)
            feed = ChangeKind.CLOSED_BY_SYSTEM
        elif target is CaseStatus.CLOSED and MERGE_TAG in ticket.tags:
            transition = apply_system_close(status, SystemCloseReason.MERGED)
            target_ticket = find_merge_target(ticket, comments, context.merge_target_ticket_id)
            # Only a target of the same account is named; any other stays unnamed.
            merged_into = context.ticket_cases.get(target_ticket) if target_ticket is not None else None
            feed = ChangeKind.MERGED
        elif (
            target is CaseStatus.CLOSED
            and status is CaseStatus.SOLVED
            and context.status_changed_by is None
            and context.await_close_actor
        ):
            # Staff's close and Zendesk's auto-close look the same on the ticket: only the export's events tell.
            return StatusDecision.AWAIT_ACTOR, []
        elif target is CaseStatus.CLOSED and _status_actor(status, context) == "system":
            transition = apply_system_close(status, SystemCloseReason.AUTO_CLOSED)
            feed = ChangeKind.CLOSED_BY_SYSTEM
        else:
            transition = apply_staff_status(status, target)
    except TransitionRefused as refused:
        return StatusDecision.CONFLICT, [
            RecordConflict(
                reason=ConflictReason.STATUS,
                detail=f"ticket #{ticket.id} is {ticket.status}, not applicable to a {status.value} case: {refused}",
            )
        ]
    if not transition.changed:
        return StatusDecision.UNCHANGED, []
    return StatusDecision.APPLY, [
        ChangeStatus(
            status=transition.after,
            actor=transition.actor,
            reason=transition.reason,
            merged_into=merged_into,
            feed_kind=feed,
        )
    ]


def _cc_emails(ticket: ZTicket, current: Sequence[str], context: InboundContext) -> list[str] | None:
    """The ticket's CC addresses, keeping the case's known order first; ``None`` if a CC user is missing."""
    emails: list[str] = []
    for cc_id in ticket.email_cc_ids:
        user = context.users.get(cc_id)
        if user is None or not user.email:
            return None  # not supplied: keep what the case shows rather than guess
        emails.append(user.email.strip().lower())
    wanted = set(emails)
    kept = [email for email in current if email.lower() in wanted]
    kept_set = {email.lower() for email in kept}
    return [*kept, *(email for email in dict.fromkeys(emails) if email not in kept_set)]


def _withdrawals(comments: Sequence[ZComment], ledger: CommentLedger) -> list[InboundAction]:
    """Withdraw every imported message whose comment is private now.

    Zendesk has no way back from private (only ``make_private``), so this holds whatever else the snapshot is: stale
    (a comment list read before a newer snapshot was applied still tells the truth about privacy), or of a
    ticket moved to another account (withdrawing moves nothing across accounts).
    """
    return [
        WithdrawMessage(comment_id=c.id)
        for c in sorted(comments, key=lambda c: (c.created_at, c.id))
        if c.id in ledger.imported and c.id not in ledger.withdrawn and not (c.public and c.id not in ledger.private)
    ]


def _conflict_plan(
    ticket: ZTicket,
    case_id: int,
    conflict: RecordConflict,
    *,
    watermark: bool,
    withdrawals: Sequence[InboundAction] = (),
) -> InboundPlan:
    """The plan of a ticket whose ownership conflicts: the conflict is recorded, and nothing else applies but
    the withdrawal of comments made private."""
    return InboundPlan(
        ticket_id=ticket.id,
        case_id=case_id,
        outcome=TicketOutcome.CONFLICT,
        status=StatusDecision.SKIPPED,
        actions=[*withdrawals, conflict],
        updated_at=ticket.updated_at if watermark else None,
        generated_timestamp=ticket.generated_timestamp if watermark else None,
    )


# --------------------------------------------------------------------------------------------- decide


def decide_ticket(
    case: CaseView | None,
    ticket: ZTicket,
    comments: Sequence[ZComment],
    ledger: CommentLedger | None = None,
    context: InboundContext | None = None,
) -> InboundPlan:
    """Decide what one ticket snapshot and its comments change on the console.

    ``case`` is the linked case, or ``None`` for a ticket with no link.  Raises ``UnknownZendeskStatus`` for a
    status outside the table (dead-letter the ticket) and ``MissingAuthor`` when a comment to import has no
    user in ``context.users``.
    """
    ledger = ledger or CommentLedger()
    context = context or InboundContext()
    actions: list[InboundAction] = []
    outcome = TicketOutcome.APPLY

    if case is None:
        source = context.followup_source_case
        own_number = try_parse_case_external_id(ticket.external_id)
        is_followup = (
            ticket.followup_source_id is not None
            and source is not None
            and source.ticket_id == ticket.followup_source_id
        )
        if source is not None and is_followup and own_number in (None, source.case_id):
            # A follow-up made in Zendesk (it may carry the source's inherited external id).
            status_from_zendesk(ticket.status)  # an unknown status is an error before anything is created
            conflict = _ownership_conflict(
                source.account_id, source.organization_id, source.requester_zendesk_id, ticket, context
            )
            if conflict is not None:
                # No case exists for it yet: nothing of the ticket is watermarked.
                return _conflict_plan(ticket, source.case_id, conflict, watermark=False)
            actions.append(
                CreateFollowUpCase(
                    account_id=source.account_id,
                    ticket_id=ticket.id,
                    refers_to=source.case_id,
                    subject=ticket.subject,
                    requester_zendesk_id=ticket.requester_id,
                    organization_id=ticket.organization_id,
                )
            )
            outcome = TicketOutcome.NEW_FOLLOW_UP
            case = CaseView(
                case_id=0,  # assigned by the store when the action above runs
                account_id=source.account_id,
                ticket_id=ticket.id,
                status=CaseStatus.NEW,
                organization_id=ticket.organization_id,
                requester_zendesk_id=ticket.requester_id,
            )
        else:
            # casesync's own ticket not linked yet (a lost create response) is linked by the outbox, not here.
            waiting = own_number is not None
            return InboundPlan(
                ticket_id=ticket.id,
                case_id=None,
                outcome=TicketOutcome.AWAIT_LINK if waiting else TicketOutcome.IGNORE_UNMANAGED,
                status=StatusDecision.SKIPPED,
            )
    else:
        status_from_zendesk(ticket.status)
        if is_stale(case, ticket):
            return InboundPlan(
                ticket_id=ticket.id,
                case_id=case.case_id,
                outcome=TicketOutcome.IGNORE_STALE,
                status=StatusDecision.IGNORE_STALE,
                actions=_withdrawals(comments, ledger),
            )
        conflict = _ownership_conflict(
            case.account_id, case.organization_id, case.requester_zendesk_id, ticket, context
        )
        if conflict is not None:
            return _conflict_plan(
                ticket, case.case_id, conflict, watermark=True, withdrawals=_withdrawals(comments, ledger)
            )

    verdicts: list[CommentVerdict] = []
    refused_after_close = 0
    for comment in sorted(comments, key=lambda c: (c.created_at, c.id)):
        decision = decide_comment(comment, ledger, context.users.get(comment.author_id))
        if decision in (CommentDecision.IMPORT_STAFF, CommentDecision.IMPORT_USER):
            if case.status is CaseStatus.CLOSED:
                # Closed is final: the message is not added, and the disagreement is made visible.
                decision = CommentDecision.REFUSE_CLOSED
                refused_after_close += 1
            else:
                author = context.users[comment.author_id]
                staff = decision is CommentDecision.IMPORT_STAFF
                actions.append(
                    ImportMessage(
                        comment_id=comment.id,
                        author="staff" if staff else "user",
                        author_name=(
                            staff_display_name(author, context.staff_names) if staff else user_display_name(author)
                        ),
                        author_zendesk_id=author.id,
                        body=(
                            translate_references(comment.body, context.ticket_cases, zendesk_host=context.zendesk_host)
                            if staff
                            else comment.body
                        ),
                        created_at=comment.created_at,
                        attachments=list(comment.attachments),
                        html=message_html(
                            comment,
                            ticket_cases=context.ticket_cases if staff else None,
                            zendesk_host=context.zendesk_host,
                        ),
                    )
                )
        elif decision is CommentDecision.WITHDRAW:
            actions.append(WithdrawMessage(comment_id=comment.id))
        verdicts.append(CommentVerdict(comment_id=comment.id, decision=decision))
    if refused_after_close:
        actions.append(
            RecordConflict(
                reason=ConflictReason.MESSAGE_AFTER_CLOSE,
                detail=f"{refused_after_close} public comment(s) on ticket #{ticket.id} after the case was Closed",
            )
        )

    status_decision, status_actions = _decide_status(case.status, ticket, comments, case.pending_outbound, context)
    actions.extend(status_actions)

    if case.status is not CaseStatus.CLOSED:
        emails = _cc_emails(ticket, case.cc, context)
        if emails is not None and emails != list(case.cc):
            actions.append(SetCc(emails=emails))

    # A close left for later keeps the watermark where it was, so that the snapshot is applied again.
    watermark = status_decision is not StatusDecision.AWAIT_ACTOR
    return InboundPlan(
        ticket_id=ticket.id,
        case_id=None if outcome is TicketOutcome.NEW_FOLLOW_UP else case.case_id,
        outcome=outcome,
        status=status_decision,
        actions=actions,
        comments=verdicts,
        updated_at=ticket.updated_at if watermark else None,
        generated_timestamp=ticket.generated_timestamp if watermark else None,
    )
