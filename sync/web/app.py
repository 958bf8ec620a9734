"""casesync's HTTP server: the webhook receiver, health, readiness, metrics and the status page.

The app knows nothing about the store: ``casesync serve`` injects callables (``sink``, ``status_provider``,
``ready``), so the server can be tested, and reused, on its own.  Blocking callables run in a worker
thread, off the event loop, so a slow database never stalls health checks or webhook answers.

Routes::

    POST /webhooks/zendesk    signed Zendesk deliveries → the inbox (202)
    GET  /healthz             200 {"status": "ok"} while the process runs (liveness)
    GET  /readyz              200, or 503 with the reason from ``ready`` (store unreachable, schema outdated)
    GET  /metrics             Prometheus text exposition
    GET  /  and  /status      HTML status page (what ``casesync status`` shows)
    GET  /status.json         the same as JSON
    POST /operator/...        sign-in and dead-letter actions, with a workplace and CASESYNC_OPERATOR_TOKEN
                              (:mod:`sync.web.operator`)
    /api/v1/…                 the console backend's HTTP API (``api``; 404 when it is off)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Generator
from datetime import datetime
from typing import Any

import uvicorn
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from sync.clock import utc_now
from sync.errors import ConfigurationError
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.settings import Settings
from sync.web.api.transport import PrefixDispatch, api_off
from sync.web.operator import OperatorSessions, operator_routes
from sync.web.status_page import CSP, render_status_page, to_json
from sync.web.webhooks import WebhookReceiver, WebhookSink
from sync.web.workplace_page import WORKPLACE_CSS, pause_banner, render_workplace
from sync.workplace import Workplace

__all__ = ["ReadyCheck", "StatusProvider", "create_app", "serve_app"]

log = get_logger(__name__)

StatusProvider = Callable[[], dict[str, Any]]
"""Returns what ``casesync status`` shows (queue depth, oldest pending age, dead letters, …)."""
ReadyCheck = Callable[[], tuple[bool, str]]
"""Returns ``(True, "")`` when the process can do its work, else ``(False, reason)``."""

_PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def create_app(
    *,
    settings: Settings,
    sink: WebhookSink,
    status_provider: StatusProvider,
    ready: ReadyCheck,
    metrics: Metrics | None = None,
    registry: CollectorRegistry | None = None,
    clock: Callable[[], datetime] | None = None,
    refresh_s: int = 10,
    workplace: Workplace | None = None,
    api: ASGIApp | None = None,
) -> Starlette:
    """Build the ASGI app.

    ``metrics`` receives the webhook outcome counters (a private :class:`Metrics` when omitted);
    ``registry`` is what ``/metrics`` exposes, ``metrics.registry`` by default.  ``clock`` returns the aware
    current time for the webhook replay window (tests freeze it).  ``refresh_s`` is the status page's
    auto-refresh period.  ``workplace`` adds the operator's sections to the status page, and with
    ``settings.operator_token`` the sign-in and the replay and discard actions.
    ``api`` is the console HTTP API (:func:`sync.web.api.create_api`), serving
    everything under ``/api/v1``; without it that prefix answers 404.
    """
    metrics = metrics if metrics is not None else Metrics()
    exposed = registry if registry is not None else metrics.registry
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret is not None else None
    receiver = WebhookReceiver(
        secret=secret,
        tolerance_s=settings.webhook_tolerance_s,
        max_body_bytes=settings.webhook_max_body_bytes,
        sink=sink,
        metrics=metrics,
        clock=clock,
    )
    now = clock or utc_now

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            ok, reason = await run_in_threadpool(ready)
        except Exception as exc:
            log.exception("http.ready_check_failed")
            ok, reason = False, f"the readiness check failed: {type(exc).__name__}: {exc}"
        if ok:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reason": reason or "not ready"}, status_code=503)

    async def metrics_endpoint(_request: Request) -> Response:
        body = await run_in_threadpool(generate_latest, exposed)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def _status() -> tuple[dict[str, Any], str | None]:
        try:
            return dict(await run_in_threadpool(status_provider)), None
        except Exception as exc:
            log.exception("http.status_failed")
            return {}, f"The status could not be read: {type(exc).__name__}: {exc}"

    token = settings.operator_token.get_secret_value() if settings.operator_token is not None else None
    sessions = OperatorSessions(token) if token and workplace is not None else None

    async def status_page(request: Request) -> Response:
        status, error = await _status()
        # The page shows what the last reconcile left, not what it found (status.json keeps both).
        status.pop("reconcile_drift", None)
        extra, refresh = "", refresh_s
        if workplace is not None and not error:
            asked = request.query_params.get("case", "").strip()
            case_id = int(asked) if asked.isdigit() and len(asked) < 19 else None
            view = await run_in_threadpool(lambda: workplace.view(case_id=case_id))
            session = sessions.session_of(request) if sessions is not None else None
            csrf = session.csrf if session is not None else None
            extra = render_workplace(view, operator_enabled=sessions is not None, csrf=csrf, asked_case=asked)
            if asked or csrf is not None:
                refresh = 0  # never reload under an operator's hands
        html = render_status_page(
            status, generated_at=now(), refresh_s=refresh, error=error, extra_html=extra, extra_css=WORKPLACE_CSS,
            notice_html=pause_banner(status),
        )
        return HTMLResponse(html, status_code=503 if error else 200, headers=_PAGE_HEADERS)

    async def status_json(_request: Request) -> Response:
        status, error = await _status()
        if error:
            return JSONResponse({"error": error}, status_code=503)
        return Response(to_json(status), media_type="application/json", headers={"Cache-Control": "no-store"})

    app = Starlette(
        routes=[
            Route("/webhooks/zendesk", receiver.handle, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/readyz", readyz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            Route("/", status_page, methods=["GET", "HEAD"]),
            Route("/status", status_page, methods=["GET", "HEAD"]),
            Route("/status.json", status_json, methods=["GET"]),
            *(operator_routes(sessions, workplace) if sessions is not None and workplace is not None else []),
        ],
        middleware=[Middleware(PrefixDispatch, prefix="/api/v1", api=api if api is not None else api_off)],
    )
    app.state.metrics = metrics
    return app


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the caller owns SIGTERM/SIGINT and sets ``stop``."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise ConfigurationError(
            f"CASESYNC_HTTP_HOST/CASESYNC_HTTP_PORT: cannot listen on {host}:{port} ({exc.strerror or exc})"
        ) from None
    return sock


async def _serve_until(
    server: uvicorn.Server, sock: socket.socket, stop: threading.Event, on_started: Callable[[int], None] | None
) -> None:
    task = asyncio.create_task(server.serve(sockets=[sock]))
    announced = False
    while not task.done():
        if stop.is_set():
            server.should_exit = True  # uvicorn finishes in-flight requests, then returns
        if not announced and server.started:
            announced = True
            if on_started is not None:
                on_started(sock.getsockname()[1])
        await asyncio.wait({task}, timeout=0.05)
    task.result()


def serve_app(
    app: ASGIApp,
    host: str,
    port: int,
    *,
    stop: threading.Event,
    on_started: Callable[[int], None] | None = None,
    graceful_timeout_s: int = 5,
) -> None:
    """Serve ``app`` with uvicorn until ``stop`` is set, then finish in-flight requests and return.

    Blocks; run it in a thread.  Port 0 picks a free port; ``on_started`` is called with the bound port
    once connections are accepted.  uvicorn installs no signal handlers here: the caller turns
    SIGTERM/SIGINT into ``stop.set()``.  Raises :class:`~sync.errors.ConfigurationError` when the address
    cannot be bound.
    """
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        lifespan="off",
        log_config=None,  # keep the process's logging setup (structlog) untouched
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=graceful_timeout_s,
    )
    server = _Server(config)
    log.info("http.starting", host=host, port=sock.getsockname()[1])
    try:
        asyncio.run(_serve_until(server, sock, stop, on_started))
    finally:
        sock.close()
    log.info("http.stopped")
