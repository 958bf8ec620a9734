"""JSON renderings of sandbox records, with Zendesk's full key sets and absolute URLs.

URLs are built from the request's base URL (``http://<Host>``) at render time, as the zenpy client
follows them verbatim.
"""

from __future__ import annotations

import html
from typing import Any

from .clock import iso
from .state import Record, State

__all__ = [
    "CUSTOM_STATUS_IDS",
    "attachment",
    "audit",
    "comment",
    "custom_status_id",
    "html_body",
    "identity",
    "membership",
    "organization",
    "rich_html_body",
    "ticket",
    "ticket_field",
    "user",
]

BRAND_ID = 360000000001
TICKET_FORM_ID = 360000000002
# One default custom status per status category, as an account with custom statuses has; a closed
# ticket keeps the solved category's status, as on Zendesk.
CUSTOM_STATUS_IDS = {"new": 901, "open": 902, "pending": 903, "hold": 904, "solved": 905, "closed": 905,
                     "deleted": 905}


def custom_status_id(t: Record) -> int:
    """The ticket's custom status: the one set on it, else its status category's default."""
    return int(t.get("custom_status_id") or CUSTOM_STATUS_IDS[t["status"]])


def html_body(body: str) -> str:
    """Zendesk's HTML rendering of a plain-text comment."""
    paras = "".join(f'<p dir="auto">{html.escape(p)}</p>' for p in body.split("\n\n")) or '<p dir="auto"></p>'
    return f'<div class="zd-comment" dir="auto">{paras.replace(chr(10), "<br>")}</div>'


def rich_html_body(html_text: str) -> str:
    """The ``html_body`` kept for a comment created with ``html_body``: wrapped in Zendesk's comment ``div``."""
    if html_text.lstrip().startswith('<div class="zd-comment"'):
        return html_text
    return f'<div class="zd-comment" dir="auto">{html_text}</div>'


def _ts(value: float | None) -> str | None:
    return None if value is None else iso(value)


def custom_fields(st: State, t: Record) -> list[dict[str, Any]]:
    """Every active custom field with the ticket's value (``None`` when unset)."""
    values: dict[int, Any] = t["custom_fields"]
    ids = [fid for fid, f in st.ticket_fields.items() if f["active"]]
    ids += [fid for fid in values if fid not in st.ticket_fields]
    return [{"id": fid, "value": values.get(fid)} for fid in ids]


def ticket(st: State, t: Record, base: str) -> dict[str, Any]:
    """A ticket as ``GET /api/v2/tickets/{id}`` shows it."""
    fields = custom_fields(st, t)
    return {
        "url": f"{base}/api/v2/tickets/{t['id']}.json",
        "id": t["id"],
        "external_id": t["external_id"],
        "via": t["via"],
        "created_at": iso(t["created_at"]),
        "updated_at": iso(t["updated_at"]),
        "generated_timestamp": int(t["generated_ts"]),
        "type": t["type"],
        "subject": t["subject"],
        "raw_subject": t["subject"],
        "description": t["description"],
        "priority": t["priority"],
        "status": "deleted" if t["deleted"] else t["status"],
        "recipient": t["recipient"],
        "requester_id": t["requester_id"],
        "submitter_id": t["submitter_id"],
        "assignee_id": t["assignee_id"],
        "organization_id": t["organization_id"],
        "group_id": t["group_id"],
        "collaborator_ids": list(t["email_cc_ids"]),
        "follower_ids": list(t["follower_ids"]),
        "email_cc_ids": list(t["email_cc_ids"]),
        "forum_topic_id": None,
        "problem_id": t["problem_id"],
        "has_incidents": False,
        "is_public": t["is_public"],
        "due_at": t["due_at"],
        "tags": list(t["tags"]),
        "custom_fields": fields,
        "satisfaction_rating": None,
        "sharing_agreement_ids": [],
        "custom_status_id": custom_status_id(t),
        "fields": [dict(f) for f in fields],
        "followup_ids": list(t["followup_ids"]),
        "ticket_form_id": TICKET_FORM_ID,
        "brand_id": BRAND_ID,
        "allow_channelback": False,
        "allow_attachments": True,
        "from_messaging_channel": False,
    }


def attachment(a: Record, base: str) -> dict[str, Any]:
    """An attachment; ``content_url`` downloads it (with credentials)."""
    content_url = f"{base}/attachments/token/{a['url_token']}/?name={a['file_name']}"
    return {
        "url": f"{base}/api/v2/attachments/{a['id']}.json",
        "id": a["id"],
        "file_name": a["file_name"],
        "content_url": content_url,
        "mapped_content_url": content_url,
        "content_type": a["content_type"],
        "size": a["size"],
        "width": None,
        "height": None,
        "inline": bool(a.get("inline")),
        "deleted": a["deleted"],
        "malware_access_override": False,
        "malware_scan_result": "not_scanned",
        "thumbnails": [],
    }


def comment(st: State, c: Record, base: str, *, include_inline: bool = True) -> dict[str, Any]:
    """A ticket comment as the comments endpoint lists it (without inline images unless ``include_inline``)."""
    return {
        "id": c["id"],
        "type": "Comment",
        "author_id": c["author_id"],
        "body": c["body"],
        "html_body": c["html_body"],
        "plain_body": c["body"],
        "public": c["public"],
        "attachments": [
            attachment(st.attachments[a], base)
            for a in c["attachment_ids"]
            if include_inline or not st.attachments[a].get("inline")
        ],
        "audit_id": c["audit_id"],
        "via": c["via"],
        "created_at": iso(c["created_at"]),
        "metadata": c["metadata"],
    }


def audit(st: State, a: Record, base: str) -> dict[str, Any]:
    """A ticket audit with its events (the Comment event rendered from the live comment)."""
    events: list[dict[str, Any]] = []
    for ev in a["events"]:
        if ev["type"] == "Comment":
            c = comment(st, ev["comment"], base)
            c.pop("via", None)
            c.pop("created_at", None)
            c.pop("metadata", None)
            events.append(c)
        else:
            events.append(dict(ev))
    return {
        "id": a["id"],
        "ticket_id": a["ticket_id"],
        "created_at": iso(a["created_at"]),
        "author_id": a["author_id"],
        "metadata": a["metadata"],
        "via": a["via"],
        "events": events,
    }


def user(u: Record, base: str) -> dict[str, Any]:
    """A user with Zendesk's key set."""
    staff = u["role"] in ("agent", "admin")
    return {
        "id": u["id"],
        "url": f"{base}/api/v2/users/{u['id']}.json",
        "name": u["name"],
        "email": u["email"],
        "created_at": iso(u["created_at"]),
        "updated_at": iso(u["updated_at"]),
        "time_zone": "America/New_York",
        "iana_time_zone": "America/New_York",
        "phone": u["phone"],
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": u["organization_id"],
        "role": u["role"],
        "verified": u["verified"],
        "external_id": u["external_id"],
        "tags": list(u["tags"]),
        "alias": None,
        "active": u["active"],
        "shared": False,
        "shared_agent": False,
        "last_login_at": None,
        "two_factor_auth_enabled": False,
        "signature": None,
        "details": u["details"],
        "notes": u["notes"],
        "role_type": 4 if u["role"] == "admin" else (0 if staff else None),
        "custom_role_id": None,
        "moderator": staff,
        "ticket_restriction": None if staff else "requested",
        "only_private_comments": False,
        "restricted_agent": not staff,
        "suspended": u["suspended"],
        "default_group_id": None,
        "report_csv": staff,
        "user_fields": dict(u["user_fields"]),
    }


def identity(i: Record, base: str) -> dict[str, Any]:
    """A user identity."""
    return {
        "url": f"{base}/api/v2/users/{i['user_id']}/identities/{i['id']}.json",
        "id": i["id"],
        "user_id": i["user_id"],
        "type": i["type"],
        "value": i["value"],
        "verified": i["verified"],
        "primary": i["primary"],
        "created_at": iso(i["created_at"]),
        "updated_at": iso(i["updated_at"]),
        "undeliverable_count": 0,
        "deliverable_state": "deliverable",
    }


def organization(o: Record, base: str) -> dict[str, Any]:
    """An organization with Zendesk's key set."""
    return {
        "url": f"{base}/api/v2/organizations/{o['id']}.json",
        "id": o["id"],
        "name": o["name"],
        "shared_tickets": False,
        "shared_comments": False,
        "external_id": o["external_id"],
        "created_at": iso(o["created_at"]),
        "updated_at": iso(o["updated_at"]),
        "domain_names": list(o["domain_names"]),
        "details": o["details"],
        "notes": o["notes"],
        "group_id": None,
        "tags": list(o["tags"]),
        "organization_fields": dict(o["organization_fields"]),
    }


def membership(m: Record, base: str) -> dict[str, Any]:
    """An organization membership."""
    return {
        "url": f"{base}/api/v2/organization_memberships/{m['id']}.json",
        "id": m["id"],
        "user_id": m["user_id"],
        "organization_id": m["organization_id"],
        "default": m["default"],
        "organization_name": m["organization_name"],
        "view_tickets": True,
        "created_at": iso(m["created_at"]),
        "updated_at": iso(m["updated_at"]),
    }


def ticket_field(f: Record, base: str) -> dict[str, Any]:
    """A custom ticket field."""
    return {
        "url": f"{base}/api/v2/ticket_fields/{f['id']}.json",
        "id": f["id"],
        "type": f["type"],
        "title": f["title"],
        "raw_title": f["title"],
        "description": f["description"],
        "raw_description": f["description"],
        "position": f["position"],
        "active": f["active"],
        "required": False,
        "collapsed_for_agents": False,
        "regexp_for_validation": None,
        "title_in_portal": f["title"],
        "raw_title_in_portal": f["title"],
        "visible_in_portal": f["visible_in_portal"],
        "editable_in_portal": False,
        "required_in_portal": False,
        "agent_description": None,
        "tag": f["tag"],
        "key": f["key"],
        "created_at": iso(f["created_at"]),
        "updated_at": iso(f["updated_at"]),
        "removable": True,
        "custom_field_options": f.get("custom_field_options", []),
    }


def ts_or_none(value: float | None) -> str | None:
    """Render an optional epoch timestamp."""
    return _ts(value)
