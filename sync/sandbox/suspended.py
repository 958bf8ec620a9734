"""Suspended tickets: emails Zendesk holds back instead of adding them (docs/sandbox-conformance.md, "Suspended").

An end user who is neither the ticket's requester nor one of its CCs answering the ticket's notification is
suspended with cause ``other_user_update`` ("End user only allowed to update their own tickets", cause id 6).
Agents list, show, recover and delete them through ``/api/v2/suspended_tickets``; recovering one adds its email
to its ticket as the author's public comment (a reply to a closed ticket becomes a follow-up, as any email does).
"""

from __future__ import annotations

from typing import Any

from .auth import require_staff
from .clock import iso
from .errors import not_found
from .routing import Ctx, Resp, Router, paginate
from .state import Record, State
from .tickets import apply_update, create_ticket

__all__ = ["OTHER_USER_UPDATE", "register", "render_suspended", "suspend_email"]

#: Zendesk's cause of a reply from an end user who may not update the ticket (suspensions reference).
OTHER_USER_UPDATE = (6, "End user only allowed to update their own tickets")


def _store(st: State) -> dict[int, Record]:
    return st.suspended


def suspend_email(st: State, t: Record, user: Record, text: str, via: dict[str, Any]) -> Record:
    """Hold ``user``'s email to ticket ``t`` as a suspended ticket; returns it."""
    now = st.clock.now()
    cause_id, cause = OTHER_USER_UPDATE
    record: Record = {
        "id": st.next_id("event"), "author": {"id": user["id"], "name": user["name"], "email": user["email"]},
        "subject": t["subject"], "content": text, "cause": cause, "cause_id": cause_id, "ticket_id": t["id"],
        "recipient": "support@sandbox.test", "message_id": f"<{st.token(12)}@mail.sandbox.test>",
        "created_at": now, "updated_at": now, "via": via,
    }
    _store(st)[record["id"]] = record
    return record


def render_suspended(r: Record, base: str) -> dict[str, Any]:
    return {
        "url": f"{base}/api/v2/suspended_tickets/{r['id']}.json", "id": r["id"], "author": dict(r["author"]),
        "subject": r["subject"], "content": r["content"], "cause": r["cause"], "cause_id": r["cause_id"],
        "ticket_id": r["ticket_id"], "recipient": r["recipient"], "message_id": r["message_id"],
        "created_at": iso(r["created_at"]), "updated_at": iso(r["updated_at"]), "via": r["via"],
        "attachments": [], "brand_id": 360000000001, "error_messages": None,
    }


def _get(st: State, sid: str) -> Record:
    found = _store(st).get(int(sid)) if sid.isdigit() else None
    if found is None:
        raise not_found()
    return found


def list_suspended(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/suspended_tickets`` (oldest first)."""
    require_staff(ctx)
    items = sorted(_store(st).values(), key=lambda r: r["id"])
    return paginate(ctx, "suspended_tickets", items, lambda r: render_suspended(r, ctx.base))


def show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/suspended_tickets/{id}``."""
    require_staff(ctx)
    return Resp(200, {"suspended_ticket": render_suspended(_get(st, p["id"]), ctx.base)})


def _recover(st: State, r: Record) -> Record:
    t = st.tickets.get(r["ticket_id"])
    user = st.users[r["author"]["id"]]
    if t is None or t["deleted"]:
        raise not_found()
    if t["status"] == "closed":
        follow_via = {"channel": "closed_ticket", "source": {"from": {}, "to": {}, "rel": None}}
        t, _audit = create_ticket(
            st, {"via_followup_source_id": t["id"], "requester_id": t["requester_id"],
                 "comment": {"body": r["content"], "public": True, "author_id": user["id"]}},
            actor=user, client="Email", via=follow_via,
        )
    else:
        apply_update(st, t, {"comment": {"body": r["content"], "public": True}}, actor=user, client="Email",
                     via=r["via"])
    del _store(st)[r["id"]]
    return t


def recover(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/suspended_tickets/{id}/recover`` → ``{"ticket": [ticket]}``."""
    require_staff(ctx)
    from . import render

    t = _recover(st, _get(st, p["id"]))
    return Resp(200, {"ticket": [render.ticket(st, t, ctx.base)]})


def delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/suspended_tickets/{id}`` → 204."""
    require_staff(ctx)
    del _store(st)[_get(st, p["id"])["id"]]
    return Resp(204, None, raw=b"", content_type="text/plain; charset=utf-8")


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("GET", "/api/v2/suspended_tickets", list_suspended)
    r.add("GET", "/api/v2/suspended_tickets/{id}", show)
    r.add("PUT", "/api/v2/suspended_tickets/{id}/recover", recover)
    r.add("DELETE", "/api/v2/suspended_tickets/{id}", delete)
