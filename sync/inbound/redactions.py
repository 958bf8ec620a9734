"""Applying staff's redactions to the console's copy of a ticket's comments (docs/design.md §8).

Zendesk tells an integration about a redaction only through the comment itself (its text now holds ``▇``, a
redacted attachment is now ``redacted.txt``), the ticket's audit, and the ``ticket.comment_redacted`` /
``ticket.attachment_redacted_from_comment`` webhook events; nothing documents that ``updated_at`` moves.  So the
comparison runs every time a ticket's comments are read in full: on every webhook hint (the inbox re-reads the
ticket and all its comments) and for every drift ``reconcile`` finds (``sync.consistency``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from mappings.models import ChangeKind
from mappings.redaction import StoredCopy, decide_redaction, marks, redacted_attachment_ids
from mappings.references import translate_references
from mappings.rich_text import message_html
from mappings.zendesk import ZComment
from sync.store import StoreTx

__all__ = ["apply_redactions"]


def _shows_redaction(comment: ZComment) -> bool:
    """Whether the comment holds anything redacted: a redaction only ever adds ``▇`` or ``redacted.txt``."""
    return bool(redacted_attachment_ids(comment)) or marks(comment.body) + marks(comment.html_body) > 0


def apply_redactions(
    tx: StoreTx,
    case_id: int,
    ticket_id: int,
    comments: Sequence[ZComment],
    *,
    ticket_cases: Callable[[], Mapping[int, int]],
    zendesk_host: str | None,
) -> int:
    """Redact every message of ``case_id`` whose comment Zendesk now holds redacted; returns how many.

    ``ticket_cases`` gives the account's ticket → case numbers for the tickets the comments quote (called only
    when a comment shows a redaction), so the fresh text compares with the stored copy like for like.

    Each redacted message is overwritten (text and HTML as Zendesk now has them, redacted attachments deleted),
    the redacted strings are scrubbed from the rest of the store, and the feed gets one ``redacted_message``.
    """
    if not any(_shows_redaction(c) for c in comments):
        return 0  # the usual case, at no cost: nothing of this ticket was ever redacted
    record = tx.get_case(case_id)
    if record is None:
        return 0
    # The console's own messages too: staff redact what a user pasted by mistake (a password, a card number).
    copies = {
        m.zendesk_comment_id: m
        for m in tx.case_messages(case_id, include_withdrawn=True)
        if m.zendesk_comment_id is not None
    }
    done = 0
    cases = ticket_cases()  # only looked up when something may have been redacted
    for comment in comments:
        message = copies.get(comment.id)
        if message is None:
            continue
        staff = message.author == "staff"
        fresh_body = translate_references(comment.body, cases, zendesk_host=zendesk_host) if staff else comment.body
        # The console shows no HTML for a user's own message: only its text is compared.
        own = message.origin == "console"
        quoted = cases if staff else None
        fresh_html = None if own else message_html(comment, ticket_cases=quoted, zendesk_host=zendesk_host)
        stored = StoredCopy(
            message_id=message.id,
            comment_id=comment.id,
            body=message.body,
            html=message.html,
            attachments={a.id: a.zendesk_attachment_id for a in message.attachments},
        )
        redaction = decide_redaction(stored, comment, fresh_body, fresh_html)
        if redaction is None:
            continue
        tx.redact_message(message.id, redaction.body, redaction.html)
        for attachment_id in redaction.removed_attachment_ids:
            tx.remove_attachment(attachment_id)
        tx.scrub_text(redaction.secrets, ticket_id=ticket_id, case_id=case_id)
        tx.append_change(record.account_id, case_id, ChangeKind.REDACTED_MESSAGE, f"message {message.id}")
        done += 1
    return done
