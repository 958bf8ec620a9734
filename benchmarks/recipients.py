"""A recipient change over 1,000 open tickets: Zendesk requests used, and time.

One account with an admin and a user; the user has N open cases (delivered through the outbox as usual). Then
one address is added to the account's recipient list and the outbox delivers it: the CCs of every open
ticket change through ``update_many`` (100 tickets a request) and its job statuses.  Job-status polls do not
sleep here (the sandbox advances a job one step per poll, not with time), so the time is casesync's own work
plus the HTTP round trips.  Target: ``update_many`` requests <= 1.1 * ceil(N/100), plus the job polls.

    .venv/bin/python benchmarks/recipients.py [--tickets 1000]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from sync.api import SupportCases
from sync.gateway import ZendeskGateway
from sync.outbound import OutboxWorker
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import open_store


def _stats(url: str) -> dict[str, int]:
    body = requests.get(f"{url}/__sandbox/stats", timeout=10).json()
    return {"total": int(body["total"]), **{k: int(v) for k, v in body["requests"].items()}}


def _drain(worker: OutboxWorker) -> None:
    while worker.run_once().delivered:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=1000)
    args = parser.parse_args()
    n = args.tickets
    with Sandbox(rate_limits=False) as zd, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(zendesk_url=zd.url, zendesk_email=zd.agent_email,
                            zendesk_token=zd.agent_token,
                            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        store = open_store(settings.database_url)
        api = SupportCases(settings, store=store)
        worker = OutboxWorker(store, ZendeskGateway(settings), settings, worker_id="bench",
                              clock=lambda: datetime.now(UTC), sleep=lambda _: None)
        api.upsert_account("acme", "Acme")
        api.upsert_user("acme", "ann", "ann@acme.test", "Ann Admin", admin=True)
        api.upsert_user("acme", "bob", "bob@acme.test", "Bob User")
        started = time.perf_counter()
        for i in range(n):
            api.submit("acme", "bob", f"Case {i}", "Body")
        _drain(worker)
        print(f"setup: {n} open tickets created in {time.perf_counter() - started:.1f}s")

        before = _stats(zd.url)
        started = time.perf_counter()
        api.add_recipient("acme", "ops@acme.test")
        _drain(worker)
        elapsed = time.perf_counter() - started
        after = _stats(zd.url)
        spent = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
        bulk = spent.get("PUT /api/v2/tickets/update_many", 0)
        polls = spent.get("GET /api/v2/job_statuses/{id}", 0)
        target = 1.1 * math.ceil(n / 100)
        print(f"recipient change over {n} open tickets:")
        for route, count in sorted(spent.items()):
            print(f"  {route}: {count}")
        print(f"  update_many requests: {bulk} (target <= {target:.0f}); job polls: {polls};"
              f" per-ticket updates: {spent.get('PUT /api/v2/tickets/{id}', 0)}")
        print(f"  time: {elapsed:.2f}s")
        with store.read() as tx:
            ok = sum(1 for c in tx.case_records("acme", open_only=True) if "ops@acme.test" in c.cc)
        print(f"  cases showing the new address: {ok}/{n}")
        store.close()


if __name__ == "__main__":
    main()
