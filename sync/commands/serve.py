"""``casesync serve``: the sync engine, the reconcile schedule and the HTTP server in one process.

Threads, all watching one ``stop`` event:

* ``engine`` — :meth:`SyncEngine.run_forever`: outbox deliveries, the inbox, polling;
* ``http`` — :func:`sync.web.serve_app`: webhooks, ``/healthz``, ``/readyz``, ``/metrics``, the status page;
* ``reconcile`` — :class:`sync.consistency.Reconciler` ``.run(repair=True)`` every ``reconcile_interval_s`` (one
  replica per interval, through a named lease in the store).

SIGTERM/SIGINT set ``stop``: the entry in hand is finished, the rest stays queued for the next start, and
the process exits 0.  A PostgreSQL schema older than this code is refused (exit 2) until
``casesync migrate`` has run, since other replicas may still run the old version.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from sync.commands import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from sync.consistency import DriftReport, Reconciler
    from sync.engine import SyncEngine
    from sync.gateway import ZendeskGateway
    from sync.settings import Settings
    from sync.store import Store

__all__ = ["RECONCILE_LEASE", "ScheduledReconcile", "console_api", "load_reconciler", "register", "run"]

#: The store's named lease that lets one replica per interval run the scheduled reconcile.
RECONCILE_LEASE = "reconcile-schedule"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the command line."""
    parser = sub.add_parser(
        "serve",
        help="run the sync, the reconcile schedule and the HTTP server (webhooks, health, metrics, status page)",
        description="Run casesync until SIGTERM/SIGINT: sync both ways, receive webhooks on "
        "/webhooks/zendesk, and serve /healthz, /readyz, /metrics and the status page on "
        "CASESYNC_HTTP_HOST:CASESYNC_HTTP_PORT.",
    )
    parser.set_defaults(handler=run)


class ScheduledReconcile(Protocol):
    """What the schedule runs: :class:`sync.consistency.Reconciler`, or a stand-in in tests."""

    def run(self, repair: bool) -> DriftReport: ...


def load_reconciler(store: Store, gateway: ZendeskGateway, settings: Settings) -> Reconciler:
    """The reconciler ``serve`` schedules, on the engine's store and gateway."""
    from sync.consistency import Reconciler

    return Reconciler(store, gateway, settings)


def _summary(report: DriftReport) -> dict[str, int]:
    """A reconcile run's counts, as log fields."""
    return {"drift": report.drift, "repaired": report.repaired, "checked": report.checked, "errors": len(report.errors)}


class _Threads:
    """Named worker threads; the first to fail sets ``stop`` and its error decides the exit code."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.failures: list[tuple[str, BaseException]] = []
        self.threads: dict[str, threading.Thread] = {}

    def start(self, name: str, target: Callable[[], None], *, daemon: bool = False) -> None:
        def body() -> None:
            try:
                target()
            except BaseException as exc:
                from sync.errors import ConfigurationError
                from sync.logging import get_logger

                log = get_logger(__name__)
                if isinstance(exc, ConfigurationError):  # an operator's mistake: one line, no traceback
                    log.error("serve.thread_failed", thread=name, error=str(exc))
                else:
                    log.exception("serve.thread_failed", thread=name)
                self.failures.append((name, exc))
                self.stop.set()

        thread = threading.Thread(target=body, name=f"casesync-{name}", daemon=daemon)
        self.threads[name] = thread
        thread.start()

    def alive(self, name: str) -> bool:
        thread = self.threads.get(name)
        return thread is not None and thread.is_alive()


def _schedule_reconcile(
    engine: SyncEngine, settings: Settings, stop: threading.Event, reconciler: ScheduledReconcile | None = None
) -> Callable[[], None]:
    """The reconcile loop; ``reconciler`` defaults to :func:`load_reconciler`'s."""
    from sync.logging import get_logger

    log = get_logger(__name__)
    if reconciler is None:
        reconciler = load_reconciler(engine.store, engine.gateway, settings)
    interval = settings.reconcile_interval_s

    def loop() -> None:
        from sync.store.outage import is_store_outage

        while not stop.wait(interval):
            if engine.connection.paused is not None:
                log.info("reconcile.skipped_connection_paused")
                continue
            # Several replicas share one schedule: the lease outlives most of the interval, so only one
            # replica per interval runs it; a dead holder's lease simply expires.
            try:
                with engine.store.transaction() as tx:
                    if not tx.acquire_lease(RECONCILE_LEASE, engine.worker_id, interval * 0.9):
                        continue
            except Exception as exc:
                if not is_store_outage(exc):
                    raise
                log.warning("reconcile.skipped_store_unavailable", error=str(exc)[:300])
                continue
            log.info("reconcile.started")
            try:
                result = reconciler.run(repair=True)
            except Exception:
                log.exception("reconcile.failed")
                continue
            log.info("reconcile.finished", **_summary(result))

    return loop


def console_api(settings: Settings, store: Store, stop: threading.Event | None = None) -> ASGIApp | None:
    """The console HTTP API over ``store`` when ``CASESYNC_API_TOKEN`` is set, else None (the API is off).

    ``stop``: the process's stop event; long polls answer promptly once it is set.
    """
    if settings.api_token is None:
        return None
    from sync.api import SupportCases
    from sync.web.api import create_api

    return create_api(SupportCases(settings, store=store), settings.api_token.get_secret_value(), stopping=stop)


def run(_args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT; 0 after a clean stop, 2 on configuration errors, 1 if a part failed."""
    from sync.commands._common import err, start_sync_process
    from sync.engine import SyncEngine
    from sync.errors import ConfigurationError
    from sync.logging import get_logger
    from sync.web import create_app, serve_app

    log = get_logger(__name__)
    settings, stop, store = start_sync_process(on_stop_signal=lambda name: log.info("serve.stopping", signal=name))
    schema = store.schema_status()
    if schema.state == "newer" or (schema.state == "outdated" and store.dialect == "postgresql"):
        store.close()
        err(f"casesync serve: CASESYNC_DATABASE_URL: {schema.message}")
        return EXIT_CONFIG
    store.counts()  # an empty database gets its schema (and SQLite its upgrade) now, not on a first request

    engine = SyncEngine(settings, store=store)
    threads = _Threads(stop)

    def ready() -> tuple[bool, str]:
        from sync.store.outage import is_store_outage

        try:
            current = store.schema_status()
        except Exception as exc:
            if not is_store_outage(exc):
                raise
            return False, f"the database does not answer ({type(exc).__name__}); retrying with a backoff"
        if current.state != "current":
            return False, current.message
        if not threads.alive("engine"):
            return False, "the sync engine is not running"
        pause = engine.connection.paused
        if pause is not None:
            return False, pause.describe()
        return True, ""

    from sync.workplace import Workplace

    app = create_app(
        settings=settings,
        sink=engine.webhook_sink,
        status_provider=engine.status,
        ready=ready,
        metrics=engine.metrics,
        workplace=Workplace(store, clock=engine.clock),
        api=console_api(settings, store, stop),
    )
    log.info("serve.starting", worker_id=engine.worker_id, host=settings.http_host, port=settings.http_port)
    threads.start("engine", lambda: engine.run_forever(stop))
    threads.start(
        "http",
        lambda: serve_app(
            app, settings.http_host, settings.http_port, stop=stop,
            on_started=lambda port: log.info("serve.listening", host=settings.http_host, port=port),
        ),
    )
    # A daemon: a reconcile cannot be interrupted mid-run, and it is safe to abandon (it only re-reads).
    threads.start("reconcile", _schedule_reconcile(engine, settings, stop), daemon=True)
    try:
        while not stop.wait(0.5):
            pass
        for name in ("http", "engine"):
            threads.threads[name].join()
        reconcile_thread = threads.threads.get("reconcile")
        if reconcile_thread is not None:
            reconcile_thread.join(timeout=settings.lease_s)
            if reconcile_thread.is_alive():
                log.warning("reconcile.abandoned")
    finally:
        engine.close()
    if threads.failures:
        name, exc = threads.failures[0]
        from sync.cli import error_line

        err(f"casesync serve: {name}: {error_line(exc)}")
        known = isinstance(exc, ConfigurationError) or "sqlalchemy" in type(exc).__module__
        return EXIT_CONFIG if known else EXIT_FAILED
    log.info("serve.stopped", worker_id=engine.worker_id)
    return EXIT_OK
