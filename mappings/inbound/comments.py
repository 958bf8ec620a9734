"""Which comments of a ticket become console messages, which are withdrawn, and which are never imported.

* internal notes never become messages (nor their attachments); a previously imported comment that is now
  private is withdrawn;
* comments casesync wrote (known comment id, or the ``casesync_message_id`` marker) are never imported (no
  echo), and a comment already imported is never imported twice;
* a new public comment on a case the console has Closed is refused and recorded as a conflict
  (docs/design.md §3, §4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mappings.errors import MissingAuthor
from mappings.inbound.inputs import CommentLedger, InboundContext
from mappings.inbound.names import staff_display_name, user_display_name
from mappings.inbound.plan import (
    CommentDecision,
    CommentVerdict,
    ConflictReason,
    ImportMessage,
    InboundAction,
    RecordConflict,
    WithdrawMessage,
)
from mappings.references import translate_references
from mappings.rich_text import message_html
from mappings.zendesk import ZComment, ZUser

__all__ = [
    "MARKER_KEY",
    "STAFF_ROLES",
    "decide_comment",
    "decide_comments",
    "marker_message_id",
    "withdrawals",
]

#: The key of casesync's marker in an update's ``metadata`` (read back as ``ZComment.custom``).
MARKER_KEY = "casesync_message_id"

#: Zendesk roles whose public comments are staff messages.
STAFF_ROLES: frozenset[str] = frozenset({"agent", "admin"})


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
    """Decide one comment, ignoring the case's status (see :func:`decide_comments` for Closed cases).

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


def withdrawals(comments: Sequence[ZComment], ledger: CommentLedger) -> list[InboundAction]:
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


def _import_message(comment: ZComment, author: ZUser, *, staff: bool, context: InboundContext) -> ImportMessage:
    return ImportMessage(
        comment_id=comment.id,
        author="staff" if staff else "user",
        author_name=staff_display_name(author, context.staff_names) if staff else user_display_name(author),
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


def decide_comments(
    ticket_id: int,
    comments: Sequence[ZComment],
    ledger: CommentLedger,
    context: InboundContext,
    *,
    case_closed: bool,
) -> tuple[list[InboundAction], list[CommentVerdict]]:
    """The message actions of a ticket's comments, oldest first, and the verdict on each comment.

    On a Closed case a comment to import is refused instead (Closed is final), and one conflict counts them.
    """
    actions: list[InboundAction] = []
    verdicts: list[CommentVerdict] = []
    refused_after_close = 0
    for comment in sorted(comments, key=lambda c: (c.created_at, c.id)):
        decision = decide_comment(comment, ledger, context.users.get(comment.author_id))
        if decision in (CommentDecision.IMPORT_STAFF, CommentDecision.IMPORT_USER):
            if case_closed:
                # Closed is final: the message is not added, and the disagreement is made visible.
                decision = CommentDecision.REFUSE_CLOSED
                refused_after_close += 1
            else:
                staff = decision is CommentDecision.IMPORT_STAFF
                actions.append(_import_message(comment, context.users[comment.author_id], staff=staff, context=context))
        elif decision is CommentDecision.WITHDRAW:
            actions.append(WithdrawMessage(comment_id=comment.id))
        verdicts.append(CommentVerdict(comment_id=comment.id, decision=decision))
    if refused_after_close:
        actions.append(
            RecordConflict(
                reason=ConflictReason.MESSAGE_AFTER_CLOSE,
                detail=f"{refused_after_close} public comment(s) on ticket #{ticket_id} after the case was Closed",
            )
        )
    return actions, verdicts
