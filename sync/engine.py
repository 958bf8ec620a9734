"""``SyncEngine``: one object that wires the store, the Zendesk gateway and the workers together.

``run_once()`` is one pass — due outbox entries, the inbox, and one poll of Zendesk's incremental export
(when the export budget allows: docs/design.md §6) — and never raises for Zendesk or network errors.
``run_forever()`` owns the loops: one thread keeps delivering and polls every ``poll_interval_s``, one drains
the inbox the moment the webhook receiver stores a hint, one pushes the change feed to the console's webhook
the moment it grows.  A wake-up is only a hint: each loop also runs on a short period, so work stored by
another process or due for a retry is found without one.  Side effects (clock, sleep, monotonic time,
randomness) are constructor arguments.

While the Zendesk connection is paused (credentials refused, Zendesk unreachable: :mod:`sync.connection`),
a pass sends nothing but the guard's cheap probe, and the engine resumes by itself once it succeeds.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sync.clock import utc_now
from sync.connection import ConnectionGuard
from sync.console_webhooks.wiring import console_webhook_worker
from sync.errors import CaseSyncError, ConfigurationError
from sync.gateway import GatewaySession, ZendeskGateway
from sync.hints import WebhookHint
from sync.idempotency import KeyPruner
from sync.inbound import InboundPoller, InboxWorker, TicketApplier, webhook_sink
from sync.inbound.suspended import SuspendedWatcher
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.outbound import OutboxWorker
from sync.report import SyncReport
from sync.retry import Pacer, RetryPolicy
from sync.settings import Settings, load_settings
from sync.store import Store, open_store
from sync.store.outage import OutageBackoff, is_store_outage

__all__ = ["SyncEngine"]

log = get_logger(__name__)

#: How long ``run_forever``'s loops rest between passes when there was nothing to do and nobody woke them.
IDLE_SLEEP_S = 0.2

#: How often the console webhook loop looks at the feed without a wake-up (appends by other processes on SQLite).
PUSH_IDLE_S = 1.0


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
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        worker_id: str | None = None,
        unreachable_after_s: float = 120.0,
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
            metrics_ = self.metrics
            policy = RetryPolicy(
                sleep=sleep, clock=monotonic, random_source=(rng or random.Random()).random, metrics=metrics_
            )
            session = GatewaySession(
                pacer=Pacer(clock=monotonic, sleep=sleep, metrics=metrics_),
                on_response=lambda method, url, status, seconds: metrics_.observe_request(url, status, seconds),
            )
            gateway = ZendeskGateway(self.settings, session=session, policy=policy)
        self.gateway = gateway
        #: Pauses the whole connection when Zendesk refuses the credentials or stays unreachable.
        self.connection = ConnectionGuard(
            self.store,
            gateway.me,
            clock=clock,
            monotonic=monotonic,
            metrics=self.metrics,
            unreachable_after_s=unreachable_after_s,
        )
        gateway.observer = self.connection.observe
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
            connection=self.connection,
        )
        self.applier = TicketApplier(self.store, gateway, self.settings, clock=clock, metrics=self.metrics)
        self.inbox = InboxWorker(
            self.store,
            gateway,
            self.applier,
            self.settings,
            clock=clock,
            worker_id=self.worker_id,
            connection=self.connection,
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
        self.key_pruner = KeyPruner(self.store, clock=clock, monotonic=monotonic)
        #: Console webhooks (None unless both CASESYNC_CONSOLE_WEBHOOK_URL and _SECRET are set).
        self.console_webhooks = console_webhook_worker(
            self.store, self.settings, clock=clock, rng=rng, metrics=self.metrics, worker_id=self.worker_id
        )
        #: Console users' emails Zendesk suspended, surfaced on their cases (read at most once a minute).
        self.suspended = SuspendedWatcher(self.store, gateway, clock=clock)
        self._wake = threading.Event()  # the delivery loop: an inbound change may have queued outbound work
        self._hinted = threading.Event()  # the inbox loop: a hint was stored
        self._inbox_failure: BaseException | None = None
        store_hint = webhook_sink(self.store, clock=clock)

        def sink(hint: WebhookHint) -> bool:
            stored = store_hint(hint)
            self._hinted.set()  # committed: the inbox loop resting in run_forever picks the hint up at once
            return stored

        #: The webhook receiver's sink: stores the hint durably, then wakes ``run_forever``'s inbox loop.
        self.webhook_sink: Callable[[WebhookHint], bool] = sink

    # -- one pass -----------------------------------------------------------------------------------

    def run_once(self) -> SyncReport:
        """One pass: due outbox entries, the inbox, and one poll, then due console webhook deliveries.

        Never raises for Zendesk or network errors.
        """
        report = self._pass(poll=True)
        if self.console_webhooks is not None:
            report = report.merge(self._step("console_webhooks", self.console_webhooks.run_once))
        return report

    def _pass(
        self, *, poll: bool, stop: Callable[[], bool] = lambda: False, inbox: bool = True, count: bool = True
    ) -> SyncReport:
        if not self.connection.may_send():
            pause = self.connection.paused
            report = SyncReport(errors=[pause.describe()] if pause is not None else [])
        else:
            report = self._sync(poll=poll, stop=stop, inbox=inbox)
        report = report.merge(self._step("idempotency_keys", self.key_pruner.run_once))
        if not count:
            return report  # run_forever reads no gauge of it: the store's counts are not read for nothing
        counts = self.store.counts()
        return report.model_copy(
            update={"pending": counts.outbox_pending, "dead_letters": counts.outbox_dead + counts.inbox_dead}
        )

    def _sync(self, *, poll: bool, stop: Callable[[], bool], inbox: bool) -> SyncReport:
        report = self._step("outbox", lambda: self.outbox.run_once(stop=stop))
        if inbox and self.connection.paused is None:
            report = report.merge(self._step("inbox", lambda: self.inbox.run_once(stop=stop)))
        if poll and not stop() and self.connection.paused is None:
            report = report.merge(self._step("poll", self.poller.run_once))
            report = report.merge(self._step("suspended", self.suspended.run_once))
        # A poll or an inbound change may have queued outbound work (a continuation, a repair).
        if report.inbound_applied and not stop() and self.connection.paused is None:
            report = report.merge(self._step("outbox", lambda: self.outbox.run_once(stop=stop)))
        return report

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
        outage = OutageBackoff()
        log.info("engine_started", worker_id=self.worker_id)
        # The inbox has a loop of its own, woken by the sink: a hint never waits behind a drain of the outbox
        # or a poll, and an apply is on the feed as soon as Zendesk answered the two reads.
        helpers = [threading.Thread(target=self._drain_inbox_forever, args=(stop,), name="inbox", daemon=True)]
        if self.console_webhooks is not None:
            # Its own thread: a slow or failing console never holds up the Zendesk sync.
            helpers.append(
                threading.Thread(target=self._push_forever, args=(stop,), name="console-webhooks", daemon=True)
            )
        for helper in helpers:
            helper.start()
        while not stop.is_set():
            if self._inbox_failure is not None:
                raise self._inbox_failure  # a bug, not an outage: surfaced as a failure of the loop would be
            self._wake.clear()  # wake-ups from here on make the rest below short
            poll = self.monotonic() >= next_poll
            try:
                report = self._pass(poll=poll, stop=stop.is_set, inbox=False, count=False)
            except Exception as exc:
                if not is_store_outage(exc):
                    raise
                # The database is away (a restart): wait it out; what was cut off is rolled back and redone.
                delay = outage.next_delay()
                log.warning("store_unavailable", retry_in_s=delay, attempt=outage.failures, error=str(exc)[:300])
                stop.wait(delay)
                continue
            if outage.failures:
                log.info("store_available_again", after_attempts=outage.failures)
                outage.reset()
            if poll:
                next_poll = self.monotonic() + self.settings.poll_interval_s
            if not (report.delivered or report.inbound_applied):
                # Rest until an applied hint may have queued outbound work, or briefly (so ``stop`` and due
                # retries are noticed).
                self._wake.wait(IDLE_SLEEP_S)
        for helper in helpers:
            helper.join(self.settings.console_webhook_timeout_s + 5)
        log.info("engine_stopped", worker_id=self.worker_id)

    def _drain_inbox_forever(self, stop: threading.Event) -> None:
        """Drain the inbox until ``stop``: at once when the sink stored a hint, else every ``IDLE_SLEEP_S``.

        The periodic pass is the safety net: hints stored by another process's receiver, retries coming due,
        a wake-up missed.  While the connection is paused the hints wait (the delivery loop probes).
        """
        outage = OutageBackoff()
        while not stop.is_set():
            self._hinted.clear()  # hints stored from here on wake the wait below
            applied = 0
            if self.connection.paused is None:
                try:
                    applied = self._step("inbox", lambda: self.inbox.run_once(stop=stop.is_set)).inbound_applied
                except Exception as exc:
                    if not is_store_outage(exc):
                        self._inbox_failure = exc
                        self._wake.set()
                        return
                    delay = outage.next_delay()
                    log.warning("store_unavailable", retry_in_s=delay, attempt=outage.failures, error=str(exc)[:300])
                    stop.wait(delay)
                    continue
                outage.reset()
            if applied and self._outbound_queued():
                self._wake.set()  # an inbound change queued outbound work (a continuation, a repair): send it now
            # The pass took every hint due when it claimed; one stored since has set the event already.
            self._hinted.wait(IDLE_SLEEP_S)

    def _outbound_queued(self) -> bool:
        """Whether the outbox holds a pending entry: one indexed read, instead of waking a whole outbox pass
        (its claim and its counts) after every applied hint while nothing was queued."""
        try:
            with self.store.read() as tx:
                return bool(tx.outbox_entries(status="pending", limit=1))
        except Exception:  # the delivery loop's next periodic pass finds the work anyway
            return False

    def _push_forever(self, stop: threading.Event) -> None:
        """Deliver console webhooks until ``stop``: at once after a feed append, else every ``PUSH_IDLE_S``."""
        worker = self.console_webhooks
        assert worker is not None
        signal = self.store.feed_signal
        while not stop.is_set():
            generation = signal.generation  # read before the pass: an append during it still wakes the wait
            try:
                # The role is kept between passes: the next append costs no take and give-up of it.
                self._step("console_webhooks", lambda: worker.run_once(keep_role=True))
            except Exception as exc:  # e.g. the database briefly unreachable: the thread must live on
                log.warning("console_webhooks_pass_failed", error=f"{type(exc).__name__}: {exc}")
            signal.wait(generation, PUSH_IDLE_S)
        try:
            worker.release()
        except Exception as exc:  # the role's lease runs out by itself
            log.warning("console_webhooks_release_failed", error=f"{type(exc).__name__}: {exc}")

    # -- for operators ------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """What ``casesync status`` and the status page show (see :func:`sync.status.collect_status`)."""
        from sync.status import collect_status

        return collect_status(self.store, now=self.clock())

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()
