"""Ticket endpoints: create (with ``Idempotency-Key``), show, show_many, list, update, delete, related,
tags, comments, audits, make_private, ticket fields, account settings, uploads and attachments."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from . import render
from .account_settings import account_settings
from .auth import require_admin, require_staff
from .errors import ApiError, bad_request, not_found, record_invalid
from .routing import Ctx, Resp, Router, paginate
from .state import Record, State
from .tickets import _emit, apply_update, create_ticket, get_ticket, make_comment_private

__all__ = ["register"]


def _ticket_resp(st: State, ctx: Ctx, t: Record, audit: Record, status: int) -> Resp:
    return Resp(status, {"ticket": render.ticket(st, t, ctx.base), "audit": render.audit(st, audit, ctx.base)})


def create(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/tickets``; ``Idempotency-Key`` replays the first answer (header ``hit``)."""
    actor = require_staff(ctx)
    key = ctx.headers.get("idempotency-key")
    # Zendesk compares the request's parameters, not its bytes: the same ticket sent with other spacing or
    # key order is a replay (zendesk-api-notes §6, Idempotency).
    digest = hashlib.sha256(json.dumps(ctx.json(), sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    now = st.clock.now()
    if key:
        for k in [k for k, v in st.idempotency.items() if v["expires"] <= now]:
            del st.idempotency[k]
        seen = st.idempotency.get(key)
        if seen is not None:
            if seen["digest"] != digest:
                raise bad_request(
                    "IdempotentRequestError",
                    "The idempotency key was already used with different request parameters",
                )
            t = st.tickets[seen["ticket_id"]]
            return Resp(201, seen["body"], {"x-idempotency-lookup": "hit",
                                            "Location": f"{ctx.base}/api/v2/tickets/{t['id']}.json"})
    data = ctx.json().get("ticket")
    if not isinstance(data, dict):
        raise record_invalid("ticket", "Ticket: parameter is missing", "BlankValue")
    t, audit = create_ticket(st, data, actor=actor, client=ctx.client)
    resp = _ticket_resp(st, ctx, t, audit, 201)
    resp.headers["Location"] = f"{ctx.base}/api/v2/tickets/{t['id']}.json"
    if key:
        st.idempotency[key] = {"digest": digest, "body": resp.body, "ticket_id": t["id"],
                               "expires": now + st.config.idempotency_ttl_s}
        resp.headers["x-idempotency-lookup"] = "miss"
    return resp


def show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/tickets/{id}``."""
    require_staff(ctx)
    return Resp(200, {"ticket": render.ticket(st, get_ticket(st, p["id"]), ctx.base)})


def show_many(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/tickets/show_many?ids=`` (≤ 100 ids; unknown ids are skipped)."""
    require_staff(ctx)
    ids = ctx.ids_param("ids")
    found = []
    for raw in ids:
        t = st.tickets.get(int(raw)) if raw.isdigit() else None
        if t is not None and not t["deleted"]:
            found.append(t)
    return Resp(200, {"tickets": [render.ticket(st, t, ctx.base) for t in found], "next_page": None,
                      "previous_page": None, "count": len(found)})


def list_tickets(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/tickets`` (``?external_id=`` filters; external ids are not unique)."""
    require_staff(ctx)
    ext = ctx.q("external_id")
    items = [t for t in st.tickets.values() if not t["deleted"] and (ext is None or t["external_id"] == ext)]
    return paginate(ctx, "tickets", items, lambda t: render.ticket(st, t, ctx.base))


def update(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/tickets/{id}`` → ``{"ticket", "audit"}``."""
    actor = require_staff(ctx)
    t = get_ticket(st, p["id"])
    data = ctx.json().get("ticket")
    if not isinstance(data, dict):
        raise record_invalid("ticket", "Ticket: parameter is missing", "BlankValue")
    from .server import limiter_of

    err = limiter_of(st).ticket_update(t["id"])
    if err is not None:
        raise err
    audit = apply_update(st, t, data, actor=actor, client=ctx.client)
    return _ticket_resp(st, ctx, t, audit, 200)


def delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/tickets/{id}``: soft delete (404 afterwards; ``deleted`` in the export)."""
    actor = require_staff(ctx)
    t = get_ticket(st, p["id"])
    t["deleted"] = True
    now = st.clock.now()
    t["updated_at"] = t["generated_ts"] = now
    st.solved.discard(t["id"])
    _emit(st, "ticket.soft_deleted", t, {"current": True, "previous": False}, actor["id"])
    return Resp(204, None)


def related(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/tickets/{id}/related``."""
    require_staff(ctx)
    t = get_ticket(st, p["id"])
    src = [t["followup_source_id"]] if t["followup_source_id"] else []
    return Resp(200, {"ticket_related": {"topic_id": None, "jira_issue_ids": [], "followup_source_ids": src,
                                         "from_archive": False, "incidents": 0, "twitter": {}}})


def tags(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET`` (list), ``PUT`` (add), ``POST`` (set), ``DELETE`` (remove) ``/api/v2/tickets/{id}/tags``."""
    actor = require_staff(ctx)
    t = get_ticket(st, p["id"])
    if ctx.method != "GET":
        given = ctx.json().get("tags") or []
        data: dict[str, Any] = {k: v for k, v in ctx.json().items() if k in ("safe_update", "updated_stamp")}
        key = {"PUT": "additional_tags", "POST": "tags", "DELETE": "remove_tags"}[ctx.method]
        data[key] = given
        apply_update(st, t, data, actor=actor, client=ctx.client)
    return Resp(200, {"tags": list(t["tags"])})


def comments(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/tickets/{id}/comments`` (cursor with ``page[size]``, oldest first by default)."""
    require_staff(ctx)
    t = get_ticket(st, p["id"])
    items = list(st.comments.get(t["id"], []))
    if ctx.q("sort") == "-created_at" or ctx.q("sort_order") == "desc":
        items.reverse()
    # Inline images are left out unless asked for, as on Zendesk (docs/sandbox-conformance.md, "Rich text").
    inline = (ctx.q("include_inline_images") or "").lower() == "true"
    return paginate(ctx, "comments", items, lambda c: render.comment(st, c, ctx.base, include_inline=inline))


def comments_count(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/tickets/{id}/comments/count``."""
    require_staff(ctx)
    t = get_ticket(st, p["id"])
    from .clock import iso

    return Resp(200, {"count": {"value": len(st.comments.get(t["id"], [])), "refreshed_at": iso(st.clock.now())}})


def make_private(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/tickets/{id}/comments/{cid}/make_private``."""
    actor = require_staff(ctx)
    t = get_ticket(st, p["id"])
    for c in st.comments.get(t["id"], []):
        if str(c["id"]) == p["cid"]:
            make_comment_private(st, t, c, actor=actor, client=ctx.client)
            return Resp(200, None, raw=b"", content_type="text/plain; charset=utf-8")
    raise not_found()


def audits(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/tickets/{id}/audits``."""
    require_staff(ctx)
    t = get_ticket(st, p["id"])
    items = list(st.audits.get(t["id"], []))
    return paginate(ctx, "audits", items, lambda a: render.audit(st, a, ctx.base))


def all_audits(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/ticket_audits`` (admins, cursor)."""
    require_admin(ctx)
    items = [a for a in st.audit_log if not st.tickets[a["ticket_id"]]["deleted"]]
    return paginate(ctx, "audits", items, lambda a: render.audit(st, a, ctx.base))


# ----- ticket fields and settings ---------------------------------------------------------------

def fields_list(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/ticket_fields``."""
    require_staff(ctx)
    return paginate(ctx, "ticket_fields", list(st.ticket_fields.values()), lambda f: render.ticket_field(f, ctx.base))


def fields_create(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/ticket_fields``."""
    require_admin(ctx)
    body = ctx.json().get("ticket_field") or {}
    if not body.get("title") or not body.get("type"):
        raise record_invalid("title", "Title: cannot be blank", "BlankValue")
    now = st.clock.now()
    fid = st.next_id("field")
    f: Record = {"id": fid, "type": body["type"], "title": body["title"],
                 "description": body.get("description") or body["title"], "position": body.get("position", 9999),
                 "active": body.get("active", True), "visible_in_portal": body.get("visible_in_portal", False),
                 "tag": body.get("tag"), "key": body.get("key"), "created_at": now, "updated_at": now,
                 "custom_field_options": body.get("custom_field_options", [])}
    st.ticket_fields[fid] = f
    return Resp(201, {"ticket_field": render.ticket_field(f, ctx.base)},
                {"Location": f"{ctx.base}/api/v2/ticket_fields/{fid}.json"})


def _field(st: State, raw: str) -> Record:
    f = st.ticket_fields.get(int(raw)) if raw.isdigit() else None
    if f is None:
        raise not_found()
    return f


def fields_show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/ticket_fields/{id}``."""
    require_staff(ctx)
    return Resp(200, {"ticket_field": render.ticket_field(_field(st, p["id"]), ctx.base)})


def fields_update(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/ticket_fields/{id}``."""
    require_admin(ctx)
    f = _field(st, p["id"])
    body = ctx.json().get("ticket_field") or {}
    for k in ("title", "description", "active", "position", "visible_in_portal", "tag", "key"):
        if k in body:
            f[k] = body[k]
    f["updated_at"] = st.clock.now()
    return Resp(200, {"ticket_field": render.ticket_field(f, ctx.base)})


def fields_delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/ticket_fields/{id}``."""
    require_admin(ctx)
    st.ticket_fields.pop(_field(st, p["id"])["id"])
    return Resp(204, None)


def settings_show(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/account/settings``."""
    require_staff(ctx)
    return Resp(200, {"settings": account_settings(st.settings)})


def settings_update(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``PUT /api/v2/account/settings`` (admins; deep merge)."""
    require_admin(ctx)
    body = ctx.json().get("settings") or {}

    def merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
        for k, v in src.items():
            if isinstance(v, dict) and isinstance(dst.get(k), dict):
                merge(dst[k], v)
            else:
                dst[k] = v

    merge(st.settings, body)
    ccs = bool(st.settings["tickets"].get("follower_and_email_cc_collaborations"))
    st.settings["active_features"]["email_ccs"] = ccs
    return Resp(200, {"settings": account_settings(st.settings)})


# ----- uploads and attachments --------------------------------------------------------------

def upload(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/uploads?filename=`` with the raw file as body; ``token=`` adds to an upload."""
    if ctx.user is None:
        raise ApiError(401, {"error": "Couldn't authenticate you"})
    name = ctx.q("filename")
    if not name:
        raise record_invalid("filename", "Filename: cannot be blank", "BlankValue")
    now = st.clock.now()
    token = ctx.q("token")
    up = st.uploads.get(token) if token else None
    if up is None:
        token = st.token(18)
        up = {"token": token, "attachment_ids": [], "expires_at": now + st.config.upload_ttl_s}
        st.uploads[token] = up
    aid = st.next_id("attachment")
    url_token = st.token(18)
    a: Record = {"id": aid, "file_name": name, "url_token": url_token,
                 "content_type": ctx.headers.get("content-type") or "application/octet-stream",
                 "size": len(ctx.raw), "data": ctx.raw, "deleted": False}
    st.attachments[aid] = a
    st.attachment_by_token[url_token] = aid
    up["attachment_ids"].append(aid)
    from .clock import iso

    atts = [render.attachment(st.attachments[i], ctx.base) for i in up["attachment_ids"]]
    body = {"upload": {"token": up["token"], "expires_at": iso(up["expires_at"]),
                       "attachment": render.attachment(a, ctx.base), "attachments": atts}}
    return Resp(201, body, {"Location": f"{ctx.base}/api/v2/attachments/{aid}.json"})


def upload_delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/uploads/{token}``."""
    if st.uploads.pop(p["token"], None) is None:
        raise not_found()
    return Resp(204, None)


def attachment_show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/attachments/{id}``."""
    a = st.attachments.get(int(p["id"])) if p["id"].isdigit() else None
    if a is None:
        raise not_found()
    return Resp(200, {"attachment": render.attachment(a, ctx.base)})


def download(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /attachments/token/{token}/`` → the file's bytes (credentials required)."""
    aid = st.attachment_by_token.get(p["token"])
    if aid is None:
        raise not_found()
    a = st.attachments[aid]
    return Resp(200, None, {"Content-Disposition": f'attachment; filename="{a["file_name"]}"'},
                raw=a["data"], content_type=a["content_type"])


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("POST", "/api/v2/tickets", create)
    r.add("GET", "/api/v2/tickets", list_tickets)
    r.add("GET", "/api/v2/tickets/show_many", show_many)
    r.add("GET", "/api/v2/tickets/{id}", show)
    r.add("PUT", "/api/v2/tickets/{id}", update)
    r.add("DELETE", "/api/v2/tickets/{id}", delete)
    r.add("GET", "/api/v2/tickets/{id}/related", related)
    for m in ("GET", "PUT", "POST", "DELETE"):
        r.add(m, "/api/v2/tickets/{id}/tags", tags)
    r.add("GET", "/api/v2/tickets/{id}/comments", comments)
    r.add("GET", "/api/v2/tickets/{id}/comments/count", comments_count)
    r.add("PUT", "/api/v2/tickets/{id}/comments/{cid}/make_private", make_private)
    r.add("GET", "/api/v2/tickets/{id}/audits", audits)
    r.add("GET", "/api/v2/ticket_audits", all_audits)
    r.add("GET", "/api/v2/ticket_fields", fields_list)
    r.add("POST", "/api/v2/ticket_fields", fields_create)
    r.add("GET", "/api/v2/ticket_fields/{id}", fields_show)
    r.add("PUT", "/api/v2/ticket_fields/{id}", fields_update)
    r.add("DELETE", "/api/v2/ticket_fields/{id}", fields_delete)
    r.add("GET", "/api/v2/account/settings", settings_show)
    r.add("PUT", "/api/v2/account/settings", settings_update)
    r.add("POST", "/api/v2/uploads", upload)
    r.add("DELETE", "/api/v2/uploads/{token}", upload_delete)
    r.add("GET", "/api/v2/attachments/{id}", attachment_show)
    r.add("GET", "/attachments/token/{token}", download)
    r.add("GET", "/attachments/token/{token}/", download)
