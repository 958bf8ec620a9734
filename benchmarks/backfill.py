"""Bulk backfill: Zendesk requests per imported ticket.

    .venv/bin/python -m benchmarks.backfill [--tickets 2000] [--accounts 20] [--attachment-every 10]

An in-process sandbox (rate limits off) is seeded directly in its state: ``--accounts`` console accounts of 5
users each go through the outbox as usual, then ``--tickets`` existing tickets in their organizations, each
with 5 comments — the requester's question, a staff reply, an internal note, the requester's answer, a staff
reply — 10 tickets a second of the sandbox's clock (so the exports page as they would on a busy help desk).
Every ``--attachment-every``-th ticket has a file on its first staff reply and another on its internal note.

``casesync backfill``'s importer then runs against it.  Counted: the API requests the sandbox served during
the run (``/__sandbox/stats``): the two exports' pages, ``show_many`` lookups and any comment listings.
Attachment downloads are separate: one per public attachment whatever the path, outside the API
(``content_url``), so they are reported as ``downloads`` and not in ``requests``.  The last line is
``RESULT {json}`` with ``requests_per_ticket``, ``tickets`` and ``requests``.

On real Zendesk both exports share a budget of 10 requests a minute, so the run's length is set by its pages
(about ``requests`` / 10 minutes), not by this machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from sync.api import SupportCases
from sync.consistency import Backfiller
from sync.gateway import ZendeskGateway
from sync.outbound import OutboxWorker
from sync.sandbox import Sandbox
from sync.sandbox.tickets import apply_update, create_ticket
from sync.settings import Settings
from sync.store import Store, open_store

__all__ = ["main"]

_PER_SECOND = 10


def _stats(url: str) -> dict[str, int]:
    body = requests.get(f"{url}/__sandbox/stats", timeout=10).json()
    return {"total": int(body["total"]), **{k: int(v) for k, v in body["requests"].items()}}


def _accounts(store: Store, api: SupportCases, worker: OutboxWorker, count: int) -> list[tuple[int, list[int]]]:
    """``count`` accounts with 5 users each, delivered; (organization id, the users' Zendesk ids) per account."""
    for a in range(count):
        api.upsert_account(f"acct{a}", f"Account {a}")
        for u in range(5):
            api.upsert_user(f"acct{a}", f"u{u}", f"u{u}@acct{a}.test", f"User {u} of {a}", admin=u == 0)
    while worker.run_once().delivered:
        pass
    out = []
    with store.read() as tx:
        for a in range(count):
            account = tx.get_account(f"acct{a}")
            users = [tx.get_user(f"acct{a}", f"u{u}") for u in range(5)]
            assert account is not None and account.zendesk_org_id is not None
            out.append((account.zendesk_org_id, [u.zendesk_user_id for u in users if u and u.zendesk_user_id]))
    return out


def _seed(zd: Sandbox, gateway: ZendeskGateway, accounts: list[tuple[int, list[int]]], tickets: int,
          attachment_every: int) -> int:
    """The tickets; returns the number of public attachments."""
    st, public_files = zd.state, 0
    for start in range(0, tickets, _PER_SECOND):
        batch = range(start, min(start + _PER_SECOND, tickets))
        files = {i: (gateway.upload(f"answer-{i}.txt", "text/plain", b"answer"),
                     gateway.upload(f"note-{i}.txt", "text/plain", b"internal"))
                 for i in batch if attachment_every and i % attachment_every == 0}
        with st.lock:
            staff = st.users[st.admin_id]
            for i in batch:
                org, users = accounts[i % len(accounts)]
                requester_id = users[(i // len(accounts)) % len(users)]
                requester = st.users[requester_id]
                ticket, _ = create_ticket(st, {
                    "subject": f"Existing {i}", "requester_id": requester_id, "organization_id": org,
                    "comment": {"body": f"Question {i}", "author_id": requester_id, "public": True},
                }, actor=requester, client="Web")
                t = st.tickets[ticket["id"]]
                answer, note = files.get(i, (None, None))
                steps: list[tuple[Any, dict[str, Any]]] = [
                    (staff, {"body": f"Reply {i}", "public": True, **({"uploads": [answer]} if answer else {})}),
                    (staff, {"body": f"Note {i}", "public": False, **({"uploads": [note]} if note else {})}),
                    (requester, {"body": f"Thanks {i}", "public": True}),
                    (staff, {"body": f"Done {i}", "public": True}),
                ]
                for actor, comment in steps:
                    apply_update(st, t, {"comment": comment}, actor=actor, client="Web")
                public_files += answer is not None
        zd.advance_clock(1)
    zd.advance_clock(61)  # the exports leave out their most recent minute
    return public_files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--attachment-every", type=int, default=10)
    args = parser.parse_args(argv)
    since = datetime.now(UTC) - timedelta(hours=1)
    with Sandbox(rate_limits=False) as zd, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(zendesk_url=zd.url, zendesk_email=zd.agent_email, zendesk_token=zd.agent_token,
                            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        store = open_store(settings.database_url)
        gateway = ZendeskGateway(settings)
        worker = OutboxWorker(store, gateway, settings, worker_id="bench", clock=lambda: datetime.now(UTC),
                              sleep=lambda _: None)
        started = time.perf_counter()
        accounts = _accounts(store, SupportCases(settings, store=store), worker, args.accounts)
        public_files = _seed(zd, gateway, accounts, args.tickets, args.attachment_every)
        print(f"setup: {args.tickets} tickets x 5 comments in {len(accounts)} organizations,"
              f" {public_files} public attachments, in {time.perf_counter() - started:.1f}s")

        before = _stats(zd.url)
        started = time.perf_counter()
        result = Backfiller(store, gateway, settings, sleep=lambda _: None).run(since)
        elapsed = time.perf_counter() - started
        after = _stats(zd.url)
        spent = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
        with store.read() as tx:
            messages = attachments = 0
            for case_id, _ in tx.linked_cases(limit=args.tickets + 1):
                found = tx.case_messages(case_id)
                messages += len(found)
                attachments += sum(len(m.attachments) for m in found)
        store.close()
    requests_made = spent.pop("total", 0)
    print(f"backfill of {args.tickets} tickets: imported {result.imported} in {elapsed:.1f}s")
    for route, count in sorted(spent.items()):
        print(f"  {route}: {count}")
    print(f"  messages imported: {messages} (4 public of 5 per ticket); attachments downloaded: {attachments}")
    out = {
        "benchmark": "backfill", "tickets": args.tickets, "imported": result.imported, "requests": requests_made,
        "requests_per_ticket": round(requests_made / max(args.tickets, 1), 4),
        "comment_listings": sum(n for k, n in spent.items() if k.endswith("/comments")),
        "downloads": attachments, "messages": messages, "seconds": round(elapsed, 2),
    }
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    main()
