"""Redaction of comments and attachments, as Zendesk does it (docs/sandbox-conformance.md, "Redaction").

* ``PUT /api/v2/tickets/{t}/comments/{c}/redact`` ``{"text"}``: every occurrence of ``text`` in the comment becomes
  ``▇`` characters (refused on a closed ticket);
* ``PUT /api/v2/comment_redactions/{c}`` ``{"ticket_id", "html_body", "external_attachment_urls"}``: the text inside
  ``<redact>`` tags becomes ``▇``, an element with the ``redact`` attribute is removed (an inline image's file is
  redacted with it), and the listed attachments are redacted (closed tickets too);
* ``PUT /api/v2/tickets/{t}/comments/{c}/attachments/{a}/redact``: the attachment becomes an empty ``redacted.txt``
  (refused on a closed ticket).

Each redaction adds an audit to the ticket (``CommentRedactionEvent`` / ``AttachmentRedactionEvent``) and sends
the ``ticket.comment_redacted`` / ``ticket.attachment_redacted_from_comment`` webhook events; the ticket's
``updated_at`` is left as it was (no source documents that it moves, so casesync must not rely on it).
"""

from __future__ import annotations

import re
from typing import Any

from . import render
from .auth import require_staff
from .errors import not_found, record_invalid
from .routing import Ctx, Resp, Router
from .state import Record, State
from .tickets import API_VIA, _emit, _new_audit, get_ticket

__all__ = ["register"]

MARK = "▇"
REDACTED_FILENAME = "redacted.txt"

_REDACT_TAG = re.compile(r"<redact>(.*?)</redact>", re.IGNORECASE | re.DOTALL)
_REDACT_IMG = re.compile(r"<img\b[^>]*\sredact(?=[\s=>/])[^>]*>", re.IGNORECASE)
_REDACT_LINK = re.compile(r"<a\b[^>]*\sredact(?=[\s=>/])[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_RUN = re.compile(r"(?P<tag><[^>]*>)|(?P<text>[^<]+)")


def _comment(st: State, t: Record, comment_id: str) -> Record:
    for c in st.comments.get(t["id"], []):
        if str(c["id"]) == comment_id:
            return c
    raise not_found()


def _comment_anywhere(st: State, comment_id: str) -> tuple[Record, Record]:
    for ticket_id, comments in st.comments.items():
        for c in comments:
            if str(c["id"]) == comment_id:
                return st.tickets[ticket_id], c
    raise not_found()


def _open(t: Record) -> None:
    if t["status"] == "closed":
        raise record_invalid("base", "Ticket is closed: its comments can no longer be redacted", "TicketClosed")


def _mask(text: str) -> str:
    return MARK * len(text)


def _record(st: State, t: Record, actor: Record, ctx: Ctx, event: dict[str, Any], kind: str, detail: Any) -> None:
    audit = _new_audit(st, t, actor["id"], API_VIA, ctx.client, None)
    audit["events"].append({"id": st.next_id("event"), **event})
    st.audits.setdefault(t["id"], []).append(audit)
    _emit(st, kind, t, detail, actor["id"])


def _redact_file(st: State, c: Record, attachment_id: int) -> Record:
    if attachment_id not in c["attachment_ids"]:
        raise not_found()
    a = st.attachments[attachment_id]
    a.update(file_name=REDACTED_FILENAME, content_type="text/plain", size=0, data=b"", inline=False)
    return a


def redact_string(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/tickets/{id}/comments/{cid}/redact``."""
    actor = require_staff(ctx)
    t = get_ticket(st, p["id"])
    c = _comment(st, t, p["cid"])
    text = ctx.json().get("text")
    if not isinstance(text, str) or not text:
        raise record_invalid("text", "Text: cannot be blank", "BlankValue")
    _open(t)
    c["body"] = c["body"].replace(text, _mask(text))
    c["html_body"] = c["html_body"].replace(text, _mask(text))
    _record(st, t, actor, ctx, {"type": "CommentRedactionEvent", "comment_id": c["id"]},
            "ticket.comment_redacted", {"comment": {"id": str(c["id"])}})
    return Resp(200, {"comment": render.comment(st, c, ctx.base)})


def redact_in_workspace(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/comment_redactions/{cid}`` (the Agent Workspace's redaction)."""
    actor = require_staff(ctx)
    data = ctx.json()
    t, c = _comment_anywhere(st, p["cid"])
    if str(data.get("ticket_id")) != str(t["id"]) or t["deleted"]:
        raise not_found()
    html = data.get("html_body")
    urls = data.get("external_attachment_urls") or []
    if (html is not None and not isinstance(html, str)) or not isinstance(urls, list):
        raise record_invalid("html_body", "html_body must be a string and external_attachment_urls a list")
    redacted_files: list[int] = []
    if isinstance(html, str):
        secrets: list[str] = []

        def text_of(match: re.Match[str]) -> str:
            inner = match.group(1)
            secrets.extend(part for part in _TAG.split(inner) if part)
            return _RUN.sub(lambda m: m.group("tag") or _mask(m.group("text")), inner)

        def image(match: re.Match[str]) -> str:
            for aid in c["attachment_ids"]:
                if f"/attachments/token/{st.attachments[aid]['url_token']}/" in match.group(0):
                    redacted_files.append(aid)
            return ""

        html = _REDACT_IMG.sub(image, _REDACT_LINK.sub(lambda m: m.group(1), _REDACT_TAG.sub(text_of, html)))
        c["html_body"] = render.rich_html_body(html)
        for secret in secrets:
            c["body"] = c["body"].replace(secret, _mask(secret), 1)
    for url in urls:
        for aid in c["attachment_ids"]:
            if f"/attachments/token/{st.attachments[aid]['url_token']}/" in str(url):
                redacted_files.append(aid)
    for aid in dict.fromkeys(redacted_files):
        _redact_file(st, c, aid)
    _record(st, t, actor, ctx, {"type": "CommentRedactionEvent", "comment_id": c["id"]},
            "ticket.comment_redacted", {"comment": {"id": str(c["id"])}})
    return Resp(200, {"comment": render.comment(st, c, ctx.base)})


def redact_attachment(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/tickets/{id}/comments/{cid}/attachments/{aid}/redact``."""
    actor = require_staff(ctx)
    t = get_ticket(st, p["id"])
    c = _comment(st, t, p["cid"])
    try:
        attachment_id = int(p["aid"])
    except ValueError:
        raise not_found() from None
    _open(t)
    a = _redact_file(st, c, attachment_id)
    _record(st, t, actor, ctx,
            {"type": "AttachmentRedactionEvent", "comment_id": c["id"], "attachment_id": attachment_id},
            "ticket.attachment_redacted_from_comment",
            {"comment": {"id": str(c["id"])}, "attachment": {"id": str(attachment_id)}})
    return Resp(200, {"attachment": render.attachment(a, ctx.base)})


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("PUT", "/api/v2/tickets/{id}/comments/{cid}/redact", redact_string)
    r.add("PUT", "/api/v2/comment_redactions/{cid}", redact_in_workspace)
    r.add("PUT", "/api/v2/tickets/{id}/comments/{cid}/attachments/{aid}/redact", redact_attachment)
