"""Wake-ups for readers waiting on the change feed (``SupportCases.changes(..., wait=...)``).

A :class:`FeedSignal` counts "the feed may have grown" events.  Write transactions of this process that
appended to the feed signal it once they have committed.  Other processes are noticed per backend:

* **PostgreSQL**: the transaction that appends to the feed runs ``pg_notify('casesync_feed', '')``, which
  PostgreSQL delivers at commit (never for a rolled-back write); one listener thread per store holds a
  connection that ``LISTEN``\\ s and signals every notification.  Waiters still re-read the feed every
  ``poll_s`` (1 s) so a notification lost while the listener reconnects costs at most that much delay.
* **SQLite** has no cross-process notification, so waiters re-read the feed's head every ``poll_s``
  (50 ms): one indexed read of the feed per waiter and interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sync.logging import get_logger

__all__ = ["PG_CHANNEL", "FeedSignal"]

log = get_logger(__name__)

#: The NOTIFY channel of feed appends.
PG_CHANNEL = "casesync_feed"


class FeedSignal:
    """A generation counter with waiting; ``listen_url`` (PostgreSQL) adds cross-process wake-ups."""

    def __init__(
        self, *, poll_s: float, listen_url: str | None = None, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.poll_s = poll_s
        self.monotonic = monotonic
        self._listen_url = listen_url
        self._cond = threading.Condition()
        self._generation = 0
        self._listener: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def generation(self) -> int:
        with self._cond:
            return self._generation

    def notify(self) -> None:
        """The feed may have grown: wake every waiter."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def wait(self, generation: int, timeout: float) -> None:
        """Return when the generation moved past ``generation``, or after ``timeout`` seconds."""
        self._start_listener()
        deadline = self.monotonic() + timeout
        with self._cond:
            while self._generation == generation and not self._closed.is_set():
                remaining = deadline - self.monotonic()
                if remaining <= 0:
                    return
                self._cond.wait(remaining)

    def close(self) -> None:
        self._closed.set()
        self.notify()
        if self._listener is not None:
            self._listener.join(5)

    # -- PostgreSQL ------------------------------------------------------------------------------------

    def _start_listener(self) -> None:
        if self._listen_url is None or self._listener is not None:
            return
        with self._cond:
            if self._listener is None:
                self._listener = threading.Thread(target=self._listen, name="casesync-feed-listener", daemon=True)
                self._listener.start()

    def _listen(self) -> None:
        import psycopg

        assert self._listen_url is not None
        while not self._closed.is_set():
            try:
                with psycopg.connect(self._listen_url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {PG_CHANNEL}")
                    self.notify()  # appends made while (re)connecting are found by the waiters' re-read
                    while not self._closed.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            self.notify()
            except psycopg.Error as exc:
                log.warning("feed_listener_failed", error=str(exc).strip().splitlines()[0] if str(exc) else "")
                self._closed.wait(1.0)
