"""serve_app over real HTTP: it answers, and it stops when the event is set."""

from __future__ import annotations

import queue
import socket
import threading
from datetime import UTC, datetime

import httpx
import pytest

from sync.errors import ConfigurationError
from sync.metrics import Metrics
from sync.web import create_app, serve_app

from .conftest import URL, RecordingSink, event_payload, make_settings, signed


def test_serve_app_over_real_http_and_stop() -> None:
    sink = RecordingSink()
    # The wall clock, as in production: the delivery is signed with the current time.
    app = create_app(settings=make_settings(), sink=sink, status_provider=lambda: {"queue_depth": 7},
                     ready=lambda: (True, ""), metrics=Metrics())
    stop = threading.Event()
    ports: queue.Queue[int] = queue.Queue()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            serve_app(app, "127.0.0.1", 0, stop=stop, on_started=ports.put)
        except BaseException as exc:  # surfaced by the assertions below
            errors.append(exc)

    thread = threading.Thread(target=run, name="http-test", daemon=True)
    thread.start()
    try:
        port = ports.get(timeout=10)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as http:
            assert http.get("/healthz").json() == {"status": "ok"}
            assert http.get("/readyz").status_code == 200
            assert ">7<" in http.get("/status").text
            assert "casesync_webhook_deliveries_total" in http.get("/metrics").text

            body = event_payload(ticket_id=501)
            timestamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            response = http.post(URL, content=body, headers=signed(body, timestamp=timestamp))
            assert response.status_code == 202
            assert [h.ticket_id for h in sink.hints] == [501]

            # Chunked transfer (no Content-Length) within the limit is read and verified as well.
            chunked = event_payload(ticket_id=502, id="another-event")
            parts = iter([chunked[:30], chunked[30:]])
            response = http.post(URL, content=parts, headers=signed(chunked, timestamp=timestamp))
            assert response.status_code == 202
            assert [h.ticket_id for h in sink.hints] == [501, 502]
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive(), "serve_app did not return after stop was set"
    assert errors == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_stop_set_before_start_returns_promptly() -> None:
    app = create_app(settings=make_settings(), sink=RecordingSink(), status_provider=dict,
                     ready=lambda: (True, ""))
    stop = threading.Event()
    stop.set()
    thread = threading.Thread(target=serve_app, args=(app, "127.0.0.1", 0), kwargs={"stop": stop}, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_a_busy_port_is_a_configuration_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        app = create_app(settings=make_settings(), sink=RecordingSink(), status_provider=dict,
                         ready=lambda: (True, ""))
        with pytest.raises(ConfigurationError, match="CASESYNC_HTTP_PORT"):
            serve_app(app, "127.0.0.1", port, stop=threading.Event())
