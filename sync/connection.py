"""Whether casesync may talk to Zendesk now: the connection runs, or it is paused (docs/design.md §8).

The connection pauses, instead of failing change after change, in two cases:

* **credentials refused** — a 401 on any call.  Zendesk answers 401 when it cannot authenticate the
  caller at all (a revoked or rotated API token, a wrong email, an expired OAuth token) and 403 when it
  authenticated the caller but refuses that action ("Troubleshooting 401 and 403 errors on the Zendesk
  Developer Platform", https://support.zendesk.com/hc/en-us/articles/10306782115610; the bodies, in
  docs/sandbox-conformance.md: ``{"error": "Couldn't authenticate you"}``, OAuth's ``invalid_token``).
  So a 401 pauses at once, while a 403 pauses only when a cheap probe of the credentials themselves
  (``GET /api/v2/users/me``) is refused too: a 403 for one object (an end user
  that cannot be impersonated, a ticket of another brand) is that change's own failure and dead-letters
  as before, while a suspended agent or an IP allow-list refuses the probe as well;
* **unreachable** — no answer at all (refused connections, timeouts) on every call for
  ``unreachable_after_s``: one flaky request is retried as usual; a Zendesk gone for minutes pauses.

While paused, the workers send nothing: the engine asks :meth:`ConnectionGuard.may_send` before every
pass, which probes ``GET /api/v2/users/me`` with a backoff (doubling up to ``probe_cap_s``, 30 s by
default, so the sync resumes within a minute of Zendesk accepting the credentials again) and resumes by
itself when the probe succeeds.  Nothing is dead-lettered for a pause: an entry whose failure the pause
explains is handed back to the queue untouched (:meth:`ConnectionGuard.explains`).

The pause is written to the store (``sync.store.kv_keys.CONNECTION_PAUSE``) so ``casesync status`` and the status page,
which read the store alone, show it; ``/readyz`` and the ``casesync_connection_paused`` gauge show it too.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sync.backoff import Backoff
from sync.clock import utc_now
from sync.errors import AuthenticationFailed, NetworkError, SyncError
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.store import Store
from sync.store.kv_keys import CONNECTION_PAUSE
from sync.store.kv_values import CREDENTIALS_REFUSED, UNREACHABLE, Pause

__all__ = ["CREDENTIALS_REFUSED", "UNREACHABLE", "ConnectionGuard", "Pause", "read_pause"]

log = get_logger(__name__)


def read_pause(store: Store) -> Pause | None:
    """The pause recorded in the store, if any (for readers without a running engine)."""
    with store.read() as tx:
        return CONNECTION_PAUSE.get(tx)


class ConnectionGuard:
    """The connection's state, fed by every gateway call's outcome (:meth:`observe`); thread-safe.

    ``probe`` checks the credentials cheaply (the gateway's ``me``); it raises a :class:`SyncError` when
    Zendesk refuses them or cannot be reached.  Clock, monotonic time and metrics are injected.
    """

    def __init__(
        self,
        store: Store,
        probe: Callable[[], object],
        *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
        unreachable_after_s: float = 120.0,
        probe_base_s: float = 2.0,
        probe_cap_s: float = 30.0,
    ) -> None:
        self.store = store
        self._probe = probe
        self.clock = clock
        self.monotonic = monotonic
        self.metrics = metrics
        self.unreachable_after_s = unreachable_after_s
        self.probe_base_s = probe_base_s
        self.probe_cap_s = probe_cap_s
        self._lock = threading.RLock()
        self._probing = threading.local()
        self._pause: Pause | None = None
        self._unreachable_since: float | None = None
        self._probes = 0
        self._next_probe = 0.0
        # A pause left by an earlier run is taken over: it is probed first, not forgotten.
        self._pause = read_pause(store)
        if self._pause is not None and self.metrics is not None:
            self.metrics.set_connection_paused(self._pause.cause)

    @property
    def paused(self) -> Pause | None:
        """The current pause, or ``None`` while the connection runs."""
        return self._pause

    # -- fed by the gateway ---------------------------------------------------------------------------

    def observe(self, error: BaseException | None) -> None:
        """Record one gateway call's outcome (``None``: it succeeded)."""
        if getattr(self._probing, "active", False):
            return  # the probe's own outcome is handled by may_send
        if error is None:
            with self._lock:
                self._unreachable_since = None
            return
        if isinstance(error, AuthenticationFailed):
            if error.status == 401 or self._probe_refused():
                self._enter(CREDENTIALS_REFUSED, str(error))
        elif isinstance(error, NetworkError):
            now = self.monotonic()
            with self._lock:
                if self._unreachable_since is None:
                    self._unreachable_since = now
                gone_for = now - self._unreachable_since
            if gone_for >= self.unreachable_after_s:
                self._enter(UNREACHABLE, str(error))

    def explains(self, error: BaseException) -> bool:
        """True when the current pause accounts for ``error``: hand the work back instead of failing it."""
        return self._pause is not None and isinstance(error, AuthenticationFailed | NetworkError)

    # -- asked by the engine --------------------------------------------------------------------------

    def may_send(self) -> bool:
        """True when the connection runs; while paused, probe when due and resume on success."""
        with self._lock:
            if self._pause is None:
                return True
            if self.monotonic() < self._next_probe:
                return False
            try:
                self._run_probe()
            except SyncError as exc:
                self._probes += 1
                delay = Backoff(self.probe_base_s, self.probe_cap_s).delay(self._probes)
                self._next_probe = self.monotonic() + delay
                log.warning("connection_probe_failed", cause=self._pause.cause, retry_in_s=delay, error=str(exc))
                return False
            self._resume()
            return True

    # -- internals ------------------------------------------------------------------------------------

    def _run_probe(self) -> None:
        self._probing.active = True
        try:
            self._probe()
        finally:
            self._probing.active = False

    def _probe_refused(self) -> bool:
        """After a 403: do the credentials themselves still work?  (A network failure says nothing.)"""
        try:
            self._run_probe()
        except AuthenticationFailed:
            return True
        except SyncError:
            return False
        return False

    def _enter(self, cause: str, detail: str) -> None:
        with self._lock:
            if self._pause is not None and self._pause.cause == cause:
                return
            pause = Pause(cause=cause, since=self.clock(), detail=detail[:500])
            self._pause = pause
            self._probes = 0
            self._next_probe = self.monotonic() + self.probe_base_s
        with self.store.transaction() as tx:
            CONNECTION_PAUSE.put(tx, pause)
        if self.metrics is not None:
            self.metrics.set_connection_paused(cause)
        log.error("connection_paused", cause=cause, detail=pause.detail)

    def _resume(self) -> None:
        pause = self._pause
        self._pause = None
        self._unreachable_since = None
        self._probes = 0
        with self.store.transaction() as tx:
            CONNECTION_PAUSE.clear(tx)
        if self.metrics is not None:
            self.metrics.set_connection_paused(None)
        if pause is not None:
            paused_s = (self.clock() - pause.since).total_seconds()
            log.info("connection_resumed", cause=pause.cause, paused_s=round(paused_s, 1))
