"""Incremental exports: the cursor ticket export and the time-based ticket events export.

Both exclude changes of the most recent minute of the sandbox clock, as Zendesk does since 2024-10, and
share their own requests-per-minute limit (10 by default).
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from . import render
from .auth import require_admin
from .clock import iso
from .errors import ApiError, bad_request
from .routing import Ctx, Resp, Router
from .state import Record, State

__all__ = ["count_export_request", "export_per_page", "register"]


def count_export_request(st: State) -> None:
    """Count one incremental export request against the export's own limit (429 past it)."""
    from .server import limiter_of

    err = limiter_of(st).export()
    if err is not None:
        raise err


def export_per_page(ctx: Ctx) -> int:
    """An export's ``per_page``: 1 to 1000, 1000 by default; 400 when it is not a number."""
    try:
        return max(1, min(1000, int(ctx.q("per_page") or 1000)))
    except ValueError as exc:
        raise bad_request("InvalidValue", "per_page must be an integer") from exc


def _cursor(ts: int, tid: int) -> str:
    return base64.b64encode(f"{ts}.0||{tid}|".encode()).decode()


def _uncursor(cursor: str) -> tuple[int, int]:
    try:
        text = base64.b64decode(cursor.encode()).decode()
        ts, _, rest = text.partition("||")
        return int(float(ts)), int(rest.strip("|"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request("InvalidCursor", "Invalid cursor") from exc


def start_time(st: State, ctx: Ctx) -> int:
    """The export's ``start_time``: epoch seconds (a fractional value is truncated), "at least one minute in
    the past" (Zendesk's OAS, ``start_time`` parameter of the incremental exports); a later one is refused."""
    raw = ctx.q("start_time")
    try:
        value = int(float(raw or ""))
    except ValueError as exc:
        raise bad_request("InvalidValue", "start_time is required and must be an epoch time") from exc
    if value > int(st.clock.now()) - 60:
        raise bad_request("InvalidValue", "Too recent start_time. Use a start_time at least one minute in the past")
    return value


def tickets_cursor(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/incremental/tickets/cursor?start_time=`` or ``?cursor=``."""
    require_admin(ctx)
    count_export_request(st)
    cursor, start = ctx.q("cursor"), ctx.q("start_time")
    if cursor:
        after = _uncursor(cursor)
    elif start is not None:
        after = (start_time(st, ctx) - 1, 2**62)
    else:
        raise bad_request("InvalidValue", "start_time or cursor is required")
    cutoff = int(st.clock.now()) - 60
    size = export_per_page(ctx)
    rows = sorted((int(t["generated_ts"]), t["id"], t) for t in st.tickets.values())
    eligible = [(ts, tid, t) for ts, tid, t in rows if (ts, tid) > after and ts <= cutoff]
    page = eligible[:size]
    end = len(eligible) <= size
    last = (page[-1][0], page[-1][1]) if page else after
    if not page and not cursor:
        last = (max(0, min(cutoff, after[0])), 0)
    after_cursor = _cursor(*last)
    params: list[tuple[str, str]] = [("cursor", after_cursor)]
    if ctx.q("per_page"):
        params.append(("per_page", str(size)))
    return Resp(200, {
        "tickets": [render.ticket(st, t, ctx.base) for _, _, t in page],
        "after_url": f"{ctx.base}/api/v2/incremental/tickets/cursor.json?" + urlencode(params),
        "after_cursor": after_cursor,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": end,
    })


def _child_events(st: State, a: Record, base: str, with_comments: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ev in a["events"]:
        if ev["type"] == "Comment":
            if not with_comments:
                continue
            c = render.comment(st, ev["comment"], base)
            out.append({
                "id": c["id"], "type": "Comment", "event_type": "Comment", "author_id": c["author_id"],
                "body": c["body"], "html_body": c["html_body"], "public": c["public"],
                "attachments": c["attachments"], "audit_id": a["id"], "created_at": c["created_at"],
                "via": c["via"], "metadata": c["metadata"],
            })
        elif ev["type"] in ("Create", "Change"):
            child = dict(ev)
            child["event_type"] = ev["type"]
            child["via"] = a["via"]
            if ev.get("field_name") in ("status", "subject", "priority", "type", "assignee_id", "requester_id",
                                        "organization_id", "group_id", "tags"):
                child[ev["field_name"]] = ev["value"]
            out.append(child)
        elif ev["type"] == "CommentPrivacyChange":
            child = dict(ev)
            child["event_type"] = "CommentPrivacyChange"
            child["via"] = a["via"]
            out.append(child)
        elif ev["type"] == "Notification":
            child = dict(ev)
            child["event_type"] = "Notification"
            out.append(child)
    return out


def ticket_events(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/incremental/ticket_events?start_time=[&include=comment_events]`` (time-based)."""
    require_admin(ctx)
    count_export_request(st)
    start = start_time(st, ctx)
    cutoff = int(st.clock.now()) - 60
    with_comments = "comment_events" in (ctx.q("include") or "")
    size = export_per_page(ctx)
    audits = [a for a in st.audit_log if start <= int(a["created_at"]) <= cutoff]
    page = audits[:size]
    # Events sharing the last timestamp all go in this page, so next_page (start_time=end_time) never
    # loops on a second holding more events than a page.
    if len(audits) > size and page:
        last_ts = int(page[-1]["created_at"])
        page += [a for a in audits[size:] if int(a["created_at"]) == last_ts]
    end_of_stream = len(page) == len(audits)
    end_time = int(page[-1]["created_at"]) if page else max(start, min(cutoff, start))
    if end_of_stream and page:
        end_time = int(page[-1]["created_at"]) + 1 if len(audits) else end_time
    events = []
    for a in page:
        t = st.tickets[a["ticket_id"]]
        events.append({
            "id": a["id"], "ticket_id": a["ticket_id"], "timestamp": int(a["created_at"]),
            "created_at": iso(a["created_at"]), "updater_id": a["author_id"], "via": a["via"]["channel"],
            "system": a["metadata"]["system"], "metadata": a["metadata"], "event_type": "Audit",
            "merged_ticket_ids": [], "ticket_status": t["status"],
            "child_events": _child_events(st, a, ctx.base, with_comments),
        })
    params = [(k, v) for k, vs in ctx.query.items() for v in vs if k != "start_time"]
    params.append(("start_time", str(end_time)))
    return Resp(200, {
        "ticket_events": events,
        "next_page": f"{ctx.base}/api/v2/incremental/ticket_events.json?" + urlencode(params),
        "previous_page": None,
        "count": len(events),
        "end_time": end_time,
        "end_of_stream": end_of_stream,
    })


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("GET", "/api/v2/incremental/tickets/cursor", tickets_cursor)
    r.add("GET", "/api/v2/incremental/ticket_events", ticket_events)
    _ = ApiError
