"""The store writes of the inbound actions (``mappings.inbound``) that take more than one call.

:class:`sync.inbound.apply.TicketApplier` runs them in the plan's order inside its transaction; the settling of
events (``sync.inbound.settle``) withdraws comments with :func:`withdraw_comment` too.
"""

from __future__ import annotations

from mappings.inbound import (
    ChangeStatus,
    CreateFollowUpCase,
    ImportMessage,
    InboundPlan,
    RecordConflict,
    SetCc,
    WithdrawMessage,
)
from mappings.models import CaseStatus, ChangeKind
from mappings.rich_text import imported_attachment_id
from sync.errors import RetriableError
from sync.store import StoreTx, account_key
from sync.store.kv_keys import FORMER_RECIPIENTS
from sync.store.outbox_payloads import RepairCcsPayload, enqueue

__all__ = ["apply_changes", "change_status", "create_follow_up_case", "import_message", "withdraw_comment"]


def withdraw_comment(tx: StoreTx, comment_id: int, *, case_id: int | None = None, ticket_id: int | None = None) -> bool:
    """Withdraw the console message imported from ``comment_id`` (made private in Zendesk), with its feed entry.

    Only a message imported from Zendesk, of ``case_id`` / of the case linked to ``ticket_id`` when given;
    ``False`` when there is none or it is withdrawn already.
    """
    message = tx.message_by_comment(comment_id)
    if message is None or message.withdrawn or message.origin == "console":
        return False
    if case_id is not None and message.case_id != case_id:
        return False
    record = tx.get_case(message.case_id)
    if record is None or (ticket_id is not None and record.ticket_id != ticket_id):
        return False
    tx.withdraw_message(message.id)
    tx.append_change(record.account_id, record.id, ChangeKind.WITHDRAWN_MESSAGE, f"message {message.id}")
    return True


def create_follow_up_case(tx: StoreTx, action: CreateFollowUpCase) -> int:
    """Create, link and announce the case of a follow-up made in Zendesk; its number."""
    source_case = tx.get_case(action.refers_to)
    requester = source_case.requester_id if source_case else ""
    if action.requester_zendesk_id is not None:
        same = [u for u in tx.users_by_zendesk_id(action.requester_zendesk_id) if u.account_id == action.account_id]
        if same:
            requester = same[0].user_id
    number = tx.next_case_number()
    subject = action.subject or "(no subject)"
    tx.create_case(number, action.account_id, requester, subject, refers_to=action.refers_to)
    tx.link_ticket(number, action.ticket_id)
    tx.append_change(action.account_id, number, ChangeKind.LINKED_CASE, f"follow-up of case #{action.refers_to}")
    # Zendesk made the ticket (an email to a closed ticket): it carries the parent's CCs, not the account's
    # list as it is now, so the outbox brings them in line.  What casesync put on the parent counts as its
    # own: the parent case's ``cc`` and, because that may lag behind the ticket, every address of the
    # account's console users and every address that left its list — all but the colleagues CC'd for
    # replying on the parent, who stay CC'd as on any ticket they wrote on.  The closed case's ``cc`` holds
    # the addresses staff CC'd by hand on the closed ticket too: they go as well.
    previously_managed: tuple[str, ...] = ()
    if source_case is not None:
        repliers = _writers(tx, source_case.account_id, source_case.id)
        ours = [
            *source_case.cc,
            *(u.email for u in tx.users(source_case.account_id)),
            *(FORMER_RECIPIENTS.get(tx, source_case.account_id) or ()),
        ]
        previously_managed = tuple(dict.fromkeys(a.lower() for a in ours if a and a.lower() not in repliers))
    enqueue(
        tx,
        RepairCcsPayload(
            account_id=action.account_id, ticket_ids=(action.ticket_id,), previously_managed=previously_managed
        ),
        ordering_key=account_key(action.account_id),
        account_id=action.account_id,
    )
    return number


def _writers(tx: StoreTx, account_id: str, case_id: int) -> set[str]:
    """The addresses (lower-case) of the console users who wrote messages on the case."""
    emails = {u.user_id: u.email.lower() for u in tx.users(account_id)}
    return {emails[m.user_id] for m in tx.case_messages(case_id) if m.user_id in emails}


def import_message(
    tx: StoreTx, case_id: int, account_id: str, action: ImportMessage, downloads: dict[int, bytes]
) -> None:
    """Add the comment's message with its downloaded attachments, once, and its feed entry."""
    if tx.message_by_comment(action.comment_id) is not None:
        return  # already imported (a concurrent apply): exactly once
    # An end user's comment written by a console user of this account (an email reply) is theirs.
    writers = tx.users_by_zendesk_id(action.author_zendesk_id) if action.author == "user" else []
    message = tx.add_message(
        case_id,
        action.author,
        action.author_name,
        action.body,
        origin="zendesk",
        zendesk_comment_id=action.comment_id,
        created_at=action.created_at,
        html=action.html,
        user_id=next((u.user_id for u in writers if u.account_id == account_id), None),
    )
    for attachment in action.attachments:
        data = downloads.get(attachment.id)
        if data is None:
            # The plan changed between the two decisions: let the caller retry with fresh downloads.
            raise RetriableError(f"attachment {attachment.id} of comment {action.comment_id} not downloaded")
        tx.add_attachment(
            message.id,
            attachment.file_name,
            attachment.content_type,
            data,
            zendesk_attachment_id=attachment.id,
            inline=attachment.inline,
            # The message's HTML names its inline images by this id already.
            attachment_id=imported_attachment_id(attachment.id) if attachment.inline else None,
        )
    tx.append_change(account_id, case_id, action.feed_kind, f"message {message.id} from {action.author_name}")


def change_status(tx: StoreTx, case_id: int, account_id: str, action: ChangeStatus) -> None:
    """Set the case's status (and who closed it, why, and into what it was merged), with its feed entry."""
    closing = action.status is CaseStatus.CLOSED
    tx.set_case_status(case_id, action.status, closed_by=action.actor if closing else None, reason=action.reason)
    if action.merged_into is not None:
        tx.set_case_refs(case_id, merged_into=action.merged_into)
    detail = action.status.value + (f": {action.reason}" if action.reason else "")
    if action.merged_into is not None:
        detail += f" (merged into case #{action.merged_into})"
    tx.append_change(account_id, case_id, action.feed_kind, detail)


def apply_changes(
    tx: StoreTx, plan: InboundPlan, case_id: int, account_id: str, downloads: dict[int, bytes], conflicts: list[str]
) -> None:
    """Apply the plan's changes, in order, to ``case_id`` (the linked case, or the follow-up just created);
    ``conflicts``: the reasons recorded for the ticket already, extended with those recorded now."""
    for action in plan.changes:
        if isinstance(action, ImportMessage):
            import_message(tx, case_id, account_id, action, downloads)
        elif isinstance(action, WithdrawMessage):
            withdraw_comment(tx, action.comment_id, case_id=case_id)
        elif isinstance(action, ChangeStatus):
            change_status(tx, case_id, account_id, action)
        elif isinstance(action, SetCc):
            tx.set_case_cc(case_id, list(action.emails))
        elif isinstance(action, RecordConflict) and action.reason.value not in conflicts:
            # Once per ticket and reason: a ticket that stays moved must not flood the feed.
            conflicts.append(action.reason.value)
            tx.record_conflict(
                action.reason.value, action.detail, account_id=account_id, case_id=case_id, ticket_id=plan.ticket_id
            )
