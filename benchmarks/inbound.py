"""Inbound cost and latency.

    .venv/bin/python -m benchmarks.inbound requests [--tickets 500] [--changes 5000]
    .venv/bin/python -m benchmarks.inbound latency [--replies 200]

``requests``: ``--changes`` staff replies arrive at once on ``--tickets`` managed tickets; the poller reads
them through the bulk incremental exports and the requests it made are divided by the changes.  The same
changes are then read the per-ticket way (the inbox worker, which re-fetches each hinted ticket and its
comments), for comparison.

``latency``: webhooks on.  The sandbox's signed deliveries go to a real receiver (``serve_app``) and an
engine loop (``run_forever``) applies them; each staff reply is timed from the moment Zendesk answered the
agent's update to the moment the reply is in the console's change feed (``p95_s``; read by a console
long-polling ``changes(wait=...)``), and to the moment the console's own webhook receiver (a local HTTP server
checking casesync's signature) got it (``console_webhook_p95_s``).  The floor, measured in the same run once
the engine has stopped: the same replies with the delivery going to a bare receiver that makes the two reads
a hint needs (the ticket, its comments) on a bare ``requests`` session (``floor_p95_s``): what Zendesk's side
of the path costs on this machine, with nothing of casesync's in it.
"""

from __future__ import annotations

import argparse
import hmac
import json
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from sync.api import SupportCases
from sync.console_webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from sync.engine import SyncEngine
from sync.logging import configure_logging
from sync.sandbox.staff import Staff
from sync.settings import Settings
from sync.testing.processes import SandboxProcess, free_port
from sync.web.app import create_app, serve_app

__all__ = ["latency", "main", "requests_per_change"]


def _world(zd: SandboxProcess, tmp: str, cases: int, **extra: Any) -> tuple[SyncEngine, SupportCases, list[int]]:
    settings = Settings(
        zendesk_url=zd.url, zendesk_email=zd.agent_email, zendesk_token=zd.agent_token,
        database_url=f"sqlite:///{Path(tmp) / 'i.db'}", default_assignee_email=zd.agent_email, **extra,
    )
    engine = SyncEngine(settings)
    support = SupportCases(store=engine.store)
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "bob", "bob@acme.test", "Bob", admin=True)
    ids = [support.submit("acme", "bob", f"Case {i}", f"Problem {i}").id for i in range(cases)]
    for _ in range(100):
        if engine.outbox.run_once().pending == 0:
            break
    tickets = [support.get("acme", i).ticket_id or 0 for i in ids]
    return engine, support, tickets


def _caught_up(engine: SyncEngine, zd: SandboxProcess) -> None:
    for _ in range(50):
        zd.advance_clock(61)
        engine.gateway.me()  # a response carries Zendesk's new Date
        report = engine.poller.run_once()
        if not report.inbound_applied and engine.poller.caught_up:
            return


def requests_per_change(tickets: int, changes: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, SandboxProcess(rate_limits=False) as zd:
        engine, support, ticket_ids = _world(zd, tmp, tickets)
        _caught_up(engine, zd)
        agent = Staff(zd.url, zd.agent_email, zd.agent_token)
        for k in range(changes):
            agent.call("PUT", f"tickets/{ticket_ids[k % tickets]}",
                       {"ticket": {"comment": {"body": f"staff reply {k}", "public": True}}})
        seq = max((c.seq for c in support.changes()), default=0)
        before = zd.stats()
        _caught_up(engine, zd)
        after = zd.stats()
        me = "GET /api/v2/users/me"
        # The benchmark's own clock probes (users/me, to learn Zendesk's moved clock) are not the poller's.
        probes = after["requests"].get(me, 0) - before["requests"].get(me, 0)
        bulk = after["total"] - before["total"] - probes
        routes = {k: n - before["requests"].get(k, 0) for k, n in after["requests"].items()
                  if n != before["requests"].get(k, 0) and k != me}
        applied = sum(1 for c in support.changes(seq) if c.kind.value == "staff_message")
        # The per-ticket way over the same tickets: one hint per change, one fetch per hinted ticket.
        with engine.store.transaction() as tx:
            for k in range(changes):
                tx.add_inbox(ticket_ids[k % tickets], "bench", f"bench:{k}", {})
        before = zd.stats()["total"]
        for _ in range(1000):
            if not engine.inbox.run_once().inbound_applied and engine.store.counts().inbox_pending == 0:
                break
        per_ticket = zd.stats()["total"] - before
        engine.close()
    return {"changes": changes, "tickets": tickets, "applied": applied, "bulk_requests": bulk,
            "bulk_per_change": bulk / changes, "per_ticket_requests": per_ticket,
            "per_ticket_per_change": per_ticket / changes, "clock_probes": probes,
            "bulk_by_route": routes}


class _ConsoleReceiver:
    """The console's webhook endpoint: checks each POST's signature and notes when each feed entry arrived."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.arrived: dict[int, float] = {}  # seq -> perf_counter() at arrival
        self.forged = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.perf_counter()
                stamp = self.headers.get(TIMESTAMP_HEADER) or ""
                expected = sign(receiver.secret, stamp, body)
                if not hmac.compare_digest(self.headers.get(SIGNATURE_HEADER) or "", expected):
                    receiver.forged += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                for change in json.loads(body)["changes"]:
                    receiver.arrived.setdefault(int(change["seq"]), at)
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the figures are the output

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/casesync"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _ConsoleReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")


class _BareHintReader:
    """The floor's receiver: answers a delivery at once, then reads the ticket and its comments, bare."""

    def __init__(self, zd: SandboxProcess) -> None:
        self.done: dict[int, float] = {}  # ticket id -> perf_counter() once both reads answered
        self.event = threading.Event()
        session = requests.Session()
        session.auth = (f"{zd.agent_email}/token", zd.agent_token)
        api = f"{zd.url}/api/v2"
        reader = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.end_headers()
                ticket = int(json.loads(body)["detail"]["id"])
                session.get(f"{api}/tickets/{ticket}.json").raise_for_status()
                session.get(f"{api}/tickets/{ticket}/comments.json").raise_for_status()
                reader.done[ticket] = time.perf_counter()
                reader.event.set()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/floor"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> _BareHintReader:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _floor(zd: SandboxProcess, agent: Staff, tickets: list[int], replies: int, casesync_hook: str) -> list[float]:
    """Staff reply → a bare receiver has read the ticket and its comments, for each of ``replies`` replies."""
    agent.call("PUT", f"webhooks/{casesync_hook}", {"webhook": {"status": "inactive"}})
    samples: list[float] = []
    with _BareHintReader(zd) as bare:
        agent.call("POST", "webhooks", {"webhook": {
            "name": "floor", "endpoint": bare.url, "status": "active",
            "subscriptions": ["zen:event-type:ticket.comment_added"]}})
        for k in range(replies):
            ticket = tickets[k % len(tickets)]
            bare.done.pop(ticket, None)
            bare.event.clear()
            reply = {"ticket": {"comment": {"body": f"floor probe {k}", "public": True}}}
            agent.call("PUT", f"tickets/{ticket}", reply)
            sent = time.perf_counter()
            while ticket not in bare.done and bare.event.wait(30):
                bare.event.clear()
            if ticket in bare.done:
                samples.append(bare.done[ticket] - sent)
    return samples


def latency(replies: int, rpm: int = 1_000_000) -> dict[str, Any]:
    """Staff reply → the console's change feed, and → the console's webhook receiver, in the same run."""
    # The agent's replies count against the account's limit too: 200 of them in a dozen seconds would be
    # 1,000 a minute, past Zendesk's 700, and casesync's pacer would then spread its own reads (as it must)
    # and the figure would measure the pacing.  ``rpm`` is the X-Rate-Limit the sandbox announces.
    with (
        tempfile.TemporaryDirectory() as tmp,
        SandboxProcess(rate_limits=False, requests_per_minute=rpm) as zd,
        _ConsoleReceiver("console-webhook-secret") as console,
    ):
        agent = Staff(zd.url, zd.agent_email, zd.agent_token)
        port = free_port()
        hook = agent.call("POST", "webhooks", {"webhook": {
            "name": "casesync", "endpoint": f"http://127.0.0.1:{port}/webhooks/zendesk", "status": "active",
            "subscriptions": ["zen:event-type:ticket.comment_added"]}})
        secret = agent.call("GET", f"webhooks/{hook['webhook']['id']}/signing_secret")["signing_secret"]["secret"]
        engine, support, tickets = _world(
            zd, tmp, 20, webhook_secret=secret, poll_interval_s=30,
            console_webhook_url=console.url, console_webhook_secret=console.secret,
        )
        stop = threading.Event()
        app = create_app(settings=engine.settings, sink=engine.webhook_sink, status_provider=dict,
                         ready=lambda: (True, ""))
        threads = [threading.Thread(target=serve_app, args=(app, "127.0.0.1", port), kwargs={"stop": stop}),
                   threading.Thread(target=engine.run_forever, args=(stop,))]
        for t in threads:
            t.start()
        samples: list[float] = []
        sent_at: dict[int, float] = {}  # seq of each reply's staff_message -> when Zendesk answered the agent
        try:
            time.sleep(1.0)
            seq = max((c.seq for c in support.changes()), default=0)
            cpu = time.process_time()
            for k in range(replies):
                marker = f"latency probe {k}"
                agent.call("PUT", f"tickets/{tickets[k % len(tickets)]}",
                           {"ticket": {"comment": {"body": marker, "public": True}}})
                sent = time.perf_counter()
                deadline = sent + 30
                # As a console does: a long poll of the feed, answered as soon as an entry is appended.
                while (left := deadline - time.perf_counter()) > 0:
                    new = support.changes(seq, wait=left)
                    if not new:
                        continue
                    seq = new[-1].seq
                    staff = [c for c in new if c.kind.value == "staff_message"]
                    if staff:
                        samples.append(time.perf_counter() - sent)
                        sent_at[staff[0].seq] = sent
                        break
            deadline = time.perf_counter() + 30  # the last deliveries may still be on their way
            while time.perf_counter() < deadline and not set(sent_at) <= set(console.arrived):
                time.sleep(0.01)
            cpu = time.process_time() - cpu
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
            engine.close()
        floor = _floor(zd, agent, tickets, replies, hook["webhook"]["id"])
    pushed = [console.arrived[s] - sent for s, sent in sent_at.items() if s in console.arrived]
    ordered = sorted(samples)
    floor_p95 = _p95(floor)
    return {"replies": replies, "arrived": len(samples), "median_s": statistics.median(ordered),
            "p95_s": _p95(samples), "max_s": ordered[-1],
            "console_webhook_arrived": len(pushed),
            "console_webhook_median_s": statistics.median(pushed) if pushed else float("nan"),
            "console_webhook_p95_s": _p95(pushed), "console_webhook_forged": console.forged,
            "floor_arrived": len(floor), "floor_median_s": statistics.median(floor) if floor else float("nan"),
            "floor_p95_s": floor_p95,
            "p95_to_floor": _p95(samples) / floor_p95, "console_webhook_p95_to_floor": _p95(pushed) / floor_p95,
            "cpu_per_reply_s": cpu / replies}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    r = sub.add_parser("requests")
    r.add_argument("--tickets", type=int, default=500)
    r.add_argument("--changes", type=int, default=5000)
    lat = sub.add_parser("latency")
    lat.add_argument("--replies", type=int, default=200)
    lat.add_argument("--rpm", type=int, default=1_000_000, help="the X-Rate-Limit the sandbox announces")
    args = ap.parse_args(argv)
    configure_logging("console", "WARNING")  # figures only; the engine's own log lines would interleave
    if args.what == "requests":
        out = requests_per_change(args.tickets, args.changes)
        print(f"inbound: {out['changes']} staff changes on {out['tickets']} tickets -> bulk export"
              f" {out['bulk_requests']} requests ({out['bulk_per_change']:.4f} per change; applied"
              f" {out['applied']}); per-ticket fetching {out['per_ticket_requests']} requests"
              f" ({out['per_ticket_per_change']:.3f} per change)")
        print("bulk requests by route: " + ", ".join(f"{k}={n}" for k, n in sorted(out["bulk_by_route"].items())))
        print("RESULT " + json.dumps({"benchmark": "inbound_requests", **out}))
    else:
        out = latency(args.replies, args.rpm)
        print(f"latency: staff reply -> change feed, webhooks on, {out['arrived']}/{out['replies']} replies:"
              f" median {out['median_s'] * 1000:.0f} ms, p95 {out['p95_s'] * 1000:.0f} ms,"
              f" max {out['max_s'] * 1000:.0f} ms")
        print(f"latency: staff reply -> console webhook receiver, {out['console_webhook_arrived']} deliveries:"
              f" median {out['console_webhook_median_s'] * 1000:.0f} ms,"
              f" p95 {out['console_webhook_p95_s'] * 1000:.0f} ms")
        print(f"latency: floor (the delivery to a bare receiver and its two bare reads), {out['floor_arrived']}"
              f" replies: median {out['floor_median_s'] * 1000:.0f} ms, p95 {out['floor_p95_s'] * 1000:.0f} ms;"
              f" feed p95 {out['p95_to_floor']:.2f}x the floor, console webhook p95"
              f" {out['console_webhook_p95_to_floor']:.2f}x; this process's CPU per reply"
              f" {out['cpu_per_reply_s'] * 1000:.1f} ms")
        print("RESULT " + json.dumps({"benchmark": "inbound_latency", **out}))


if __name__ == "__main__":
    main()
