"""Telling a database that is away (restarting, unreachable) from a bug, so a service can wait it out.

``serve`` rides out a PostgreSQL restart: the engine's loop and the reconcile schedule catch what
:func:`is_store_outage` recognises, report ``/readyz`` 503 meanwhile, and try again with
:class:`OutageBackoff`'s delays; the pool's pre-ping (:mod:`sync.store.engine`) replaces the connections the
restart broke, so nothing else needs to notice.  Every write is one transaction, so a write cut off by the
outage is rolled back whole and done again on the next try: nothing is lost or stored half-way.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from sync.backoff import Backoff

__all__ = ["OutageBackoff", "is_store_outage"]


def is_store_outage(exc: BaseException) -> bool:
    """True for a refused, dropped or timed-out database connection (not for a bad statement)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class OutageBackoff:
    """Delays between tries while the database is away: 0.5 s doubling to ``cap_s``; reset on success."""

    def __init__(self, *, base_s: float = 0.5, cap_s: float = 15.0) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.failures = 0

    def next_delay(self) -> float:
        """Record one more failed try; the wait before the next."""
        self.failures += 1
        return Backoff(self.base_s, self.cap_s).delay(self.failures)

    def reset(self) -> None:
        """The database answered again."""
        self.failures = 0
