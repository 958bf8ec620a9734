"""Cursor arithmetic for Zendesk's incremental export (docs/design.md §6, "Polling in run_once()").

All times are **Zendesk's clock**: the latest ``Date`` header seen plus the local (monotonic) time elapsed
since, so a skewed local clock never over-spends the export's budget or asks for data Zendesk refuses.

* Budget: the export allows :data:`EXPORT_LIMIT` requests per minute.  A pass polls unless the export requests
  dated within the last 60 s of Zendesk's clock already number ``EXPORT_LIMIT`` minus what one poll needs.
  It is a count over a sliding window, never a minimum spacing between polls.
* ``start_time`` must be at least a minute in the past: :func:`clamp_start_time`.
* ``after_cursor`` is base64 of ``"<epoch>.0||<ticket_id>|"``: :func:`decode_after_cursor` reads the time it
  stands at, for display and for the lag (:func:`lag_seconds`).  casesync never builds cursors itself for
  requests; :func:`encode_after_cursor` exists for tests and emulation.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from mappings.errors import InvalidCursor

__all__ = [
    "EXPORT_LIMIT",
    "EXPORT_WINDOW_S",
    "START_TIME_LAG_S",
    "CursorPosition",
    "ZendeskClock",
    "clamp_start_time",
    "decode_after_cursor",
    "encode_after_cursor",
    "export_requests_in_window",
    "lag_seconds",
    "may_poll",
    "prune_request_log",
]

#: Requests per minute the incremental export endpoints accept.
EXPORT_LIMIT = 10
#: The window the limit counts over, in seconds.
EXPORT_WINDOW_S = 60.0
#: Zendesk refuses (and leaves out) data of the last minute: ``start_time`` is at most now minus this.
START_TIME_LAG_S = 60

_CURSOR_RE = re.compile(r"(?P<epoch>\d+)(?:\.\d+)?\|\|(?P<ticket>\d*)\|?")


class ZendeskClock(BaseModel):
    """Zendesk's clock as last observed: the ``Date`` of a response and the local monotonic time it arrived."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: datetime
    seen_at_monotonic: float

    def now(self, monotonic_now: float) -> datetime:
        """Zendesk's current time: the ``Date`` seen plus the local time elapsed since (never negative)."""
        return self.date + timedelta(seconds=max(0.0, monotonic_now - self.seen_at_monotonic))

    def observe(self, date: datetime, monotonic_now: float) -> ZendeskClock:
        """The clock after a response with this ``Date``; a later header wins, an earlier one is ignored.

        ``Date`` has one-second resolution, so a header that reads earlier than the extrapolated time is
        the same instant truncated, not the clock going back.
        """
        if date >= self.now(monotonic_now):
            return ZendeskClock(date=date, seen_at_monotonic=monotonic_now)
        return self


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def export_requests_in_window(
    request_dates: Iterable[datetime], zendesk_now: datetime, *, window_s: float = EXPORT_WINDOW_S
) -> int:
    """How many export requests are dated within the last ``window_s`` seconds of Zendesk's clock."""
    now = _aware(zendesk_now)
    start = now - timedelta(seconds=window_s)
    return sum(1 for date in request_dates if start < _aware(date) <= now)


def may_poll(
    request_dates: Iterable[datetime],
    zendesk_now: datetime,
    *,
    requests_per_poll: int = 1,
    limit: int = EXPORT_LIMIT,
    window_s: float = EXPORT_WINDOW_S,
) -> bool:
    """Whether a pass may poll now: unless the requests in the window already number ``limit`` minus
    ``requests_per_poll``.  No minimum spacing is enforced here (that is ``run_forever``'s pacing)."""
    if requests_per_poll < 0:
        raise ValueError("requests_per_poll must not be negative")
    used = export_requests_in_window(request_dates, zendesk_now, window_s=window_s)
    return used < limit - requests_per_poll


def prune_request_log(
    request_dates: Iterable[datetime], zendesk_now: datetime, *, window_s: float = EXPORT_WINDOW_S
) -> list[datetime]:
    """The request dates that still count (inside the window, or in the future of a skewed clock)."""
    start = _aware(zendesk_now) - timedelta(seconds=window_s)
    return sorted(date for date in request_dates if _aware(date) > start)


def _epoch(value: int | float | datetime) -> float:
    if isinstance(value, datetime):
        return _aware(value).timestamp()
    return float(value)


def clamp_start_time(start_time: int | float | datetime, zendesk_now: int | float | datetime) -> int:
    """The ``start_time`` to send (epoch seconds): never later than Zendesk's now minus one minute."""
    latest = math.floor(_epoch(zendesk_now)) - START_TIME_LAG_S
    return max(0, min(math.floor(_epoch(start_time)), latest))


class CursorPosition(BaseModel):
    """Where an ``after_cursor`` stands: the export time it resumes from and the last ticket id, if any."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timestamp: int
    ticket_id: int | None = None

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp, tz=UTC)


def decode_after_cursor(cursor: str) -> CursorPosition:
    """Decode Zendesk's ``after_cursor`` (base64 of ``"<epoch>.0||<ticket_id>|"``); ``InvalidCursor`` if not."""
    if not isinstance(cursor, str) or not cursor.strip():
        raise InvalidCursor(cursor)
    text = cursor.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_" if ("-" in text or "_" in text) else None, validate=True)
        decoded = raw.decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidCursor(cursor) from None
    match = _CURSOR_RE.fullmatch(decoded)
    if match is None:
        raise InvalidCursor(cursor)
    ticket = match.group("ticket")
    return CursorPosition(timestamp=int(match.group("epoch")), ticket_id=int(ticket) if ticket else None)


def encode_after_cursor(position: CursorPosition) -> str:
    """The cursor Zendesk would give for ``position`` (for tests and emulation)."""
    ticket = "" if position.ticket_id is None else str(position.ticket_id)
    return base64.b64encode(f"{position.timestamp}.0||{ticket}|".encode("ascii")).decode("ascii")


def lag_seconds(position: CursorPosition | int | float | datetime, zendesk_now: int | float | datetime) -> float:
    """How far the export stands behind Zendesk's now, in seconds (never negative)."""
    at = position.timestamp if isinstance(position, CursorPosition) else _epoch(position)
    return max(0.0, _epoch(zendesk_now) - float(at))
