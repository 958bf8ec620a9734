"""A casesync worker in its own process: the engine loop plus the webhook receiver, as ``casesync serve`` runs.

``python -m benchmarks.worker_proc --webhook-port P`` reads every other setting from ``CASESYNC_*``
environment variables.  The chaos run kills it with SIGKILL and starts it again; SIGTERM stops it cleanly.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from sync.engine import SyncEngine
from sync.logging import configure_logging
from sync.settings import load_settings
from sync.web.app import create_app, serve_app

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Run until SIGTERM; print ``READY <port>`` once the receiver accepts connections."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--webhook-port", type=int, default=0, help="0: no webhook receiver")
    args = ap.parse_args(argv)
    settings = load_settings()
    configure_logging("json", settings.log_level, stream=sys.stderr)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    engine = SyncEngine(settings)
    server: threading.Thread | None = None
    if args.webhook_port:
        app = create_app(
            settings=settings, sink=engine.webhook_sink, status_provider=lambda: {}, ready=lambda: (True, "")
        )
        server = threading.Thread(
            target=serve_app,
            args=(app, "127.0.0.1", args.webhook_port),
            kwargs={"stop": stop, "on_started": lambda port: print(f"READY {port}", flush=True)},
            daemon=True,
        )
        server.start()
    else:
        print("READY 0", flush=True)
    try:
        engine.run_forever(stop)
    finally:
        stop.set()
        if server is not None:
            server.join(timeout=10)
        engine.close()


if __name__ == "__main__":
    main()
