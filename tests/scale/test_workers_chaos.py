"""Four worker processes on one PostgreSQL store against a faulty sandbox, one of them killed mid-run.

The sandbox serves from its own process and answers 500, 503, 429, connection resets and "applied, then
the connection dropped" at random.  Each worker is a :class:`~sync.SyncEngine` loop in its own process
(outbox, inbox and the poller, as a ``casesync serve`` replica), with 2-second leases.  One worker is
SIGKILLed while it holds leases; its entries must be taken over once the leases run out.  After the others
drain the outbox, docs/design.md §4 must hold: one ticket per case, every message exactly one comment, per-case
order, nothing lost, no echo.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import select

from sync.api import SupportCases
from sync.store import Store, open_store
from sync.store import schema as s
from sync.testing.processes import ChildProcess, SandboxProcess, wait_for

WORKERS = 4
CASES = 24
LEASE_S = "2"
BATCH = "2"

FAULTS: dict[str, Any] = {
    "seed": 8,
    "rules": [
        {
            "path": "^/api/v2/",
            "error_500": 0.04,
            "error_503": 0.04,
            "error_429": 0.03,
            "reset": 0.03,
            "drop_after_commit": 0.05,
            "latency_ms": 20,
        }
    ],
}


def _held_by(store: Store, worker_id: str) -> list[int]:
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        o = s.outbox.c
        rows = conn.execute(select(o.id).where(o.lease_owner == worker_id, o.status == "pending"))
        return [r[0] for r in rows]


def _public_comments(state: dict[str, Any], ticket_id: int) -> list[str]:
    return [c["body"] for c in state["comments"].get(str(ticket_id), []) if c["public"]]


class Console:
    """The console's side: one account, two users, cases whose messages say their case and position."""

    def __init__(self, store: Store, cases: int) -> None:
        self.api = SupportCases(store=store)
        self.api.upsert_account("acme", "Acme Corp")
        self.api.upsert_user("acme", "ann", "ann@acme.test", "Ann Admin", admin=True)
        self.api.upsert_user("acme", "bob", "bob@acme.test", "Bob User")
        self.users = ["ann", "bob"]
        self.cases = [
            self.api.submit("acme", self.users[i % 2], f"Case {i}", f"case {i} message 0").id for i in range(cases)
        ]
        self.rounds = 1

    def reply_to_all(self) -> None:
        for i, case_id in enumerate(self.cases):
            self.api.reply("acme", case_id, self.users[i % 2], f"case {i} message {self.rounds}")
        self.rounds += 1

    def close(self, case_ids: list[int]) -> None:
        for case_id in case_ids:
            self.api.close("acme", case_id, self.users[self.cases.index(case_id) % 2])


def _start(url: str, sandbox: SandboxProcess, count: int, lease_s: str, batch: str) -> list[ChildProcess]:
    return [ChildProcess.main("engine", url, sandbox.url, f"w{i}", lease_s, batch, name=f"w{i}") for i in range(count)]


def _stop_and_count(workers: list[ChildProcess]) -> Counter[str]:
    """Stop the workers politely; the HTTP statuses they received, summed."""
    seen: Counter[str] = Counter()
    for w in workers:
        w.stop()
    for w in workers:
        seen.update(json.loads(w.expect("done", 10).split(" ", 1)[1])["statuses"])
    return seen


def _check_invariants(store: Store, sandbox: SandboxProcess, console: Console, closed: list[int]) -> None:
    """docs/design.md §4 as the two sides show it once the outbox is drained."""
    # Nothing lost: every entry delivered, none dead-lettered or left behind.
    with store.read() as tx:
        entries = tx.outbox_entries(limit=10_000)
    assert Counter(e.status for e in entries) == Counter({"done": len(entries)})

    state = sandbox.state()
    by_external_id = Counter(t.get("external_id") for t in state["tickets"])
    status_of = {t["id"]: t["status"] for t in state["tickets"]}
    for i, case_id in enumerate(console.cases):
        # One ticket per case, the one the store links.
        assert by_external_id[f"console-case:{case_id}"] == 1, f"case {case_id}: {by_external_id}"
        with store.read() as tx:
            ticket_id = tx.ticket_of(case_id)
            messages = [m.body for m in tx.case_messages(case_id)]
        assert ticket_id is not None
        # Every message exactly one comment, in the order written; nothing echoed back as a new message.
        expected = [f"case {i} message {n}" for n in range(console.rounds)]
        assert messages == expected
        assert _public_comments(state, ticket_id) == expected, f"case {case_id} (ticket {ticket_id})"
        if case_id in closed:
            assert status_of[ticket_id] == "closed"


def test_four_workers_with_faults_and_one_killed_keep_every_invariant(empty_pg: str, sandbox: SandboxProcess) -> None:
    store = open_store(empty_pg)
    store.migrate()
    console = Console(store, CASES)
    console.reply_to_all()
    console.reply_to_all()
    workers = _start(empty_pg, sandbox, WORKERS, LEASE_S, BATCH)
    try:
        for w in workers:
            w.expect("ready", 30)
        sandbox.faults(FAULTS)
        for w in workers:
            w.send("go")

        # Kill w0 while it holds leases: whatever it was doing is left half-done.
        wait_for(lambda: _held_by(store, "w0"), 30, "w0 to hold a lease")
        workers[0].kill()
        orphaned = _held_by(store, "w0")
        assert orphaned, "w0 released its leases before it was killed"

        # The console keeps working while the survivors catch up.
        console.reply_to_all()
        closed = console.cases[:4]
        console.close(closed)

        wait_for(lambda: store.counts().outbox_pending == 0, 60, "the surviving workers to drain the outbox", 0.2)
        seen = _stop_and_count(workers[1:])
    finally:
        for w in workers:
            w.stop()
    sandbox.faults({})
    # The faults did happen (resets and dropped connections get no response, so they are not counted here).
    assert seen["500"] and seen["503"] and seen["429"], seen
    with store.read() as tx:
        taken_over = [tx.outbox_entry(i) for i in orphaned]
    assert all(e is not None and e.status == "done" and e.lease_owner is None for e in taken_over)
    _check_invariants(store, sandbox, console, closed)
    store.close()


def test_a_slow_zendesk_does_not_cost_a_live_worker_its_leases(empty_pg: str, sandbox: SandboxProcess) -> None:
    """Batches that take several lease lengths to deliver: live workers keep their entries (heartbeat)."""
    store = open_store(empty_pg)
    store.migrate()
    console = Console(store, 6)
    console.reply_to_all()
    workers = _start(empty_pg, sandbox, 2, "0.5", "6")
    try:
        for w in workers:
            w.expect("ready", 30)
        sandbox.faults({"seed": 3, "rules": [{"path": "^/api/v2/", "latency_ms": 120, "error_503": 0.05}]})
        for w in workers:
            w.send("go")
        wait_for(lambda: store.counts().outbox_pending == 0, 60, "the workers to drain the outbox", 0.2)
        _stop_and_count(workers)
    finally:
        for w in workers:
            w.stop()
    sandbox.faults({})
    with store.read() as tx:
        entries = tx.outbox_entries(limit=10_000)
    # No lease ran out under a live worker: no entry was ever taken over.
    assert [e.id for e in entries if e.attempts and "expired" in (e.last_error or "")] == []
    _check_invariants(store, sandbox, console, [])
    store.close()
