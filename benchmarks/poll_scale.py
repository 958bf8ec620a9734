"""A poll cycle's time and memory against the number of cases in the store (1k, 10k, 100k).

    .venv/bin/python -m benchmarks.poll_scale [--sizes 1000,10000,100000] [--changed 100]

For each size, a fresh store is seeded through its transaction API (one transaction, no Zendesk calls):
``--changed`` cases are real, delivered tickets; the rest are linked to tickets that never change.  After
a first poll has caught up, staff reply once on each real ticket and one poll cycle is measured: wall time
and the Python heap's peak (tracemalloc) while the poller reads the exports and applies the changes.  Only
the number of changes is the same at every size, so a flat curve means the cycle does not grow with the
number of cases.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.logging import configure_logging
from sync.sandbox.staff import Staff
from sync.settings import Settings
from sync.testing.processes import SandboxProcess

__all__ = ["main", "measure"]

_FAKE_TICKETS = 10_000_000  # ids far above the sandbox's, for cases whose tickets never change


def _seed(engine: SyncEngine, filler: int) -> None:
    started = time.perf_counter()
    with engine.store.transaction() as tx:
        for _ in range(filler):
            number = tx.next_case_number()
            tx.create_case(number, "acme", "bob", f"Old case {number}")
            tx.add_message(number, "user", "Bob", "old problem", origin="console")
            tx.link_ticket(number, _FAKE_TICKETS + number)
    print(f"  seeded {filler} cases in {time.perf_counter() - started:.1f} s", flush=True)


def _poll(engine: SyncEngine, zd: SandboxProcess) -> None:
    for _ in range(20):
        zd.advance_clock(61)
        engine.gateway.me()
        if not engine.poller.run_once().inbound_applied and engine.poller.caught_up:
            return


def measure(size: int, changed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, SandboxProcess(rate_limits=False) as zd:
        settings = Settings(
            zendesk_url=zd.url, zendesk_email=zd.agent_email, zendesk_token=zd.agent_token,
            database_url=f"sqlite:///{Path(tmp) / 'p.db'}", default_assignee_email=zd.agent_email,
        )
        engine = SyncEngine(settings)
        support = SupportCases(store=engine.store)
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "bob", "bob@acme.test", "Bob", admin=True)
        real = [support.submit("acme", "bob", f"Case {i}", f"Problem {i}").id for i in range(changed)]
        for _ in range(100):
            if engine.outbox.run_once().pending == 0:
                break
        _seed(engine, size - changed)
        _poll(engine, zd)
        agent = Staff(zd.url, zd.agent_email, zd.agent_token)
        for case_id in real:
            ticket = support.get("acme", case_id).ticket_id
            agent.call("PUT", f"tickets/{ticket}", {"ticket": {"comment": {"body": "news", "public": True}}})
        zd.advance_clock(61)
        engine.gateway.me()
        tracemalloc.start()
        started = time.perf_counter()
        applied = 0
        for _ in range(10):
            report = engine.poller.run_once()
            applied += report.inbound_applied
            if applied >= changed and engine.poller.caught_up:
                break
            zd.advance_clock(61)
            engine.gateway.me()
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        cases = engine.store.counts().cases
        engine.close()
    return {"cases": cases, "changes": changed, "applied": applied, "seconds": seconds, "peak_mib": peak / 2**20}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--changed", type=int, default=100)
    args = ap.parse_args(argv)
    configure_logging("console", "WARNING")  # figures only; the engine's own log lines would interleave
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.changed)
        rows.append(row)
        print(f"poll cycle: {row['cases']:>7} cases, {row['changes']} changes (applied {row['applied']}):"
              f" {row['seconds']:.2f} s, peak heap {row['peak_mib']:.1f} MiB", flush=True)
    print("RESULT " + json.dumps({"benchmark": "poll_scale", "rows": rows}))


if __name__ == "__main__":
    main()
