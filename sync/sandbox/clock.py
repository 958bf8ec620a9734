"""The sandbox clock: wall clock plus an offset that ``/__sandbox/clock/advance`` increases.

Timestamps, the ``Date`` header, auto-close and rate-limit windows all read this clock, so tests move
time forward instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from email.utils import formatdate

__all__ = ["Clock", "iso", "parse_iso"]


def iso(ts: float) -> str:
    """Zendesk's timestamp format: second precision, ``Z`` suffix."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str) -> float:
    """Parse an ISO-8601 timestamp (``Z`` or offset) into epoch seconds."""
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class Clock:
    """Wall clock shifted by a monotonically growing offset."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        """Seconds added to the wall clock so far."""
        return self._offset

    def now(self) -> float:
        """Current sandbox time in epoch seconds."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward (never backward: Zendesk time does not go back)."""
        with self._lock:
            self._offset += max(0.0, float(seconds))
            return self._offset

    def reset(self) -> None:
        """Back to the wall clock."""
        with self._lock:
            self._offset = 0.0

    def http_date(self) -> str:
        """RFC 7231 ``Date`` header value on the sandbox clock."""
        return formatdate(self.now(), usegmt=True)
