"""Process-wide exclusive locks on PostgreSQL: session-level advisory locks on dedicated connections.

A named lease (a row with an expiry) is taken over only after its TTL, and a holder that outlives its TTL
(a long poll) silently loses it while still working.  A session-level ``pg_try_advisory_lock`` has neither
problem: PostgreSQL holds it exactly as long as the session that took it, and drops it the moment that
session ends — the holder released it, its process died (SIGKILL included: the kernel closes the socket),
or its machine vanished (TCP keepalives, set below, let the server notice within about half a minute).

Each held lock keeps one connection checked out of the store's pool, in autocommit mode, so no
transaction stays open on it.  Advisory locks are re-entrant within a session, so this class also
remembers which owner holds each name: a second owner asking through the same store is refused, as it
would be from another process.
"""

from __future__ import annotations

import hashlib
import threading

from sqlalchemy import Connection, Engine, text

from sync.logging import get_logger

__all__ = ["PgAdvisoryLocks", "advisory_key"]

log = get_logger(__name__)

# The server checks an idle client after this many seconds, then every interval, and gives up (ending the
# session, and so releasing its locks) after ``count`` unanswered probes: a vanished machine's lock
# returns within about idle + interval * count seconds.
_KEEPALIVE_IDLE_S = 10
_KEEPALIVE_INTERVAL_S = 5
_KEEPALIVE_COUNT = 3


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks are keyed by bigint)."""
    digest = hashlib.blake2b(f"casesync:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PgAdvisoryLocks:
    """The advisory locks one store holds, each on its own connection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._held: dict[str, tuple[str, Connection]] = {}

    def try_acquire(self, name: str, owner: str) -> bool:
        """Take ``name`` for ``owner`` without waiting; True when ``owner`` holds it afterwards."""
        with self._lock:
            held = self._held.get(name)
            if held is not None:
                if held[0] != owner:
                    return False
                if self._alive(held[1]):
                    return True
                # The session ended under us (server restart, network): the lock went with it.
                log.warning("advisory_lock_lost", name=name, owner=owner)
                self._drop(name)
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                for setting, value in (
                    ("tcp_keepalives_idle", _KEEPALIVE_IDLE_S),
                    ("tcp_keepalives_interval", _KEEPALIVE_INTERVAL_S),
                    ("tcp_keepalives_count", _KEEPALIVE_COUNT),
                ):
                    conn.execute(text(f"SET {setting} = {int(value)}"))
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": advisory_key(name)}).scalar())
            except BaseException:
                conn.invalidate()
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self._held[name] = (owner, conn)
            return True

    def release(self, name: str, owner: str) -> None:
        """Give ``name`` back if ``owner`` holds it (no effect otherwise)."""
        with self._lock:
            held = self._held.get(name)
            if held is not None and held[0] == owner:
                self._drop(name)

    def holder(self, name: str) -> str | None:
        """The owner holding ``name`` through this store, if any."""
        with self._lock:
            held = self._held.get(name)
            return held[0] if held else None

    def close(self) -> None:
        """Release every lock this store holds."""
        with self._lock:
            for name in list(self._held):
                self._drop(name)

    # -- helpers (called with self._lock held) -------------------------------------------------------

    @staticmethod
    def _alive(conn: Connection) -> bool:
        try:
            conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    def _drop(self, name: str) -> None:
        _, conn = self._held.pop(name)
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key(name)})
        except Exception:
            # Unknown whether the unlock ran: end the session, which drops the lock for certain, rather
            # than hand a possibly locked connection back to the pool.
            conn.invalidate()
        finally:
            conn.close()
