"""Outbox throughput with 1, 2 and 4 worker processes on one PostgreSQL store (a script, not a test).

    .venv/bin/python benchmarks/workers.py [--cases 32] [--replies 5] [--latency-ms 50] [--rate-limit 120]

Part 1 — no rate limit: the sandbox serves from its own process and adds ``--latency-ms`` to every API
request (its ``latency_ms`` fault rule), so a delivery costs what a round trip to Zendesk costs and the
workers, not the sandbox, are the bottleneck.  For each worker count it queues ``cases x replies`` console
replies, starts the workers (each the outbox loop of a ``SyncEngine`` in its own process, as
``casesync serve`` replicas on separate machines; no polls, whose cost does not grow with the workers),
and times them from "go" until the outbox is empty.  Scaling per worker is
``rate(n) / (n * rate(1))``; the target is at least 0.8 up to 4 workers.

Part 2 — the sandbox's account-wide rate limit on (``--rate-limit`` requests per minute, low enough to
bind): the same with 1 and 4 workers, each run starting at the start of a rate-limit minute (the sandbox's
clock is moved there) with more work than one minute's budget, printing each run's request rate next to
the limit and the 429s the workers received (the sandbox's ``/__sandbox/stats`` counts requests, not
statuses, so the workers count the statuses they get).  Shared limit without 429 storms means: 4 workers
reach about the limit, not 4 times it, with a handful of 429s rather than one per request.

PostgreSQL comes from ``CASESYNC_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``);
each part gets a fresh database, dropped at the end.  The process helpers are the scale-out tests' own
(``sync/testing/processes.py``), so the benchmark runs exactly what those tests check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from sqlalchemy.engine import make_url

from sync.api import SupportCases
from sync.store import Store, open_store
from sync.testing.processes import ChildProcess, SandboxProcess, wait_for

__all__ = ["main"]

PG_ADMIN_URL = os.environ.get("CASESYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
USERS = ("ann", "bob")
UNBOUNDED_RPM = 1_000_000


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new PostgreSQL database for one part of the benchmark; dropped afterwards."""
    name = f"casesync_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Console:
    """One account, two users and ``cases`` cases; replies say which case and round they belong to."""

    def __init__(self, store: Store, cases: int) -> None:
        self.api = SupportCases(store=store)
        self.api.upsert_account("acme", "Acme Corp")
        self.api.upsert_user("acme", "ann", "ann@acme.test", "Ann Admin", admin=True)
        self.api.upsert_user("acme", "bob", "bob@acme.test", "Bob User")
        self.cases = [self.api.submit("acme", USERS[i % 2], f"Case {i}", f"case {i} opened").id for i in range(cases)]
        self.round = 0

    def replies(self, per_case: int) -> int:
        """Queue ``per_case`` replies on every case; returns how many entries were queued."""
        for _ in range(per_case):
            self.round += 1
            for i, case_id in enumerate(self.cases):
                self.api.reply("acme", case_id, USERS[i % 2], f"case {i} reply {self.round}")
        return per_case * len(self.cases)


def start_a_fresh_window(sandbox: SandboxProcess) -> None:
    """Move the sandbox's clock to the start of its next rate-limit minute, so every run starts with the
    same budget (the limiter counts per minute of the sandbox's clock)."""
    now = sandbox.advance_clock(0)
    sandbox.advance_clock(60 - now.timestamp() % 60 + 0.05)


def run_workers(
    db_url: str,
    sandbox: SandboxProcess,
    store: Store,
    count: int,
    batch: int,
    lease_s: float = 30.0,
    *,
    fresh_window: bool = False,
) -> tuple[float, Counter[str], int]:
    """Start ``count`` workers, let them drain the outbox; (seconds, statuses received, API requests)."""
    workers = [
        ChildProcess.main("outbox", db_url, sandbox.url, f"bench-{count}-{i}", str(lease_s), str(batch), name=f"w{i}")
        for i in range(count)
    ]
    statuses: Counter[str] = Counter()
    try:
        for w in workers:
            w.expect("ready", 60)
        if fresh_window:
            start_a_fresh_window(sandbox)
        before = int(sandbox.stats()["total"])
        started = time.monotonic()
        for w in workers:
            w.send("go")
        wait_for(lambda: store.counts().outbox_pending == 0, 900, "the workers to drain the outbox", 0.02)
        elapsed = time.monotonic() - started
        requests = int(sandbox.stats()["total"]) - before
        for w in workers:
            w.stop()
        for w in workers:
            statuses.update(json.loads(w.expect("done", 10).split(" ", 1)[1])["statuses"])
    finally:
        for w in workers:
            w.stop()
    dead = store.counts().outbox_dead
    if dead:
        raise SystemExit(f"{dead} entries were dead-lettered: the run is not valid")
    return elapsed, statuses, requests


def part_unlimited(args: argparse.Namespace) -> None:
    print(f"\n== no rate limit, {args.latency_ms} ms added per request, batch {args.batch} ==")
    print(f"{'workers':>7} {'entries':>7} {'seconds':>8} {'deliv/s':>8} {'req/deliv':>9} {'per-worker scaling':>19}")
    with fresh_database() as db_url, open_store(db_url) as store:
        store.migrate()
        # With its limits off the sandbox still advertises X-Rate-Limit (700 by default), and the workers'
        # pacers would slow down as the advertised budget runs low: advertise a budget that never binds.
        sandbox = SandboxProcess(rate_limits=False, requests_per_minute=UNBOUNDED_RPM).start()
        try:
            console = Console(store, args.cases)
            run_workers(db_url, sandbox, store, 4, args.batch)  # set-up: organizations, users, tickets
            sandbox.faults({"rules": [{"path": "^/api/v2/", "latency_ms": args.latency_ms}]})
            base: float | None = None
            for count in (1, 2, 4):
                entries = console.replies(args.replies)
                seconds, _, requests = run_workers(db_url, sandbox, store, count, args.batch)
                rate = entries / seconds
                base = rate if base is None else base
                scaling = rate / (count * base)
                print(
                    f"{count:>7} {entries:>7} {seconds:>8.2f} {rate:>8.1f} {requests / entries:>9.2f}"
                    f" {scaling:>18.2f}{'' if scaling >= 0.8 else '  (< 0.8 target)'}"
                )
        finally:
            sandbox.stop()


def part_rate_limited(args: argparse.Namespace) -> None:
    limit = args.rate_limit
    print(f"\n== rate limit on: {limit} requests/minute, {args.latency_ms} ms added per request ==")
    heads = ("workers", "entries", "seconds", "deliv/s", "req/min", "429s", "429/req", "5xx")
    print(" ".join(f"{h:>{w}}" for h, w in zip(heads, (7, 7, 8, 8, 8, 5, 8, 4), strict=True)))
    with fresh_database() as db_url, open_store(db_url) as store:
        store.migrate()
        sandbox = SandboxProcess(rate_limits=True, requests_per_minute=limit).start()
        try:
            console = Console(store, args.limited_cases)
            run_workers(db_url, sandbox, store, 4, args.batch)
            sandbox.faults({"rules": [{"path": "^/api/v2/", "latency_ms": args.latency_ms}]})
            for count in (1, 4):
                entries = console.replies(args.limited_replies)
                seconds, statuses, requests = run_workers(db_url, sandbox, store, count, args.batch, fresh_window=True)
                errors = sum(n for s, n in statuses.items() if s.startswith("5"))
                print(
                    f"{count:>7} {entries:>7} {seconds:>8.1f} {entries / seconds:>8.2f}"
                    f" {requests / seconds * 60:>8.0f} {statuses['429']:>5}"
                    f" {statuses['429'] / requests:>8.1%} {errors:>4}"
                )
        finally:
            sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=32, help="cases (ordering keys) in part 1")
    parser.add_argument("--replies", type=int, default=8, help="replies per case per run in part 1")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--batch", type=int, default=4, help="outbox_batch_size of each worker")
    parser.add_argument("--rate-limit", type=int, default=120, help="sandbox requests per minute in part 2")
    # 16 x 10 = 160 deliveries per run: more than one window's budget, so the limit binds; 10 replies per
    # ticket per run also stays under the sandbox's 30 updates per ticket per 10 minutes.
    parser.add_argument("--limited-cases", type=int, default=16)
    parser.add_argument("--limited-replies", type=int, default=10)
    parser.add_argument("--part", choices=("1", "2", "both"), default="both")
    args = parser.parse_args(argv)
    os.environ.setdefault("CASESYNC_LOG_LEVEL", "WARNING")
    if args.part in ("1", "both"):
        part_unlimited(args)
    if args.part in ("2", "both"):
        part_rate_limited(args)


if __name__ == "__main__":
    main()
