"""The console backend's calls under load: ``submit``, ``reply`` and a ``browse`` page (a script, not a test).

    .venv/bin/python -m benchmarks.console_api [--backends sqlite,postgresql] [--sizes 1000,100000]
        [--threads 16] [--ops 20] [--accounts 4] [--kinds floor,submit,reply,close,browse]

For each backend and store size the store is seeded in bulk directly (accounts, users, ``size`` cases of
one message each, linked to tickets, their search documents; PostgreSQL is vacuumed afterwards), then 16
threads (one ``SupportCases`` shared, as in a console backend's web process) each run ``--ops`` calls of one
kind at a time, and every call's latency is kept:

* ``floor``: a bare single-row INSERT and COMMIT on the same database, through the same engine and the same
  kind of write transaction (SQLite ``BEGIN IMMEDIATE``) — what any durable write costs there;
* ``submit`` (with an idempotency key) and ``reply`` on random cases of random accounts, ``close`` (with a
  key) on cases of their own (a closed case takes no reply);
* ``browse``: the first page (50 cases, newest change first) and then the next one through its cursor.

It prints p50/p95 per kind and size, then ``RESULT {json}`` with the ratios the goals are about: write
p95 over the floor's p95 (goal ≤ 3) and a browse page's p95 at the largest size over the smallest (goal
≤ 1.5).  PostgreSQL comes from ``CASESYNC_TEST_PG_URL`` (an admin URL; a fresh database per size, dropped
afterwards).  Use ``--sizes 1000,10000 --ops 10`` for a short run on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Column, Integer, MetaData, Table, Text, event, text

from sync.api import SupportCases
from sync.store import open_store
from sync.store import schema as s
from sync.store.engine import WRITE_OPTION
from sync.store.sql import SqlStore

__all__ = ["main"]

PG_ADMIN_URL = os.environ.get("CASESYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_CHUNK = 5_000
_WORDS = ("printer", "login", "invoice", "timeout", "cluster", "export", "password", "upload", "sync", "email")

_floor_meta = MetaData()
_floor = Table("bench_floor", _floor_meta, Column("id", Integer, primary_key=True), Column("v", Text))


@contextmanager
def database(backend: str) -> Iterator[str]:
    """A fresh, empty database URL of ``backend``; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="casesync-bench-") as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"casesync_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(store: SqlStore, size: int, accounts: int) -> dict[str, list[int]]:
    """Accounts ``a0…``, two users each, ``size`` cases spread over them; the cases of each account."""
    store.migrate()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    by_account: dict[str, list[int]] = {f"a{i}": [] for i in range(accounts)}
    with store.engine.begin() as conn:
        for a in by_account:
            conn.execute(s.accounts.insert().values(id=a, name=f"Account {a}", created_at=start, updated_at=start))
            for u in ("u0", "u1"):
                conn.execute(s.users.insert().values(
                    account_id=a, user_id=u, email=f"{u}@{a}.test", email_key=f"{u}@{a}.test", name=f"User {u}",
                    admin=u == "u0", created_at=start, updated_at=start,
                ))
        rng = random.Random(7)
        for lo in range(1, size + 1, _CHUNK):
            cases, messages = [], []
            for n in range(lo, min(size, lo + _CHUNK - 1) + 1):
                account = f"a{n % accounts}"
                by_account[account].append(n)
                at = start + timedelta(seconds=n)
                words = " ".join(rng.sample(_WORDS, 3))
                cases.append({"id": n, "account_id": account, "requester_id": "u1", "subject": f"case {n} {words}",
                              "status": "Open", "cc": [], "created_at": at, "updated_at": at, "revision": 0})
                messages.append({"case_id": n, "account_id": account, "author": "user", "author_name": "User u1",
                                 "body": f"the {words} does not work", "created_at": at, "origin": "console",
                                 "withdrawn": False, "acknowledges_solution": False})
            conn.execute(s.cases.insert(), cases)
            conn.execute(s.messages.insert(), messages)
            # Every case of a live store is linked to its ticket soon after it is submitted.
            last = min(size, lo + _CHUNK - 1)
            links = [{"case_id": n, "ticket_id": 1_000_000 + n, "linked_at": start} for n in range(lo, last + 1)]
            conn.execute(s.ticket_links.insert(), links)
        if store.dialect == "postgresql":
            conn.execute(text(
                "UPDATE cases SET search_vector = to_tsvector('simple', subject) ||"
                " to_tsvector('simple', (SELECT string_agg(body, ' ') FROM messages m WHERE m.case_id = cases.id))"
            ))
            conn.execute(text(f"SELECT setval('case_number_seq', {size})"))
        else:
            conn.execute(text(
                "INSERT INTO case_search(rowid, subject, body) SELECT c.id, c.subject,"
                " (SELECT group_concat(body, char(10)) FROM messages m WHERE m.case_id = c.id) FROM cases c"
            ))
            conn.execute(s.counters.update().where(s.counters.c.name == "case_number").values(value=size))
        _floor.create(conn)
    if store.dialect == "postgresql":
        # A live store is kept vacuumed by autovacuum: without this the seed's UPDATE leaves every case row
        # dead once, and autovacuum would clean it up in the middle of the measurement.
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM (ANALYZE)")
    return by_account


def run_threads(threads: int, ops: int, op: Callable[[random.Random], None]) -> list[float]:
    """Each of ``threads`` threads runs ``op`` ``ops`` times after a common start; every latency in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def worker(seed_: int) -> None:
        rng = random.Random(seed_)
        mine: list[float] = []
        start.wait()
        try:
            for _ in range(ops):
                t0 = time.perf_counter()
                op(rng)
                mine.append((time.perf_counter() - t0) * 1000)
        except BaseException as exc:  # reported after the join: a failed call must not pass as fast
            errors.append(exc)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
    return latencies


def percentiles(values: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 2), "p95_ms": round(cuts[94], 2), "n": len(values)}


def measure(backend: str, size: int, args: argparse.Namespace) -> dict[str, Any]:
    with database(backend) as url:
        store = open_store(url)
        assert isinstance(store, SqlStore)
        try:
            by_account = seed(store, size, args.accounts)
            api = SupportCases(store=store)
            accounts = sorted(by_account)
            # Closing is final: close takes cases of its own (the newest ones), which reply never picks.
            newest = sorted(((n, a) for a in accounts for n in by_account[a]), reverse=True)
            to_close = newest[: min(args.threads * (args.ops + 2), size // 2)]
            closing = {n for n, _ in to_close}
            open_cases = {a: [n for n in by_account[a] if n not in closing] for a in accounts}
            close_lock = threading.Lock()

            def floor(rng: random.Random) -> None:
                with store.engine.connect() as conn:
                    conn = conn.execution_options(**{WRITE_OPTION: True})
                    with conn.begin():
                        conn.execute(_floor.insert().values(v="x"))

            def submit(rng: random.Random) -> None:
                a = rng.choice(accounts)
                api.submit(a, "u1", "printer jams", "the printer jams again", idempotency_key=uuid.uuid4().hex)

            def reply(rng: random.Random) -> None:
                a = rng.choice(accounts)
                api.reply(a, rng.choice(open_cases[a]), "u0", "any news on this?")

            def close(rng: random.Random) -> None:
                with close_lock:
                    case_id, a = to_close.pop()
                api.close(a, case_id, "u1", idempotency_key=uuid.uuid4().hex)

            def browse(rng: random.Random) -> None:
                a = rng.choice(accounts)
                page = api.browse(a, limit=50)
                assert len(page.cases) == 50 and page.next_cursor is not None
                api.browse(a, limit=50, cursor=page.next_cursor)

            row: dict[str, Any] = {"backend": backend, "cases": size}
            ops = {"floor": floor, "submit": submit, "reply": reply, "close": close, "browse": browse}
            sent: list[None] = []

            def count(*_: Any) -> None:
                sent.append(None)  # a statement sent (SQLite's BEGIN included; PostgreSQL's is the driver's)

            for name in args.kinds.split(","):
                run_threads(args.threads, 2, ops[name])  # warm the pool and caches
                sent.clear()
                event.listen(store.engine, "before_cursor_execute", count)
                row[name] = percentiles(run_threads(args.threads, args.ops, ops[name]))
                event.remove(store.engine, "before_cursor_execute", count)
                row[name]["statements_per_call"] = round(len(sent) / (args.threads * args.ops), 2)
            for name in ("submit", "reply", "close"):
                if name in row and "floor" in row:
                    row[f"{name}_p95_to_floor"] = round(row[name]["p95_ms"] / row["floor"]["p95_ms"], 2)
            print(json.dumps(row), flush=True)
            return row
        finally:
            store.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--sizes", default="1000,100000")
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--ops", type=int, default=20, help="calls per thread and kind")
    ap.add_argument("--accounts", type=int, default=4)
    ap.add_argument("--kinds", default="floor,submit,reply,close,browse", help="which calls to measure")
    args = ap.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    rows = [measure(b, n, args) for b in args.backends.split(",") for n in sizes]
    summary: dict[str, Any] = {"benchmark": "console_api", "threads": args.threads, "rows": rows}
    for backend in args.backends.split(","):
        mine = [r for r in rows if r["backend"] == backend]
        if len(mine) > 1 and all("browse" in r for r in mine):
            summary[f"{backend}_browse_p95_largest_to_smallest"] = round(
                mine[-1]["browse"]["p95_ms"] / mine[0]["browse"]["p95_ms"], 2
            )
    print("RESULT " + json.dumps(summary))


if __name__ == "__main__":
    main()
