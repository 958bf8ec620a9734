"""``casesync healthcheck``: is the local ``casesync serve`` alive?  (The container's HEALTHCHECK.)

It asks ``GET http://127.0.0.1:$CASESYNC_HTTP_PORT/healthz`` and exits 0 on HTTP 200, 1 otherwise.  It
reads only ``CASESYNC_HTTP_PORT`` (default 8080) and imports nothing beyond the standard library, so a
probe every few seconds stays cheap and never fails because of unrelated configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request

from sync.commands import EXIT_FAILED, EXIT_OK

__all__ = ["DEFAULT_PORT", "register", "run"]

DEFAULT_PORT = 8080


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``healthcheck`` to the command line."""
    parser = sub.add_parser(
        "healthcheck",
        help="exit 0 when the local `casesync serve` answers /healthz (for Docker's HEALTHCHECK)",
        description="GET http://127.0.0.1:$CASESYNC_HTTP_PORT/healthz; exit 0 on 200, 1 otherwise.",
    )
    parser.add_argument("--url", help="probe this URL instead of the local /healthz")
    parser.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the answer (default 3)")
    parser.set_defaults(handler=run)


def _default_url() -> str:
    raw = os.environ.get("CASESYNC_HTTP_PORT", "").strip() or str(DEFAULT_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"CASESYNC_HTTP_PORT: {raw!r} is not a port number")
    return f"http://127.0.0.1:{int(raw)}/healthz"


def run(args: argparse.Namespace) -> int:
    """Probe once; print one line on failure (Docker keeps it in the health log)."""
    try:
        url = args.url or _default_url()
    except ValueError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return EXIT_FAILED
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"unhealthy: {url}: {reason}", file=sys.stderr)
        return EXIT_FAILED
    if status != 200:
        print(f"unhealthy: {url} answered HTTP {status}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
