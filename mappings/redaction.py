"""Redaction: what staff removed in Zendesk is removed from the console's copy too (docs/design.md §8).

Zendesk replaces each redacted character of a comment with ``▇`` (in ``body``, ``plain_body`` and ``html_body``) and
a redacted attachment with an empty ``redacted.txt``.  Nothing about the comment says *when* it was redacted, and a
redaction is not a new comment, so the console's copy is compared with the comment as Zendesk has it now: more
``▇`` than the copy has, or an attachment of the copy that Zendesk now holds as ``redacted.txt``, is a redaction.
The comparison only ever removes: a comment read before the redaction (an older export page) has no more marks
than the copy, so it never brings the original back.
"""

from __future__ import annotations

from collections.abc import Mapping
from difflib import SequenceMatcher

from pydantic import BaseModel, ConfigDict, Field

from mappings.zendesk import ZComment

__all__ = [
    "REDACTED_FILENAME",
    "REDACTION_MARK",
    "Redaction",
    "StoredCopy",
    "decide_redaction",
    "marks",
    "redacted_attachment_ids",
    "redacted_segments",
]

#: The character Zendesk puts in place of each redacted character.
REDACTION_MARK = "▇"

#: The (empty) file Zendesk puts in place of a redacted attachment.
REDACTED_FILENAME = "redacted.txt"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StoredCopy(_Value):
    """The console's copy of one imported comment: its message's text and attachments (console id → Zendesk id)."""

    message_id: int
    comment_id: int
    body: str
    html: str | None = None
    attachments: Mapping[str, int | None] = Field(default_factory=dict)


class Redaction(_Value):
    """Make the message read as Zendesk now has it: ``body``/``html``, without ``removed_attachment_ids``.

    ``secrets`` are the strings the redaction removed from the copy, for the I/O layer to remove from everything
    else it keeps (queued payloads, carried export comments, feed and conflict details)."""

    message_id: int
    comment_id: int
    body: str
    html: str | None
    removed_attachment_ids: list[str] = Field(default_factory=list)
    secrets: list[str] = Field(default_factory=list)


def marks(text: str | None) -> int:
    """How many characters of ``text`` are redacted."""
    return (text or "").count(REDACTION_MARK)


def redacted_attachment_ids(comment: ZComment) -> set[int]:
    """The Zendesk ids of the comment's attachments that Zendesk now holds as ``redacted.txt``."""
    return {a.id for a in comment.attachments if a.file_name == REDACTED_FILENAME}


def redacted_segments(before: str, after: str) -> list[str]:
    """The parts of ``before`` that ``after`` shows as ``▇`` (each at least one character, in order)."""
    out: list[str] = []
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        replaced = after[j1:j2]
        if op == "replace" and replaced and set(replaced) == {REDACTION_MARK} and before[i1:i2].strip():
            out.append(before[i1:i2])
    return out


def decide_redaction(
    stored: StoredCopy, comment: ZComment, fresh_body: str, fresh_html: str | None
) -> Redaction | None:
    """Whether ``comment`` (as Zendesk has it now) was redacted since ``stored`` was imported, and how.

    ``fresh_body``/``fresh_html`` are what importing ``comment`` now would store (references translated, HTML
    sanitized), so they compare with the copy like for like.  ``None``: nothing was redacted.
    """
    text_redacted = marks(fresh_body) > marks(stored.body) or marks(fresh_html) > marks(stored.html)
    gone = redacted_attachment_ids(comment)
    removed = [console_id for console_id, zendesk_id in stored.attachments.items() if zendesk_id in gone]
    if not text_redacted and not removed:
        return None
    secrets: list[str] = []
    if text_redacted:
        secrets.extend(redacted_segments(stored.body, fresh_body))
        if stored.html is not None and fresh_html is not None:
            secrets.extend(s for s in redacted_segments(stored.html, fresh_html) if s not in secrets)
    return Redaction(
        message_id=stored.message_id,
        comment_id=stored.comment_id,
        body=fresh_body if text_redacted else stored.body,
        html=fresh_html if (text_redacted or removed) else stored.html,
        removed_attachment_ids=removed,
        secrets=secrets,
    )
