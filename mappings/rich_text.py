"""A Zendesk comment's rich text as the console shows it: ``Message.html`` and its inline images (docs/design.md §8).

The console's ``AttachmentRef.id`` of an imported inline image is derived from the Zendesk attachment id
(:func:`imported_attachment_id`), so the decision can write ``<img src="attachment:<id>">`` before the I/O layer
stores the image under that same id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from mappings.html import attachment_token, sanitize_comment_html
from mappings.references import translate_references_html
from mappings.zendesk import ZAttachment, ZComment

__all__ = ["imported_attachment_id", "inline_image_map", "message_html"]


def imported_attachment_id(zendesk_attachment_id: int) -> str:
    """The console's id of the attachment imported from this Zendesk attachment (32 hex digits, as others)."""
    return hashlib.sha256(f"zendesk-attachment:{zendesk_attachment_id}".encode()).hexdigest()[:32]


def inline_image_map(attachments: list[ZAttachment]) -> dict[str, str]:
    """Zendesk URL (and its token) → console id, for the inline attachments of one comment."""
    out: dict[str, str] = {}
    for attachment in attachments:
        if not attachment.inline:
            continue
        console_id = imported_attachment_id(attachment.id)
        for url in (attachment.content_url, attachment.mapped_content_url):
            if url:
                out[url] = console_id
                token = attachment_token(url)
                if token:
                    out[token] = console_id
    return out


def message_html(
    comment: ZComment,
    *,
    ticket_cases: Mapping[int, int] | None = None,
    zendesk_host: str | None = None,
) -> str | None:
    """The comment's ``html_body`` sanitized, its inline images pointing at their console ids, and — with
    ``ticket_cases`` (staff text only) — its ticket references translated in text nodes; ``None`` without HTML."""
    if comment.html_body is None or not comment.html_body.strip():
        return None
    html = sanitize_comment_html(
        comment.html_body, inline_images=inline_image_map(comment.attachments), zendesk_host=zendesk_host
    )
    if ticket_cases:
        html = translate_references_html(html, ticket_cases, zendesk_host=zendesk_host)
    return html
