"""``SyncEngine``: one object that wires the store, the Zendesk gateway and the workers together.

``run_once()`` is one pass — due outbox entries, the inbox, and one poll of Zendesk's incremental export
(when the export budget allows: DESIGN.md §6) — and never raises for Zendesk or network errors.
``run_forever()`` owns the loop: it keeps delivering and draining the inbox continuously and polls every
``poll_interval_s``.  Side effects (clock, sleep, monotonic time, randomness) are constructor arguments.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sync.errors import CaseSyncError, ConfigurationError
from sync.gateway import GatewaySession, ZendeskGateway
from sync.inbound import InboundPoller, InboxWorker, TicketApplier, webhook_sink
from sync.inbound.suspended import SuspendedWatcher
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.outbound import OutboxWorker
from sync.report import SyncReport
from sync.retry import Pacer, RetryPolicy
from sync.settings import Settings, load_settings
from sync.store import Store, open_store
from sync.web.webhooks import WebhookHint

__all__ = ["SyncEngine"]

log = get_logger(__name__)

#: How long ``run_forever`` rests between passes when there was nothing to do.
IDLE_SLEEP_S = 0.2


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SyncEngine:
    """Runs casesync's sync: outbound deliveries, inbound webhook hints and polling.

    ``settings``: None reads :class:`Settings` from the environment.  ``store`` and ``gateway`` may be
    given (tests, hosts sharing them); otherwise they are built from the settings.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        store: Store | None = None,
        gateway: ZendeskGateway | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings if settings is not None else load_settings()
        self.clock = clock
        self.sleep = sleep
        self.monotonic = monotonic
        self.metrics = metrics if metrics is not None else Metrics()
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.store = store if store is not None else open_store(self.settings.database_url, clock=clock)
        if gateway is None:
            self.settings.require_zendesk()
            policy = RetryPolicy(sleep=sleep, clock=monotonic, random_source=(rng or random.Random()).random)
            metrics_ = self.metrics
            session = GatewaySession(
                pacer=Pacer(clock=monotonic, sleep=sleep),
                on_response=lambda method, url, status, seconds: metrics_.observe_request(url, status, seconds),
            )
            gateway = ZendeskGateway(self.settings, session=session, policy=policy)
        self.gateway = gateway
        self.outbox = OutboxWorker(
            self.store,
            gateway,
            self.settings,
            worker_id=self.worker_id,
            clock=clock,
            sleep=sleep,
            rng=rng,
            metrics=self.metrics,
            monotonic=monotonic,
        )
        self.applier = TicketApplier(self.store, gateway, self.settings, clock=clock, metrics=self.metrics)
        self.inbox = InboxWorker(
            self.store, gateway, self.applier, self.settings, clock=clock, worker_id=self.worker_id
        )
        self.poller = InboundPoller(
            self.store,
            gateway,
            self.settings,
            clock=clock,
            monotonic=monotonic,
            owner_id=self.worker_id,
            applier=self.applier,
            metrics=self.metrics,
        )
        #: Console users' emails Zendesk suspended, surfaced on their cases (read at most once a minute).
        self.suspended = SuspendedWatcher(self.store, gateway, clock=clock)
        self._wake = threading.Event()
        store_hint = webhook_sink(self.store, clock=clock)

        def sink(hint: WebhookHint) -> bool:
            stored = store_hint(hint)
            self._wake.set()  # a loop resting in run_forever picks the hint up at once
            return stored

        #: The webhook receiver's sink: stores the hint durably, then wakes ``run_forever``.
        self.webhook_sink: Callable[[WebhookHint], bool] = sink

    # -- one pass -----------------------------------------------------------------------------------

    def run_once(self) -> SyncReport:
        """One pass: due outbox entries, the inbox, and one poll.  Never raises for Zendesk errors."""
        return self._pass(poll=True)

    def _pass(self, *, poll: bool, stop: Callable[[], bool] = lambda: False) -> SyncReport:
        report = self._step("outbox", lambda: self.outbox.run_once(stop=stop))
        report = report.merge(self._step("inbox", self.inbox.run_once))
        if poll and not stop():
            report = report.merge(self._step("poll", self.poller.run_once))
            report = report.merge(self._step("suspended", self.suspended.run_once))
        # A poll or an inbound change may have queued outbound work (a continuation, a repair).
        if report.inbound_applied and not stop():
            report = report.merge(self._step("outbox", lambda: self.outbox.run_once(stop=stop)))
        counts = self.store.counts()
        return report.model_copy(
            update={"pending": counts.outbox_pending, "dead_letters": counts.outbox_dead + counts.inbox_dead}
        )

    def _step(self, name: str, fn: Callable[[], SyncReport]) -> SyncReport:
        try:
            return fn()
        except ConfigurationError:
            raise
        except CaseSyncError as exc:
            log.warning("sync_step_failed", step=name, error=str(exc))
            return SyncReport(errors=[f"{name}: {type(exc).__name__}: {exc}"])
        except OSError as exc:  # the network or the database, outside a worker's own handling
            log.warning("sync_step_failed", step=name, error=str(exc))
            return SyncReport(errors=[f"{name}: {type(exc).__name__}: {exc}"])

    # -- the loop -----------------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Sync until ``stop`` is set: deliver and drain continuously, poll every ``poll_interval_s``.

        Setting ``stop`` lets the entry in hand finish; the rest stays queued for the next start.
        """
        stop = stop or threading.Event()
        next_poll = self.monotonic()
        log.info("engine_started", worker_id=self.worker_id)
        while not stop.is_set():
            self._wake.clear()  # hints stored from here on wake the rest below
            poll = self.monotonic() >= next_poll
            report = self._pass(poll=poll, stop=stop.is_set)
            if poll:
                next_poll = self.monotonic() + self.settings.poll_interval_s
            if not (report.delivered or report.inbound_applied):
                # Rest until a webhook hint arrives, or briefly (so ``stop`` and due retries are noticed).
                self._wake.wait(IDLE_SLEEP_S)
        log.info("engine_stopped", worker_id=self.worker_id)

    # -- for operators ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What ``casesync status`` and the status page show (see :func:`sync.status.collect_status`)."""
        from sync.status import collect_status

        return collect_status(self.store, now=self.clock())

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()
