"""Keeping the leases of a live process's claims alive, so that a lease expires when its worker dies.

A claim leases its entries for ``lease_s``.  A worker that takes longer than that over its batch — a
slow Zendesk, a gateway call retrying a 503, a pacer spreading requests under the rate limit — would
otherwise lose entries it has not reached yet, or the one in hand, to another worker: two workers on one
case at once, which is what the leases exist to prevent.  So each store renews, every third of the lease,
the leases its own workers still hold.  Leases therefore last as long as the process that took them:
when it dies (SIGKILL, a power cut, a lost machine) the renewals stop and another worker takes the
entries over within ``lease_s``.

Only leases still in force are renewed: one that already lapsed may have been taken over (its owner
changed, so it is not touched) or is about to be, and is left to run out.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import Connection

from sync.logging import get_logger
from sync.store import schema as s

__all__ = ["LeaseHeartbeat"]

log = get_logger(__name__)


class LeaseHeartbeat:
    """A daemon thread renewing the outbox and inbox leases held by the worker ids it was told about.

    ``transaction`` opens a write transaction on the store's connection; ``now`` is the store's clock.
    """

    def __init__(self, transaction: Callable[[], object], now: Callable[[], datetime]) -> None:
        self._transaction = transaction
        self._now = now
        self._lock = threading.Lock()
        self._owners: dict[str, float] = {}  # worker id -> the lease_s of its claims
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, worker_id: str, lease_s: float) -> None:
        """Start renewing ``worker_id``'s leases (called on each claim); starts the thread once."""
        with self._lock:
            self._owners[worker_id] = lease_s
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, args=(self._stop,), name="casesync-lease-heartbeat", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        """Stop renewing (the store is closing); the leases then run out normally."""
        with self._lock:
            stop, thread = self._stop, self._thread
            # A store used again after close() starts a fresh thread on its next claim.
            self._stop, self._thread = threading.Event(), None
        stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _interval(self) -> float:
        with self._lock:
            shortest = min(self._owners.values(), default=30.0)
        return max(shortest / 3.0, 0.05)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(self._interval()):
            try:
                self.renew()
            except Exception as exc:  # the database is away: the leases lapse, as they should
                log.warning("lease_heartbeat_failed", error=str(exc))

    def renew(self) -> int:
        """Renew every lease in force of the known workers now; returns how many rows were renewed."""
        with self._lock:
            owners = dict(self._owners)
        if not owners:
            return 0
        renewed = 0
        with self._transaction() as conn:  # type: ignore[attr-defined]
            assert isinstance(conn, Connection)
            now = self._now()
            for owner, lease_s in owners.items():
                until = now + timedelta(seconds=lease_s)
                for table in (s.outbox, s.inbox):
                    c = table.c
                    in_force = (c.lease_owner == owner, c.status == "pending", c.lease_until > now)
                    res = conn.execute(table.update().where(*in_force, c.lease_until < until).values(lease_until=until))
                    renewed += res.rowcount or 0
        return renewed
