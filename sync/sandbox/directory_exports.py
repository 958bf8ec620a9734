"""Incremental exports of users and organizations (Zendesk's Incremental Exports reference).

* ``GET /api/v2/incremental/users/cursor?start_time=|cursor=`` → ``{users, after_cursor, after_url,
  before_cursor, before_url, end_of_stream}``;
* ``GET /api/v2/incremental/users?start_time=`` and ``/organizations?start_time=`` (time-based) →
  ``{users|organizations, count, end_time, next_page, end_of_stream}``; the next page starts at ``end_time``.

Records are ordered by ``updated_at``; the most recent minute is excluded and ``start_time`` validated as for
the ticket exports; ``per_page`` (users, at most 1000) sets the page size.  They share the export rate limit.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from . import render
from .auth import require_admin
from .errors import bad_request
from .exports import count_export_request, export_per_page, start_time
from .routing import Ctx, Resp, Router
from .state import Record, State

__all__ = ["register"]


def _rows(st: State, records: dict[int, Record]) -> list[tuple[int, int, Record]]:
    cutoff = int(st.clock.now()) - 60
    return sorted((int(r["updated_at"]), r["id"], r) for r in records.values()
                  if int(r["updated_at"]) <= cutoff and not r.get("deleted"))


def users_cursor(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/incremental/users/cursor``."""
    require_admin(ctx)
    count_export_request(st)
    cursor = ctx.q("cursor")
    if cursor:
        try:
            ts, _sep, uid = base64.b64decode(cursor.encode()).decode().partition("|")
            after = (int(ts), int(uid))
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request("InvalidCursor", "Invalid cursor") from exc
    else:
        after = (start_time(st, ctx) - 1, 2**62)
    size = export_per_page(ctx)
    eligible = [row for row in _rows(st, st.users) if (row[0], row[1]) > after]
    page = eligible[:size]
    last = (page[-1][0], page[-1][1]) if page else after
    after_cursor = base64.b64encode(f"{last[0]}|{last[1]}".encode()).decode()
    return Resp(200, {
        "users": [render.user(u, ctx.base) for _, _, u in page],
        "after_cursor": after_cursor,
        "after_url": f"{ctx.base}/api/v2/incremental/users/cursor.json?" + urlencode([("cursor", after_cursor)]),
        "before_cursor": None, "before_url": None,
        "end_of_stream": len(eligible) <= size,
    })


def _time_based(key: str, records: Callable[[State], dict[int, Record]],
                draw: Callable[[Record, str], dict[str, Any]]) -> Callable[[State, Ctx, dict[str, str]], Resp]:
    def handler(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        require_admin(ctx)
        count_export_request(st)
        start = start_time(st, ctx)
        size = export_per_page(ctx)
        eligible = [row for row in _rows(st, records(st)) if row[0] >= start]
        page = eligible[:size]
        end = len(eligible) <= size
        end_time = page[-1][0] if page else start
        if not end and end_time == start:
            end_time = start + 1  # never hand back the same start_time: the client would loop
        params = [(k, v) for k, vs in ctx.query.items() for v in vs if k != "start_time"]
        params.append(("start_time", str(end_time)))
        return Resp(200, {
            key: [draw(r, ctx.base) for _, _, r in page],
            "count": len(page),
            "end_time": end_time,
            "next_page": f"{ctx.base}/api/v2/incremental/{key}.json?" + urlencode(params),
            "end_of_stream": end,
        })

    return handler


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("GET", "/api/v2/incremental/users/cursor", users_cursor)
    r.add("GET", "/api/v2/incremental/users", _time_based("users", lambda st: st.users, render.user))
    r.add("GET", "/api/v2/incremental/organizations",
          _time_based("organizations", lambda st: st.organizations, render.organization))
