"""The Requests API (``/api/v2/requests``): end users acting on their own tickets, directly or through an
admin's OAuth token with the ``impersonate`` scope and ``X-On-Behalf-Of``. The change is the end user's
own: they are the updater, so the end-user reopen rule applies and they are not emailed their own words."""

from __future__ import annotations

from typing import Any

from . import render
from .clock import iso
from .errors import forbidden, not_found, record_invalid
from .routing import Ctx, Resp, Router, paginate
from .state import Record, State
from .tickets import apply_update, create_ticket

__all__ = ["register"]

WEB_VIA: dict[str, Any] = {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}}


def _render(st: State, t: Record, base: str) -> dict[str, Any]:
    tk = render.ticket(st, t, base)
    return {
        "url": f"{base}/api/v2/requests/{t['id']}.json", "id": t["id"], "status": tk["status"],
        "priority": tk["priority"], "type": tk["type"], "subject": tk["subject"], "description": tk["description"],
        "organization_id": tk["organization_id"], "via": tk["via"], "custom_fields": tk["custom_fields"],
        "fields": tk["fields"], "requester_id": tk["requester_id"], "collaborator_ids": tk["collaborator_ids"],
        "email_cc_ids": tk["email_cc_ids"], "is_public": tk["is_public"], "due_at": tk["due_at"],
        "can_be_solved_by_me": t["assignee_id"] is not None and t["status"] not in ("solved", "closed"),
        "solved": t["status"] in ("solved", "closed"), "ticket_form_id": tk["ticket_form_id"],
        "brand_id": tk["brand_id"], "created_at": tk["created_at"], "updated_at": tk["updated_at"],
        "assignee_id": tk["assignee_id"], "group_id": tk["group_id"], "recipient": tk["recipient"],
        "followup_source_id": t["followup_source_id"], "custom_status_id": tk["custom_status_id"],
    }


def _mine(st: State, ctx: Ctx, raw: str) -> Record:
    t = st.tickets.get(int(raw)) if raw.isdigit() else None
    user = ctx.user
    if t is None or t["deleted"] or user is None:
        raise not_found()
    if user["role"] == "end-user" and user["id"] != t["requester_id"] and user["id"] not in t["email_cc_ids"]:
        raise not_found()
    return t


def _actor(ctx: Ctx) -> Record:
    if ctx.user is None:
        raise forbidden()
    return ctx.user


def create(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/requests``."""
    actor = _actor(ctx)
    body = ctx.json().get("request") or {}
    if not isinstance(body.get("comment"), dict):
        raise record_invalid("description", "Description: cannot be blank", "BlankValue")
    data: dict[str, Any] = {"subject": body.get("subject"),
                            "comment": {k: v for k, v in body["comment"].items() if k in ("body", "html_body",
                                                                                          "uploads")},
                            "collaborators": body.get("collaborators"),
                            "via_followup_source_id": body.get("via_followup_source_id")}
    data["comment"]["public"] = True
    if actor["role"] != "end-user" and isinstance(body.get("requester"), dict):
        data["requester"] = body["requester"]
    if "email_ccs" in body:
        data["email_ccs"] = body["email_ccs"]
    t, _audit = create_ticket(st, data, actor=actor, client=ctx.client, via=WEB_VIA)
    return Resp(201, {"request": _render(st, t, ctx.base)},
                {"Location": f"{ctx.base}/api/v2/requests/{t['id']}.json"})


def show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/requests/{id}``."""
    _actor(ctx)
    return Resp(200, {"request": _render(st, _mine(st, ctx, p["id"]), ctx.base)})


def list_requests(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/requests`` (the user's own)."""
    user = _actor(ctx)
    items = [t for t in st.tickets.values() if not t["deleted"]
             and (user["role"] != "end-user" or user["id"] in [t["requester_id"], *t["email_cc_ids"]])]
    return paginate(ctx, "requests", items, lambda t: _render(st, t, ctx.base))


def update(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/requests/{id}``: ``comment``, ``solved``, ``additional_collaborators`` only."""
    actor = _actor(ctx)
    t = _mine(st, ctx, p["id"])
    body = ctx.json().get("request") or {}
    data: dict[str, Any] = {}
    if isinstance(body.get("comment"), dict):
        data["comment"] = {k: v for k, v in body["comment"].items() if k in ("body", "html_body", "uploads")}
        data["comment"]["public"] = True
    if body.get("solved"):
        if t["assignee_id"] is None:
            raise record_invalid("status", "Status: the request cannot be solved without an assignee")
        data["status"] = "solved"
    if body.get("additional_collaborators"):
        data["additional_collaborators"] = body["additional_collaborators"]
    if "email_ccs" in body:
        data["email_ccs"] = body["email_ccs"]
    from .server import limiter_of

    err = limiter_of(st).ticket_update(t["id"])
    if err is not None:
        raise err
    apply_update(st, t, data, actor=actor, client=ctx.client, via=WEB_VIA)
    return Resp(200, {"request": _render(st, t, ctx.base)})


def comments(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/requests/{id}/comments``: public comments only."""
    _actor(ctx)
    t = _mine(st, ctx, p["id"])
    items = [c for c in st.comments.get(t["id"], []) if c["public"]]

    def one(c: Record) -> dict[str, Any]:
        return {"url": f"{ctx.base}/api/v2/requests/{t['id']}/comments/{c['id']}.json", "id": c["id"],
                "type": "Comment", "request_id": t["id"], "body": c["body"], "html_body": c["html_body"],
                "plain_body": c["body"], "public": True, "author_id": c["author_id"],
                "attachments": [render.attachment(st.attachments[a], ctx.base) for a in c["attachment_ids"]],
                "created_at": iso(c["created_at"])}

    return paginate(ctx, "comments", items, one)


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("POST", "/api/v2/requests", create)
    r.add("GET", "/api/v2/requests", list_requests)
    r.add("GET", "/api/v2/requests/{id}", show)
    r.add("PUT", "/api/v2/requests/{id}", update)
    r.add("GET", "/api/v2/requests/{id}/comments", comments)
