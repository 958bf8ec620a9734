"""The worker that delivers the change feed to the console's webhook endpoint.

One :meth:`ConsoleWebhookWorker.run_once` sends, in ``seq`` order, batches of the entries after the
delivery cursor, each as one signed POST, and moves the cursor after each 2xx answer.  Any other answer
or a network error ends the pass: the failure is recorded and the next attempt waits the backoff of
:meth:`sync.retry.RetryPolicy.backoff` (capped by ``outbox_max_backoff_s``); until then ``run_once``
returns at once.  An exclusive role in the store (``console_webhooks``) keeps two processes from
delivering at the same time, so batches leave in order.  ``run_once`` never raises for HTTP errors.

A loop that asks again at once (``run_forever``'s, woken by each feed append) passes ``keep_role=True``: the
role is kept between passes and renewed once half its time-to-live has passed, so a new entry costs one
read and the POST, not a take and a give-up of the role besides; and the cursor is written at most every
``save_every_s`` (and when a delivery fails, and by :meth:`release`, which gives the role up when the loop
ends) instead of after every POST, since the loop's own copy is the truth while it holds the role.  Each
write is a write transaction that would meet the next staff reply's, one per feed entry; progress not yet
written when the process dies is delivered again, which at-least-once delivery allows (the console dedupes
by ``seq``).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import requests

from mappings.models import CaseChange
from sync.console_webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from sync.console_webhooks.state import DeliveryState, read_state, write_state
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.report import SyncReport
from sync.retry import RetryPolicy
from sync.store import Store

__all__ = ["LOCK_NAME", "ConsoleWebhookWorker", "HttpPoster"]

log = get_logger(__name__)

#: The store's exclusive role of the delivering process.
LOCK_NAME = "console_webhooks"


class HttpPoster(Protocol):
    """What the worker needs of an HTTP client (a ``requests.Session`` is one)."""

    def post(self, url: str, *, data: bytes, headers: dict[str, str], timeout: float) -> Any: ...


class ConsoleWebhookWorker:
    """Delivers the change feed to ``url``, signed with ``secret``.

    ``session``, ``clock`` and ``policy`` (whose random source decides the jitter) are injected; the
    metrics count deliveries by outcome and the backlog.
    """

    def __init__(
        self,
        store: Store,
        *,
        url: str,
        secret: str,
        session: HttpPoster | None = None,
        clock: Callable[[], datetime],
        policy: RetryPolicy | None = None,
        metrics: Metrics | None = None,
        max_backoff_s: float = 300.0,
        batch_size: int = 100,
        max_batches: int = 10,
        timeout_s: float = 10.0,
        worker_id: str | None = None,
        lock_ttl_s: float = 60.0,
        save_every_s: float = 1.0,
    ) -> None:
        self.store = store
        self.url = url
        self._secret = secret
        self.session: HttpPoster = session if session is not None else requests.Session()
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.metrics = metrics
        self.max_backoff_s = max_backoff_s
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.timeout_s = timeout_s
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock_ttl_s = lock_ttl_s
        self.save_every_s = save_every_s
        self._role_since: datetime | None = None  # when the role was last taken or renewed (keep_role)
        # keep_role: the progress delivered and not yet written, and since when it waits.
        self._unsaved: tuple[int, DeliveryState] | None = None
        self._unsaved_since: datetime | None = None

    def run_once(self, *, keep_role: bool = False) -> SyncReport:
        """Deliver what is due; the report counts failed deliveries in ``errors`` (never raises for HTTP).

        ``keep_role``: keep the delivering role after the pass instead of giving it up (see the module).
        """
        held = self._holds_role()  # before the read: what it finds then is nobody else's to change
        if not held and self._unsaved is not None:
            if self._lease_alive():
                self._save()  # still ours: written before the role is renewed below
            else:
                self._forget_unsaved()  # the role lapsed: its next holder reads the store (and delivers again)
        with self.store.read() as tx:  # nothing due: no lock taken (run_forever asks on every append)
            delivered, state = self._unsaved or read_state(tx)
            found = tx.changes(delivered, limit=self.batch_size if held else 1) if state.due(self.clock()) else []
        if not found:
            self._save_if_due(keep_role)
            return SyncReport()
        first: list[CaseChange] | None = found
        if not held:
            if not self._take_role():
                return SyncReport()  # another process delivers: order needs one deliverer
            with self.store.read() as tx:  # read again under the role: the last holder may have moved on
                delivered, state = read_state(tx)
            first = None
        try:
            return self._deliver(delivered, state, first)
        finally:
            self._save_if_due(keep_role)
            if not keep_role:
                self.release()

    def release(self) -> None:
        """Write the progress not yet written, then give up the delivering role if this worker holds it."""
        try:
            if self._lease_alive():
                self._save()
        finally:
            self._forget_unsaved()
            self._role_since = None
            self.store.unlock(LOCK_NAME, self.worker_id)

    def _save_if_due(self, keep_role: bool) -> None:
        since = self._unsaved_since
        if since is not None and (
            not keep_role or self.clock() - since >= timedelta(seconds=self.save_every_s)
        ):
            self._save()

    def _save(self) -> None:
        if self._unsaved is None:
            return
        delivered, state = self._unsaved
        with self.store.transaction() as tx:
            write_state(tx, state, delivered_seq=delivered)
        self._forget_unsaved()

    def _forget_unsaved(self) -> None:
        self._unsaved, self._unsaved_since = None, None

    def _holds_role(self) -> bool:
        """Held, with at least half the lease left (a pass may then run without renewing it)."""
        since = self._role_since
        return since is not None and self.clock() - since < timedelta(seconds=self.lock_ttl_s / 2)

    def _lease_alive(self) -> bool:
        since = self._role_since
        return since is not None and self.clock() - since < timedelta(seconds=self.lock_ttl_s)

    def _take_role(self) -> bool:
        """Take or renew the role; asking again while holding it renews it."""
        if not self.store.try_lock(LOCK_NAME, self.worker_id, self.lock_ttl_s):
            self._role_since = None
            self._forget_unsaved()  # another holder delivers from the store's cursor (again, at least once)
            return False
        self._role_since = self.clock()
        return True

    def _deliver(self, delivered: int, state: DeliveryState, first: list[CaseChange] | None) -> SyncReport:
        if not state.due(self.clock()):
            return SyncReport()
        for _ in range(self.max_batches):
            if first is not None:
                batch, first = first, None
            else:
                if not self._holds_role() and not self._take_role():
                    break  # a pass long enough to outlive half the lease renews it, or stops
                with self.store.read() as tx:
                    batch = tx.changes(delivered, limit=self.batch_size)
            if not batch:
                break
            body = json.dumps({"changes": [c.model_dump(mode="json") for c in batch]}, separators=(",", ":")).encode()
            error = self._post(body)
            now = self.clock()
            if error is not None:
                failures = state.failures + 1
                delay = self.policy.backoff(failures, cap_s=self.max_backoff_s)
                state = DeliveryState(
                    failures=failures,
                    next_attempt_at=(now + timedelta(seconds=delay)).isoformat(),
                    last_error=error,
                    last_failure_at=now.isoformat(),
                    last_success_at=state.last_success_at,
                    delivered_total=state.delivered_total,
                )
                with self.store.transaction() as tx:
                    write_state(tx, state, delivered_seq=delivered)  # with what this pass delivered before
                self._forget_unsaved()
                self._count("failed")
                log.warning("console_webhook_failed", error=error, failures=failures, retry_in_s=round(delay, 1))
                return SyncReport(errors=[f"console_webhooks: {error}"])
            delivered = batch[-1].seq
            state = DeliveryState(
                last_success_at=now.isoformat(), delivered_total=state.delivered_total + len(batch)
            )
            self._unsaved = (delivered, state)  # written by _save_if_due: at once, or by a loop every save_every_s
            if self._unsaved_since is None:
                self._unsaved_since = now
            self._count("delivered", len(batch))
        return SyncReport()

    def _post(self, body: bytes) -> str | None:
        """POST one batch; None when the console accepted it, else a one-line reason."""
        timestamp = self.clock().isoformat(timespec="seconds")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, timestamp, body),
            TIMESTAMP_HEADER: timestamp,
        }
        try:
            answer = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'no answer'}"
        status = int(getattr(answer, "status_code", 0))
        if 200 <= status < 300:
            return None
        return f"HTTP {status} from the console webhook endpoint"

    def _count(self, outcome: str, changes: int = 0) -> None:
        if self.metrics is not None:
            self.metrics.count_console_webhook(outcome, changes)
