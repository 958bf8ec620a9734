"""Custom ticket statuses (``/api/v2/custom_statuses``) and a ticket's ``custom_status_id``.

As on Zendesk (https://developer.zendesk.com/api-reference/ticketing/tickets/custom_ticket_statuses/):
every status belongs to a category (``new``, ``open``, ``pending``, ``hold``, ``solved``; a closed ticket is in
``solved``), each category has one default status that is always active, labels are at most 48 characters,
and the list has no pagination.  A ticket's ``status`` stays its category: setting ``custom_status_id``
sets the category, and setting only ``status`` gives the ticket that category's default custom status
(docs/sandbox-conformance.md).
"""

from __future__ import annotations

from typing import Any

from .auth import require_admin
from .clock import iso
from .errors import forbidden, not_found, record_invalid
from .render import CUSTOM_STATUS_IDS
from .routing import Ctx, Resp, Router
from .state import Record, State

__all__ = ["category_of", "register", "requested_status", "settle_custom_status"]

CATEGORIES = ("new", "open", "pending", "hold", "solved")
_LABEL_MAX = 48
_DEFAULT_LABELS = {"new": "New", "open": "Open", "pending": "Pending", "hold": "On-hold", "solved": "Solved"}
_EDITABLE = ("agent_label", "end_user_label", "description", "end_user_description", "active")


def category_of(status: str) -> str:
    """The status category of a ticket status (closed and deleted tickets are in ``solved``)."""
    return "solved" if status in ("closed", "deleted") else status


def _statuses(st: State) -> dict[int, Record]:
    # Seeded on first use after a reset, so the state module needs no knowledge of them.
    table = st.custom_statuses
    if not table:
        now = st.clock.now()
        for category in CATEGORIES:
            sid = CUSTOM_STATUS_IDS[category]
            label = _DEFAULT_LABELS[category]
            table[sid] = {"id": sid, "status_category": category, "agent_label": label, "end_user_label": label,
                          "description": "", "end_user_description": "", "active": True, "default": True,
                          "created_at": now, "updated_at": now}
    return table


def _render(s: Record, base: str) -> dict[str, Any]:
    return {
        "url": f"{base}/api/v2/custom_statuses/{s['id']}.json", "id": s["id"],
        "status_category": s["status_category"], "agent_label": s["agent_label"],
        "raw_agent_label": s["agent_label"], "end_user_label": s["end_user_label"],
        "raw_end_user_label": s["end_user_label"], "description": s["description"],
        "raw_description": s["description"], "end_user_description": s["end_user_description"],
        "raw_end_user_description": s["end_user_description"], "active": s["active"], "default": s["default"],
        "created_at": iso(s["created_at"]), "updated_at": iso(s["updated_at"]),
    }


def requested_status(st: State, data: dict[str, Any], current: str | None) -> str | None:
    """The ticket status a write's ``custom_status_id`` implies (None when it sets none); 422 if unusable."""
    raw = data.get("custom_status_id")
    if raw is None:
        return None
    found = _statuses(st).get(raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
    if found is None or not found["active"]:
        raise record_invalid("custom_status_id", "Custom status: is invalid", "InvalidValue")
    category = str(found["status_category"])
    if data.get("status") and category_of(str(data["status"])) != category:
        raise record_invalid("status", "Status: does not match the category of the custom status", "InvalidValue")
    if current == "closed" and category == "solved":
        return "closed"
    return str(data["status"]) if data.get("status") else category


def settle_custom_status(st: State, t: Record, before_status: str | None, data: dict[str, Any]) -> None:
    """Keep ``t["custom_status_id"]`` consistent with ``t["status"]`` after a write: the one set, or the
    category's default when only the status moved to another category (``None`` renders as that default)."""
    if data.get("custom_status_id") is not None:
        t["custom_status_id"] = int(data["custom_status_id"])
    elif before_status is None or "custom_status_id" not in t or category_of(before_status) != category_of(t["status"]):
        t["custom_status_id"] = None


def _one(st: State, raw: str) -> Record:
    found = _statuses(st).get(int(raw)) if raw.isdigit() else None
    if found is None:
        raise not_found()
    return found


def _flag(ctx: Ctx, name: str) -> bool | None:
    value = ctx.q(name)
    return None if value is None else value.lower() == "true"


def list_statuses(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/custom_statuses`` (``status_categories``, ``active``, ``default`` filters; no paging)."""
    if ctx.user is None:
        raise forbidden()
    wanted = {c.strip() for c in (ctx.q("status_categories") or "").split(",") if c.strip()}
    active, default = _flag(ctx, "active"), _flag(ctx, "default")
    items = [s for s in _statuses(st).values()
             if (not wanted or s["status_category"] in wanted)
             and (active is None or s["active"] == active) and (default is None or s["default"] == default)]
    return Resp(200, {"custom_statuses": [_render(s, ctx.base) for s in items]})


def show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/custom_statuses/{id}``."""
    if ctx.user is None:
        raise forbidden()
    return Resp(200, {"custom_status": _render(_one(st, p["id"]), ctx.base)})


def _labels(body: dict[str, Any], record: Record) -> None:
    for name in _EDITABLE:
        if name not in body:
            continue
        value = body[name]
        if name == "active":
            if not isinstance(value, bool):
                raise record_invalid("active", "Active: must be true or false", "InvalidValue")
            if record.get("default") and not value:
                raise record_invalid("active", "Active: a default ticket status must be active", "InvalidValue")
        elif not isinstance(value, str):
            raise record_invalid(name, f"{name}: must be text", "InvalidValue")
        elif name.endswith("label") and (not value.strip() or len(value) > _LABEL_MAX):
            raise record_invalid(name, f"{name}: must be 1 to {_LABEL_MAX} characters", "InvalidValue")
        record[name] = value


def create(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/custom_statuses`` (admins)."""
    require_admin(ctx)
    body = ctx.json().get("custom_status")
    if not isinstance(body, dict):
        raise record_invalid("custom_status", "Custom status: cannot be blank", "BlankValue")
    if body.get("status_category") not in CATEGORIES:
        raise record_invalid("status_category", "Status category: is invalid", "InvalidValue")
    if not isinstance(body.get("agent_label"), str) or not body["agent_label"].strip():
        raise record_invalid("agent_label", "Agent label: cannot be blank", "BlankValue")
    now = st.clock.now()
    sid = st.next_id("field")
    record: Record = {"id": sid, "status_category": body["status_category"], "agent_label": "",
                      "end_user_label": "", "description": "", "end_user_description": "", "active": True,
                      "default": False, "created_at": now, "updated_at": now}
    _labels({"end_user_label": body["agent_label"], **body}, record)
    _statuses(st)[sid] = record
    return Resp(201, {"custom_status": _render(record, ctx.base)},
                {"Location": f"{ctx.base}/api/v2/custom_statuses/{sid}.json"})


def update(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/custom_statuses/{id}`` (admins): labels, descriptions, ``active``."""
    require_admin(ctx)
    record = _one(st, p["id"])
    body = ctx.json().get("custom_status")
    if not isinstance(body, dict):
        raise record_invalid("custom_status", "Custom status: cannot be blank", "BlankValue")
    work = dict(record)
    _labels(body, work)  # validated as a whole before anything changes
    work["updated_at"] = st.clock.now()
    record.update(work)
    return Resp(200, {"custom_status": _render(record, ctx.base)})


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("GET", "/api/v2/custom_statuses", list_statuses)
    r.add("POST", "/api/v2/custom_statuses", create)
    r.add("GET", "/api/v2/custom_statuses/{id}", show)
    r.add("PUT", "/api/v2/custom_statuses/{id}", update)
