"""The webhook receiver under load: signed deliveries per second, none lost, no forgery accepted.

    .venv/bin/python -m benchmarks.webhook_load [--seconds 10] [--connections 32] [--deliveries 3000]

A load tool in a second process (``wrk``, Debian's package) sends a fixed, pre-signed mix of deliveries on
127.0.0.1 in a loop: distinct valid events, duplicates of them (Zendesk delivers at least once) and forgeries
(a wrong signature; a valid signature over another body).  They go first to casesync's receiver (the app
``casesync serve`` runs, storing every hint in a SQLite inbox, WAL, as in production), then, with the same
tool, connections and duration, to a bare Starlette hello-world answering 202 on the same server stack
(uvicorn): that is the floor, and the figure is the ratio of the two rates in one run.

Afterwards the inbox is read back: every distinct valid event that was sent must be there exactly once
(lost = 0) and no forged one may be (forged accepted = 0).

The last line is ``RESULT {json}`` with ``deliveries_per_s``, ``bare_per_s``, ``ratio_to_bare``, ``lost``,
``forged_accepted``, ``duplicates_absorbed`` and the counts the check used.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import create_engine, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sync.inbound import webhook_sink
from sync.settings import Settings
from sync.store import open_store
from sync.store import schema as s
from sync.testing.processes import free_port
from sync.web.app import create_app, serve_app

__all__ = ["main", "run"]

_SECRET = "load-test-signing-secret"
_FORGED_BASE = 9_000_000_000  # forged deliveries name tickets in a range no valid one uses


def _sign(timestamp: str, body: bytes, secret: str = _SECRET) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _event(ticket_id: int, event_id: str, at: str) -> bytes:
    return json.dumps({
        "type": "zen:event-type:ticket.comment_added", "id": event_id, "time": at,
        "subject": f"zen:ticket:{ticket_id}", "detail": {"id": str(ticket_id)},
    }, separators=(",", ":")).encode()


def build_mix(deliveries: int) -> tuple[list[tuple[bytes, str, str]], set[str], int]:
    """The requests wrk cycles through: (body, timestamp, signature), the valid event ids, the forgeries.

    Of every 10 requests 6 are distinct valid events, 2 duplicates of an earlier one and 2 forgeries
    (one signed with another secret, one whose signature belongs to a different body).
    """
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    mix: list[tuple[bytes, str, str]] = []
    originals: list[tuple[bytes, str, str]] = []
    valid: set[str] = set()
    forged = 0
    for k in range(deliveries):
        slot = k % 10
        if slot < 6 or not valid:
            event_id = f"evt-{k:07d}"
            body = _event(1 + k % 5000, event_id, at)
            valid.add(event_id)
            originals.append((body, at, _sign(at, body)))
            mix.append(originals[-1])
        elif slot < 8:
            mix.append(originals[(k * 7919) % len(originals)])
        elif slot == 8:
            body = _event(_FORGED_BASE + k, f"forged-{k:07d}", at)
            mix.append((body, at, _sign(at, body, "not-the-secret")))
            forged += 1
        else:
            body = _event(_FORGED_BASE + k, f"forged-{k:07d}", at)
            other = _event(1, "evt-0000000", at)
            mix.append((body, at, _sign(at, other)))
            forged += 1
    return mix, valid, forged


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_wrk_script(path: Path, mix: list[tuple[bytes, str, str]]) -> None:
    """A wrk script that sends the mix in order, every thread from the start, and counts answers."""
    rows = ",\n".join(
        "{" + ", ".join([_lua_string(body.decode()), _lua_string(ts), _lua_string(sig)]) + "}"
        for body, ts, sig in mix
    )
    path.write_text(f"""
local mix = {{
{rows}
}}
local i = 0
local counts = {{}}
function request()
  i = i % #mix + 1
  local row = mix[i]
  return wrk.format("POST", "/webhooks/zendesk", {{
    ["Content-Type"] = "application/json",
    ["X-Zendesk-Webhook-Signature-Timestamp"] = row[2],
    ["X-Zendesk-Webhook-Signature"] = row[3],
  }}, row[1])
end
function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end
""")


_HELLO_SCRIPT = """
function request()
  return wrk.format("POST", "/webhooks/zendesk", {["Content-Type"] = "application/json"}, "{}")
end
"""

_RATE = re.compile(r"Requests/sec:\s+([0-9.]+)")
_TOTAL = re.compile(r"([0-9]+) requests in")
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+([0-9]+)")
_ERRORS = re.compile(r"Socket errors: (.*)")


def _wrk(url: str, script: Path, seconds: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "-s", str(script), url],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout
    rate = _RATE.search(out)
    total = _TOTAL.search(out)
    if rate is None or total is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    non2xx = _NON2XX.search(out)
    errors = _ERRORS.search(out)
    return {"per_s": float(rate.group(1)), "requests": int(total.group(1)),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else ""}


def _serving(app: Any) -> tuple[str, threading.Event, threading.Thread]:
    port = free_port()
    stop = threading.Event()
    started = threading.Event()
    thread = threading.Thread(target=serve_app, args=(app, "127.0.0.1", port),
                              kwargs={"stop": stop, "on_started": lambda _p: started.set()}, daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("the server did not start")
    return f"http://127.0.0.1:{port}", stop, thread


def _hello_app() -> Starlette:
    async def hello(_request: Request) -> Response:
        return JSONResponse({"status": "accepted"}, status_code=202)

    return Starlette(routes=[Route("/webhooks/zendesk", hello, methods=["POST"])])


def run(seconds: int, connections: int, deliveries: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package `wrk`: apt-get install wrk)")
    mix, valid, forged = build_mix(deliveries)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "mix.lua"
        write_wrk_script(script, mix)
        hello_script = Path(tmp) / "hello.lua"
        hello_script.write_text(_HELLO_SCRIPT)
        settings = Settings(database_url=f"sqlite:///{tmp}/load.db", webhook_secret=SecretStr(_SECRET),
                            webhook_tolerance_s=3600)
        store = open_store(settings.database_url)
        store.migrate()
        app = create_app(settings=settings, sink=webhook_sink(store), status_provider=dict,
                         ready=lambda: (True, ""))
        url, stop, thread = _serving(app)
        try:
            casesync = _wrk(url, script, seconds, connections)
        finally:
            stop.set()
            thread.join(timeout=30)
        url, stop, thread = _serving(_hello_app())
        try:
            bare = _wrk(url, hello_script, seconds, connections)
        finally:
            stop.set()
            thread.join(timeout=30)
        store.close()
        reader = create_engine(settings.database_url)  # the inbox as the database has it, read directly
        with reader.connect() as conn:
            rows = [(int(r[0]), str(r[1])) for r in conn.execute(select(s.inbox.c.ticket_id, s.inbox.c.dedupe_key))]
        reader.dispose()
    sent_rounds = casesync["requests"] / len(mix)
    stored_keys = [key for _ticket, key in rows]
    forged_accepted = sum(1 for ticket, _key in rows if ticket >= _FORGED_BASE)
    # Only a full pass over the mix proves nothing was lost: every valid event was then sent at least once.
    lost = sum(1 for event_id in valid if not any(event_id in key for key in stored_keys)) if sent_rounds >= 1 else -1
    return {
        "benchmark": "webhook_load",
        "seconds": seconds, "connections": connections, "mix": len(mix), "valid_events": len(valid),
        "forgeries_in_mix": forged, "requests": casesync["requests"], "mix_rounds": round(sent_rounds, 2),
        "deliveries_per_s": casesync["per_s"], "bare_per_s": bare["per_s"],
        "ratio_to_bare": round(casesync["per_s"] / bare["per_s"], 3),
        "non_2xx": casesync["non_2xx"], "socket_errors": casesync["socket_errors"] or bare["socket_errors"],
        "inbox_rows": len(rows), "lost": lost, "forged_accepted": forged_accepted,
        "duplicates_absorbed": casesync["requests"] - casesync["non_2xx"] - len(rows),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--deliveries", type=int, default=3000, help="length of the pre-signed mix")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.connections, args.deliveries)
    print(f"casesync receiver: {result['deliveries_per_s']:.0f} deliveries/s "
          f"({result['requests']} requests, {result['mix_rounds']} passes over a mix of {result['mix']})")
    print(f"bare Starlette hello-world: {result['bare_per_s']:.0f} requests/s; ratio {result['ratio_to_bare']:.3f}")
    print(f"inbox: {result['inbox_rows']} hints for {result['valid_events']} distinct events; "
          f"lost {result['lost']}, forged accepted {result['forged_accepted']}, "
          f"refused {result['non_2xx']}")
    print("RESULT " + json.dumps(result))
    return 0 if result["lost"] == 0 and result["forged_accepted"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
