"""The wall clock casesync's workers default to, in UTC.

Every worker takes its clock as a constructor argument (tests pass their own); this is the one default, so
"now" always means an aware UTC datetime.  Zendesk's own clock, read from its ``Date`` headers, is
:class:`mappings.cursor.ZendeskClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utc_now"]


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)
