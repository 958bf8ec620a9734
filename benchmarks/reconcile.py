"""Reconcile of N linked cases (10,000 by default): Zendesk requests used, and time.

The linked state is seeded in bulk: the account and its users go through the outbox as usual, then N
tickets are created inside the in-process sandbox (as ``POST /api/v2/tickets`` would create them, each with
the account's admin CC'd and one public comment by the requester) and N matching cases, messages and links
are written to the store directly, 1,000 per transaction.  A few tickets are then changed by staff so the
run has drift to find.  The reconcile reads tickets 100 per ``show_many``, CC users 100 per
``users/show_many`` and comments from the ticket-event export (1,000 audits a page).

    .venv/bin/python benchmarks/reconcile.py [--cases 10000] [--drift 25]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from sync.api import SupportCases
from sync.consistency import Reconciler
from sync.gateway import ZendeskGateway
from sync.outbound import OutboxWorker
from sync.sandbox import Sandbox
from sync.sandbox.tickets import apply_update, create_ticket
from sync.settings import Settings
from sync.store import TicketState, open_store


def _stats(url: str) -> dict[str, int]:
    body = requests.get(f"{url}/__sandbox/stats", timeout=10).json()
    return {"total": int(body["total"]), **{k: int(v) for k, v in body["requests"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--drift", type=int, default=25, help="tickets staff change behind casesync's back")
    args = parser.parse_args()
    with Sandbox(rate_limits=False) as zd, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(zendesk_url=zd.url, zendesk_email=zd.agent_email,
                            zendesk_token=zd.agent_token,
                            database_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        store = open_store(settings.database_url)
        gateway = ZendeskGateway(settings)
        api = SupportCases(settings, store=store)
        worker = OutboxWorker(store, gateway, settings, worker_id="bench", clock=lambda: datetime.now(UTC),
                              sleep=lambda _: None)
        api.upsert_account("acme", "Acme")
        api.upsert_user("acme", "ann", "ann@acme.test", "Ann Admin", admin=True)
        api.upsert_user("acme", "bob", "bob@acme.test", "Bob User")
        while worker.run_once().delivered:
            pass
        with store.read() as tx:
            org = tx.get_account("acme").zendesk_org_id  # type: ignore[union-attr]
            bob = tx.get_user("acme", "bob").zendesk_user_id  # type: ignore[union-attr]

        started = time.perf_counter()
        st = zd.state
        created: list[tuple[int, int, int]] = []  # (ticket, comment, generated)
        with st.lock:
            admin = st.users[st.admin_id]
            for i in range(args.cases):
                ticket, _ = create_ticket(st, {
                    "subject": f"Case {i}", "requester_id": bob, "organization_id": org,
                    "external_id": f"console-case:{i + 1}",
                    "comment": {"body": "Body", "author_id": bob, "public": True},
                    "email_ccs": [{"user_email": "ann@acme.test", "action": "put"}],
                }, actor=admin, client="API")
                created.append((ticket["id"], st.comments[ticket["id"]][0]["id"], int(ticket["generated_ts"])))
        for start in range(0, len(created), 1000):
            with store.transaction() as tx:
                for ticket_id, comment_id, generated in created[start : start + 1000]:
                    number = tx.next_case_number()
                    tx.create_case(number, "acme", "bob", f"Case {number}")
                    message = tx.add_message(number, "user", "Bob User", "Body", origin="console")
                    tx.set_message_comment(message.id, comment_id)
                    tx.link_ticket(number, ticket_id)
                    tx.set_case_cc(number, ["ann@acme.test"])
                    tx.put_ticket_state(TicketState(ticket_id=ticket_id, case_id=number,
                                                    generated_timestamp=generated, status="new"))
        with st.lock:
            staff = st.users[st.admin_id]
            for ticket_id, _, _ in created[: args.drift]:
                apply_update(st, st.tickets[ticket_id], {"comment": {"body": "Missed reply", "public": True},
                                                         "status": "pending"}, actor=staff, client="Web")
        zd.advance_clock(61)  # the export leaves out the most recent minute
        print(f"setup: {args.cases} linked cases seeded in {time.perf_counter() - started:.1f}s;"
              f" {args.drift} tickets changed behind casesync's back")

        before = _stats(zd.url)
        started = time.perf_counter()
        report = Reconciler(store, gateway, settings, grace_s=0).run(repair=True)
        elapsed = time.perf_counter() - started
        after = _stats(zd.url)
        spent = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
        print(f"reconcile of {report.checked} linked cases (repair on):")
        for route, count in sorted(spent.items()):
            print(f"  {route}: {count}")
        print(f"  drift: {report.drift} {report.by_kind()}; repairs queued: {report.repaired}; errors: {report.errors}")
        print(f"  time: {elapsed:.2f}s ({report.checked / elapsed:.0f} cases/s)")
        with store.read() as tx:
            pending = tx.counts().inbox_pending
        print(f"  inbox hints queued: {pending}")
        store.close()


if __name__ == "__main__":
    main()
