"""Request/response types and the route table shared by every endpoint module."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from .errors import ApiError, bad_request
from .state import Record, State

__all__ = [
    "OFFSET_DEPTH_LIMIT", "Ctx", "Handler", "Resp", "Router", "cursor_page", "offset_page", "paginate", "parse_query",
    "require",
]


@dataclass
class Ctx:
    """One parsed request plus who is making it."""

    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes
    base: str
    user: Record | None = None
    auth_user: Record | None = None
    scopes: frozenset[str] | None = None
    impersonated: bool = False
    _json: Any = field(default=None, repr=False)

    def q(self, name: str, default: str | None = None) -> str | None:
        """First value of a query parameter (already percent-decoded)."""
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> dict[str, Any]:
        """The JSON body as an object ({} when empty); 400 when it is not JSON."""
        if self._json is None:
            if not self.raw.strip():
                self._json = {}
            else:
                try:
                    self._json = json.loads(self.raw)
                except ValueError as exc:
                    raise bad_request("InvalidJSON", f"Invalid JSON body: {exc}") from exc
            if not isinstance(self._json, dict):
                raise bad_request("InvalidJSON", "The request body must be a JSON object")
        body: dict[str, Any] = self._json
        return body

    @property
    def client(self) -> str:
        """The caller's User-Agent (kept in audit metadata as Zendesk does)."""
        return self.headers.get("user-agent", "")

    def ids_param(self, name: str = "ids", limit: int = 100) -> list[str]:
        """A comma-separated list parameter, with Zendesk's 100-value limit."""
        raw = self.q(name) or ""
        values = [v.strip() for v in raw.split(",") if v.strip()]
        if len(values) > limit:
            from .errors import too_many_values

            raise too_many_values(name, limit)
        return values


@dataclass
class Resp:
    """A response: JSON ``body`` unless ``raw`` is given."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json; charset=utf-8"


Handler = Callable[[State, Ctx, dict[str, str]], Resp]


class Router:
    """Regex routes on the path without ``.json``; a route names its template for ``/__sandbox/stats``."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def add(self, method: str, template: str, handler: Handler) -> None:
        """Register ``handler`` for ``method`` and a template such as ``/api/v2/tickets/{id}``."""
        pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        self._routes.append((method, re.compile(f"^{pattern}$"), template, handler))

    def match(self, method: str, path: str) -> tuple[str, Handler, dict[str, str]] | None:
        """The route for a request, ``None`` when the path is unknown; 405-like misses return None too."""
        for m, rx, template, handler in self._routes:
            if m != method:
                continue
            found = rx.match(path)
            if found:
                return template, handler, found.groupdict()
        return None

    def template_for(self, method: str, path: str) -> str:
        """The route template of a path (the path itself when unknown)."""
        for m, rx, template, _ in self._routes:
            if m == method and rx.match(path):
                return template
        return path


def _page_size(ctx: Ctx, default: int = 100, maximum: int = 100) -> int:
    raw = ctx.q("page[size]")
    try:
        size = int(raw) if raw else default
    except ValueError as exc:
        raise bad_request("InvalidPaginationParameter", "page[size] must be an integer") from exc
    return max(1, min(size, maximum))


def _encode_cursor(index: int) -> str:
    import base64

    return base64.b64encode(json.dumps({"o": "id", "v": index}).encode()).decode()


def _decode_cursor(cursor: str) -> int:
    import base64

    try:
        value = json.loads(base64.b64decode(cursor.encode()))
        return int(value["v"])
    except (ValueError, KeyError, TypeError) as exc:
        raise bad_request("InvalidPaginationParameter", "Invalid cursor") from exc


def cursor_page(ctx: Ctx, key: str, items: list[Any], render: Callable[[Any], Any]) -> Resp:
    """Zendesk's cursor pagination (``page[size]``, ``page[after]``/``page[before]``, ``meta``, ``links``).

    Cursors are positions in ``items`` (ordered oldest first); links are absolute, built from the Host.
    """
    size = _page_size(ctx)
    after, before = ctx.q("page[after]"), ctx.q("page[before]")
    if after and before:
        raise bad_request("InvalidPaginationParameter", "page[before] and page[after] can't be used together")
    if after:
        start = _decode_cursor(after) + 1
        chunk = items[start : start + size]
    elif before:
        end = _decode_cursor(before)
        start = max(0, end - size)
        chunk = items[start:end]
    else:
        start = 0
        chunk = items[:size]
    last = start + len(chunk) - 1
    has_more = last + 1 < len(items)
    after_cursor = _encode_cursor(last) if chunk else None
    before_cursor = _encode_cursor(start) if chunk else None
    keep = [(k, v) for k, vs in ctx.query.items() for v in vs if k not in ("page[after]", "page[before]")]

    def link(name: str, cursor: str | None) -> str | None:
        if cursor is None:
            return None
        return f"{ctx.base}{ctx.path}.json?" + urlencode([*keep, (name, cursor)])

    return Resp(
        200,
        {
            key: [render(i) for i in chunk],
            "meta": {"has_more": has_more, "after_cursor": after_cursor, "before_cursor": before_cursor},
            "links": {"next": link("page[after]", after_cursor), "prev": link("page[before]", before_cursor)},
        },
    )


#: Records offset pagination may reach; past them Zendesk answers 400.
OFFSET_DEPTH_LIMIT = 10_000


def offset_page(ctx: Ctx, key: str, items: list[Any], render: Callable[[Any], Any]) -> Resp:
    """Offset pagination (``page``, ``per_page``) with absolute ``next_page``/``previous_page``."""
    try:
        page = max(1, int(ctx.q("page") or 1))
        per_page = max(1, min(100, int(ctx.q("per_page") or 100)))
    except ValueError as exc:
        raise bad_request("InvalidPaginationParameter", "page and per_page must be integers") from exc
    if (page - 1) * per_page >= OFFSET_DEPTH_LIMIT:
        # "OBP requests over the first 10,000 records (100 pages) will result in an error message: 400 Bad
        # Request" (Zendesk announcement, help center article 5591904358938).
        raise bad_request("InvalidPaginationParameter",
                          f"Offset pagination is limited to the first {OFFSET_DEPTH_LIMIT} records; use cursor "
                          "pagination (page[size]) to go further")
    chunk = items[(page - 1) * per_page : page * per_page]
    keep = [(k, v) for k, vs in ctx.query.items() for v in vs if k != "page"]

    def link(n: int) -> str:
        return f"{ctx.base}{ctx.path}.json?" + urlencode([*keep, ("page", str(n))])

    return Resp(
        200,
        {
            key: [render(i) for i in chunk],
            "next_page": link(page + 1) if page * per_page < len(items) else None,
            "previous_page": link(page - 1) if page > 1 else None,
            "count": len(items),
        },
    )


def paginate(ctx: Ctx, key: str, items: list[Any], render: Callable[[Any], Any]) -> Resp:
    """Cursor pagination when ``page[size]`` is given, offset pagination otherwise (as on Zendesk)."""
    if "page[size]" in ctx.query or "page[after]" in ctx.query or "page[before]" in ctx.query:
        return cursor_page(ctx, key, items, render)
    return offset_page(ctx, key, items, render)


def parse_query(qs: str) -> dict[str, list[str]]:
    """Decode a query string (zenpy sends ``page%5Bsize%5D=100``)."""
    return parse_qs(qs, keep_blank_values=True)


def require(cond: bool, err: Callable[[], ApiError]) -> None:
    """Raise ``err()`` unless ``cond``."""
    if not cond:
        raise err()
