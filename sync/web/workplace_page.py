"""The operator's part of the status page: charts of the last hour, a case lookup, dead letters with their
reasons (and, signed in, replay and discard), held entries, open conflicts and the latest errors.

Pure rendering of a :class:`~sync.workplace.WorkplaceView`; every value is HTML-escaped, the charts are
inline SVG (no script, no external asset, so the page's Content-Security-Policy stays strict).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from sync.workplace import Minute, WorkplaceView

__all__ = ["WORKPLACE_CSS", "pause_banner", "render_workplace", "svg_bars"]

WORKPLACE_CSS = """
section { margin-top: 22px; }
h2 { font-size: 17px; margin: 0 0 8px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); gap: 12px; }
.chart { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; }
.chart svg { width: 100%; height: 80px; display: block; }
.chart rect { fill: #4f7cff; }
.chart rect.lag { fill: #e08a00; }
.cap { font-size: 12px; color: var(--muted); margin: 0 0 6px; }
form.inline { display: inline; margin: 0 4px 0 0; }
button { font: inherit; font-size: 13px; padding: 2px 10px; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--fg); cursor: pointer; }
input[type=text], input[type=password] { font: inherit; padding: 3px 8px; border: 1px solid var(--line);
  border-radius: 6px; background: var(--card); color: var(--fg); }
.reason { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-word; }
"""

_WIDTH = 600
_HEIGHT = 80


def svg_bars(values: Sequence[float | None], *, label: str, css_class: str = "", unit: str = "") -> str:
    """A small bar chart of ``values`` (one bar each, None as a gap) as an inline SVG element."""
    top = max((v for v in values if v is not None), default=0.0) or 1.0
    width = _WIDTH / max(len(values), 1)
    bars = []
    for index, value in enumerate(values):
        if value is None or value <= 0:
            continue
        height = max(1.0, value / top * (_HEIGHT - 2))
        shown = f"{value:.1f}" if isinstance(value, float) and not value.is_integer() else f"{value:g}"
        bars.append(
            f'<rect class="{escape(css_class)}" x="{index * width:.1f}" y="{_HEIGHT - height:.1f}" '
            f'width="{max(width - 1, 1):.1f}" height="{height:.1f}"><title>{escape(shown + unit)}</title></rect>'
        )
    return (
        f'<svg viewBox="0 0 {_WIDTH} {_HEIGHT}" preserveAspectRatio="none" role="img" '
        f'aria-label="{escape(label)}">{"".join(bars)}</svg>'
    )


def _time(value: datetime | None) -> str:
    return f"<time>{escape(value.isoformat(timespec='seconds'))}</time>" if value else "—"


def _charts(minutes: list[Minute]) -> str:
    delivered = [float(m.delivered) for m in minutes]
    lags = [m.mean_lag_s for m in minutes]
    total = int(sum(delivered))
    worst = max((lag for lag in lags if lag is not None), default=None)
    worst_text = f"{worst:.1f} s" if worst is not None else "—"
    return (
        '<section><h2>The last hour</h2><div class="charts">'
        f'<div class="chart"><p class="cap">Changes delivered to Zendesk per minute · {total} in the hour</p>'
        f'{svg_bars(delivered, label="changes delivered per minute over the last hour", unit=" delivered")}</div>'
        f'<div class="chart"><p class="cap">Delay from queued to delivered, mean per minute · worst {worst_text}</p>'
        f'{svg_bars(lags, label="delivery delay per minute over the last hour", css_class="lag", unit=" s")}'
        "</div></div></section>"
    )


def _lookup(view: WorkplaceView, asked: str) -> str:
    form = (
        '<form method="get" action="/status"><label>Case <input type="text" name="case" '
        f'inputmode="numeric" value="{escape(asked)}" size="10"></label> <button>Look up</button></form>'
    )
    body = ""
    if view.case_missing is not None:
        body = f'<p class="muted">No case {view.case_missing}.</p>'
    elif view.case is not None:
        case = view.case
        rows = "".join(
            f"<tr><td>{e.id}</td><td>{escape(e.kind)}</td><td>{escape(e.status)}</td><td>{e.attempts}</td>"
            f'<td class="reason">{escape(e.last_error or "")}</td><td>{_time(e.delivered_at)}</td></tr>'
            for e in case.entries
        )
        ticket = str(case.ticket_id) if case.ticket_id is not None else "none yet"
        body = (
            f"<p>Case {case.case_id} of account <b>{escape(case.account_id)}</b>: {escape(case.status)}, "
            f"ticket {escape(ticket)}.</p>"
            '<div class="card"><table><tr><th>Entry</th><th>Kind</th><th>State</th><th>Attempts</th>'
            f"<th>Last error</th><th>Delivered</th></tr>{rows}</table></div>"
        )
    return f"<section><h2>Where is a case?</h2>{form}{body}</section>"


def _actions(queue: str, entry_id: int, csrf: str | None) -> str:
    if csrf is None:
        return ""
    return "".join(
        f'<form class="inline" method="post" action="/operator/dead-letters/{queue}/{entry_id}/{action}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}"><button>{label}</button></form>'
        for action, label in (("replay", "Replay"), ("discard", "Discard"))
    )


def _table_section(title: str, shown_title: str, headers: list[str], rows: list[str]) -> str:
    """One section of the page: ``title`` and "None." when empty, else ``shown_title`` over a table."""
    if not rows:
        return f'<section><h2>{title}</h2><p class="muted">None.</p></section>'
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = f'<div class="card"><table><tr>{head}</tr>{"".join(rows)}</table></div>'
    return f"<section><h2>{shown_title}</h2>{body}</section>"


def _dead_letters(view: WorkplaceView, csrf: str | None) -> str:
    rows = [
        f"<tr><td>{d.queue} {d.id}</td><td>{escape(d.kind)}</td><td>{escape(d.account_id or '')}</td>"
        f"<td>{d.case_id if d.case_id is not None else ''}</td><td>{d.attempts}</td>"
        f'<td class="reason">{escape(d.reason)}</td><td>{_time(d.created_at)}</td>'
        f"<td>{_actions(d.queue, d.id, csrf)}</td></tr>"
        for d in view.dead_letters
    ]
    headers = ["Entry", "Kind", "Account", "Case", "Attempts", "Reason", "Queued", ""]
    return _table_section("Dead letters", f"Dead letters ({len(rows)})", headers, rows)


def _held(view: WorkplaceView) -> str:
    rows = [
        f"<tr><td>{e.id}</td><td>{escape(e.kind)}</td><td>{escape(e.ordering_key)}</td>"
        f'<td class="reason">{escape(why)}</td></tr>'
        for e, why in view.held
    ]
    headers = ["Entry", "Kind", "Ordering key", "Waiting for"]
    return _table_section("Held entries", f"Held entries ({len(rows)})", headers, rows)


def _conflicts(view: WorkplaceView) -> str:
    rows = [
        f"<tr><td>{c.id}</td><td>{escape(c.kind)}</td><td>{c.case_id if c.case_id is not None else ''}</td>"
        f"<td>{c.ticket_id if c.ticket_id is not None else ''}</td>"
        f'<td class="reason">{escape(c.detail)}</td><td>{_time(c.created_at)}</td></tr>'
        for c in view.conflicts
    ]
    headers = ["Id", "Kind", "Case", "Ticket", "Detail", "Recorded"]
    return _table_section("Open conflicts", f"Open conflicts ({len(rows)})", headers, rows)


def _errors(view: WorkplaceView) -> str:
    rows = [
        f"<tr><td>{e.id}</td><td>{escape(e.kind)}</td><td>{e.attempts}</td>"
        f'<td class="reason">{escape(e.last_error or "")}</td><td>{_time(e.next_attempt_at)}</td></tr>'
        for e in view.recent_errors
    ]
    headers = ["Entry", "Kind", "Attempts", "Error", "Next attempt"]
    return _table_section("Latest errors", "Latest errors (retrying)", headers, rows)


def _operator(enabled: bool, csrf: str | None) -> str:
    if not enabled:
        return '<p class="sub">Read-only: set CASESYNC_OPERATOR_TOKEN to replay and discard from this page.</p>'
    if csrf is None:
        return (
            '<form method="post" action="/operator/login" class="sub"><label>Operator token '
            '<input type="password" name="token" autocomplete="current-password"></label> '
            "<button>Sign in</button></form>"
        )
    return (
        '<form method="post" action="/operator/logout" class="sub">Signed in as operator. '
        f'<input type="hidden" name="csrf" value="{escape(csrf)}"><button>Sign out</button></form>'
    )


def pause_banner(status: Mapping[str, Any]) -> str:
    """An alert above everything while the Zendesk connection is paused (from :func:`sync.status.collect_status`)."""
    if status.get("connection") != "paused":
        return ""
    cause = "Zendesk refuses the credentials" if status.get("connection_paused_cause") == "credentials_refused" else (
        "Zendesk is unreachable"
    )
    since = escape(str(status.get("connection_paused_since") or "?"))
    detail = escape(str(status.get("connection_paused_detail") or ""))
    return (
        f'<div class="error" role="alert">Sync paused: {cause} (since <time>{since}</time>). Nothing is '
        f'dead-lettered meanwhile; it resumes by itself once Zendesk accepts it again.<br>'
        f'<span class="reason">{detail}</span></div>'
    )


def render_workplace(view: WorkplaceView, *, operator_enabled: bool, csrf: str | None, asked_case: str) -> str:
    """The operator's sections; ``csrf`` is the signed-in session's token (None: not signed in)."""
    return (
        _operator(operator_enabled, csrf)
        + _charts(view.minutes)
        + _lookup(view, asked_case)
        + _dead_letters(view, csrf)
        + _held(view)
        + _conflicts(view)
        + _errors(view)
    )
