"""The HTML status page: what ``casesync status`` shows, for a browser.

Pure rendering of whatever mapping the status provider returns; any keys are shown, nested mappings and
lists included.  The page is self-contained (inline CSS, no scripts, no external assets, so it works
behind any proxy and under a strict Content-Security-Policy), every value is HTML-escaped, and a meta
refresh reloads it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import Any

__all__ = ["CSP", "humanize_key", "render_status_page", "to_json"]

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
"""The Content-Security-Policy the page is served with: inline styles only, forms to this origin only."""

_MAX_DEPTH = 4
_MAX_ITEMS = 50
# Keys whose positive numbers deserve an operator's attention.
_ATTENTION = ("dead", "conflict", "drift", "error", "fail")
_DURATION_SUFFIXES = ("_s", "_seconds", "_secs")

_CSS = """
:root { color-scheme: light dark; --fg: #1d2330; --muted: #6b7280; --bg: #f6f7f9; --card: #fff;
  --line: #e3e6eb; --warn: #b42318; --warn-bg: #fef3f2; --ok: #067647; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8ec; --muted: #9aa3b2; --bg: #14171c; --card: #1c2027;
  --line: #2c313a; --warn: #fda29b; --warn-bg: #3b1816; --ok: #75e0a7; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
main { max-width: 960px; margin: 0 auto; padding: 24px 16px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
.sub { color: var(--muted); margin: 0 0 20px; font-size: 13px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; vertical-align: top; padding: 8px 14px; border-bottom: 1px solid var(--line); }
tr:last-child > th, tr:last-child > td { border-bottom: 0; }
th { font-weight: 600; white-space: nowrap; width: 34%; }
td table { border: 1px solid var(--line); border-radius: 6px; font-size: 13px; }
td table th, td table td { padding: 4px 8px; }
td table th { width: auto; }
.num { font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.warn { color: var(--warn); background: var(--warn-bg); font-weight: 600; padding: 1px 6px; border-radius: 4px; }
.ok { color: var(--ok); }
.error { border: 1px solid var(--warn); background: var(--warn-bg); color: var(--warn); padding: 12px 14px;
  border-radius: 10px; margin-bottom: 16px; }
"""


def humanize_key(key: str) -> str:
    """``oldest_pending_age_s`` → ``Oldest pending age``; other text is kept (escaped by the caller)."""
    text = key
    for suffix in _DURATION_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
            break
    text = text.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else key


def _is_duration(key: str) -> bool:
    return key.endswith(_DURATION_SUFFIXES) or key.endswith(("_age", "_lag"))


def _duration(seconds: float) -> str:
    if seconds < 0:
        return "-" + _duration(-seconds)
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 and seconds != int(seconds) else f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def _number(key: str, value: float) -> str:
    if _is_duration(key):
        text = f'<span class="num" title="{escape(repr(value))} s">{escape(_duration(value))}</span>'
    elif isinstance(value, int):
        text = f'<span class="num">{value:,}</span>'
    else:
        text = f'<span class="num">{value:,.3f}</span>'.replace(".000<", "<")
    if value > 0 and any(word in key.lower() for word in _ATTENTION):
        return f'<span class="warn">{text}</span>'
    return text


def _value(key: str, value: Any, depth: int) -> str:
    if value is None:
        return '<span class="muted">—</span>'
    if isinstance(value, bool):
        return '<span class="ok">yes</span>' if value else '<span class="muted">no</span>'
    if isinstance(value, int | float):
        return _number(key, value)
    if isinstance(value, datetime | date):
        return f"<time>{escape(value.isoformat())}</time>"
    if isinstance(value, str | bytes):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        return escape(text) if text else '<span class="muted">(empty)</span>'
    if depth >= _MAX_DEPTH:
        return escape(_compact(value))
    if isinstance(value, Mapping):
        if not value:
            return '<span class="muted">none</span>'
        return _table(value, depth + 1)
    if isinstance(value, Sequence | set | frozenset):
        items = list(value)
        if not items:
            return '<span class="muted">none</span>'
        more = len(items) - _MAX_ITEMS
        shown = items[:_MAX_ITEMS]
        if all(isinstance(item, Mapping) for item in shown):
            html = _rows_table(shown, depth + 1)
        else:
            html = ", ".join(_value(key, item, depth + 1) for item in shown)
        if more > 0:
            html += f' <span class="muted">… and {more} more</span>'
        return html
    return escape(str(value))


def _compact(value: Any) -> str:
    try:
        return json.dumps(value, default=str, ensure_ascii=False)[:500]
    except (TypeError, ValueError):
        return str(value)[:500]


def _table(mapping: Mapping[Any, Any], depth: int) -> str:
    rows = "".join(
        f"<tr><th>{escape(humanize_key(str(k)))}</th><td>{_value(str(k), v, depth)}</td></tr>"
        for k, v in mapping.items()
    )
    return f"<table>{rows}</table>"


def _rows_table(items: Sequence[Mapping[Any, Any]], depth: int) -> str:
    columns: list[str] = []
    for item in items:
        columns.extend(str(k) for k in item if str(k) not in columns)
    head = "".join(f"<th>{escape(humanize_key(c))}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_value(c, _lookup(item, c), depth)}</td>" for c in columns) + "</tr>"
        for item in items
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _lookup(item: Mapping[Any, Any], column: str) -> Any:
    for key, value in item.items():
        if str(key) == column:
            return value
    return None


def render_status_page(
    status: Mapping[str, Any],
    *,
    generated_at: datetime,
    refresh_s: int = 10,
    error: str | None = None,
    extra_html: str = "",
    extra_css: str = "",
    notice_html: str = "",
) -> str:
    """Render ``status`` (any keys; nested mappings and lists allowed) as a complete HTML document.

    ``error``, when given, is shown above the table (e.g. the store could not be read); ``extra_html``
    (already escaped, e.g. the operator's sections) follows the table, ``notice_html`` precedes it.
    ``refresh_s`` 0: no auto-refresh.
    """
    banner = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    content = f'<div class="card">{_table(status, 0)}</div>' if status else ""
    if not status and not error:
        content = '<p class="muted">Nothing to report yet.</p>'
    stamp = escape(generated_at.isoformat(timespec="seconds"))
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + (f'<meta http-equiv="refresh" content="{int(refresh_s)}">' if refresh_s > 0 else "")
        + "<title>casesync status</title>"
        f"<style>{_CSS}{extra_css}</style></head>"
        f"<body><main><h1>casesync status</h1>"
        f'<p class="sub">Generated <time>{stamp}</time> · '
        + (f"refreshes every {int(refresh_s)} s · " if refresh_s > 0 else "")
        + '<a href="status.json">JSON</a> · <a href="metrics">metrics</a></p>'
        f"{banner}{notice_html}{content}{extra_html}</main></body></html>\n"
    )


def to_json(status: Mapping[str, Any]) -> str:
    """``status`` as JSON; datetimes become ISO-8601 and other unknown values their text."""

    def default(value: Any) -> Any:
        if isinstance(value, datetime | date):
            return value.isoformat()
        if isinstance(value, set | frozenset | tuple):
            return list(value)
        return str(value)

    return json.dumps(status, default=default, ensure_ascii=False, indent=2)
