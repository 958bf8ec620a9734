"""``GET /api/v2/search?query=``: Zendesk's search over tickets, users and organizations, common forms only.

Supported query terms (Zendesk's "Zendesk Support search reference"): ``type:ticket|user|organization``,
``status:<s>`` and ``status<s``/``status>s`` (ordered new < open < pending < hold < solved < closed),
``tags:<t>``, ``requester:<email|id>``, ``assignee:<email|id>``, ``organization:<id>``, ``external_id:<x>``,
``email:<x>``, ``subject:<text>``, quoted phrases and bare words (matched in subject, description, name and
email).  Results carry ``result_type``; offset pagination only, at most 1000 results per query (the
``search`` notes of Zendesk's pagination guide), each page ``per_page`` ≤ 100.  Unlike Zendesk's index,
results are never stale.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from . import render
from .auth import require_staff
from .errors import bad_request
from .routing import Ctx, Resp, Router, offset_page
from .state import Record, State

__all__ = ["register"]

_STATUS_ORDER = ["new", "open", "pending", "hold", "solved", "closed"]
_TERM = re.compile(r"^(?P<key>[a-z_]+)(?P<op>[:<>])(?P<value>.+)$")
MAX_RESULTS = 1000


def _user_matches(st: State, value: str, user_id: int | None) -> bool:
    if user_id is None:
        return False
    if value.isdigit():
        return user_id == int(value)
    user = st.users.get(user_id)
    return user is not None and (user.get("email") or "").lower() == value.lower()


def _ticket_ok(st: State, t: Record, key: str, op: str, value: str) -> bool | None:
    if key == "status":
        if value not in _STATUS_ORDER:
            return False
        here, there = _STATUS_ORDER.index(t["status"]), _STATUS_ORDER.index(value)
        return {"<": here < there, ">": here > there, ":": here == there}[op]
    if key in ("tags", "tag"):
        return value.lower() in t["tags"]
    if key == "requester":
        return _user_matches(st, value, t["requester_id"])
    if key == "assignee":
        return (value == "none" and t["assignee_id"] is None) or _user_matches(st, value, t["assignee_id"])
    if key == "organization":
        return str(t["organization_id"]) == value
    if key == "external_id":
        return str(t.get("external_id") or "") == value
    if key == "subject":
        return value.lower() in (t["subject"] or "").lower()
    return None


def _text(record: Record, *fields: str) -> str:
    return " ".join(str(record.get(f) or "") for f in fields).lower()


def _matches(st: State, kind: str, record: Record, terms: list[tuple[str, str, str]], words: list[str]) -> bool:
    for key, op, value in terms:
        if kind == "ticket":
            ok = _ticket_ok(st, record, key, op, value)
        elif key == "email":
            ok = (record.get("email") or "").lower() == value.lower()
        elif key == "external_id":
            ok = str(record.get("external_id") or "") == value
        elif key == "name":
            ok = value.lower() in (record.get("name") or "").lower()
        else:
            ok = None
        if ok is None or not ok:
            return False
    haystack = _text(record, "subject", "description") if kind == "ticket" else _text(record, "name", "email")
    return all(w.lower() in haystack for w in words)


def search(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """Answer a search query (``query`` is required)."""
    require_staff(ctx)
    query = (ctx.q("query") or "").strip()
    if not query:
        raise bad_request("InvalidValue", "query is required")
    try:
        tokens = shlex.split(query)
    except ValueError as exc:
        raise bad_request("InvalidValue", f"Invalid search query: {exc}") from exc
    kinds = ["ticket", "user", "organization"]
    terms: list[tuple[str, str, str]] = []
    words: list[str] = []
    for token in tokens:
        found = _TERM.match(token)
        if found and found["key"] == "type":
            kinds = [found["value"].lower()]
        elif found:
            terms.append((found["key"], found["op"], found["value"].strip('"')))
        else:
            words.append(token)
    pools: dict[str, list[Record]] = {
        "ticket": [t for t in st.tickets.values() if not t["deleted"]],
        "user": [u for u in st.users.values() if not u.get("deleted")],
        "organization": [o for o in st.organizations.values() if not o.get("deleted")],
    }
    results: list[tuple[str, Record]] = [(k, r) for k in kinds for r in pools.get(k, [])
                                         if _matches(st, k, r, terms, words)][:MAX_RESULTS]

    def draw(item: tuple[str, Record]) -> dict[str, Any]:
        kind, record = item
        body = (render.ticket(st, record, ctx.base) if kind == "ticket" else
                render.user(record, ctx.base) if kind == "user" else render.organization(record, ctx.base))
        return {**body, "result_type": kind}

    resp = offset_page(ctx, "results", results, draw)
    resp.body["facets"] = None
    return resp


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("GET", "/api/v2/search", search)
