"""The outbox worker's bookkeeping in bulk: what one read or one statement per batch does is what the single
calls did, on both backends, and the worker's steady-state drain holds to a statement budget.

The budget is a count of SQL statements (SQLAlchemy's ``before_cursor_execute``), not a time: deterministic
on any machine (docs/benchmarks.md, the outbound section).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from mappings.zendesk import ZTicket
from sync.api import SupportCases
from sync.gateway import GatewaySession, ZendeskGateway
from sync.outbound import OutboxWorker
from sync.retry import Pacer, RetryPolicy
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store, open_store, user_key
from sync.store.outbox_payloads import SubmitPayload
from sync.ticket_facts import known_ticket, remember_ticket, remember_tickets

from .conftest import Drain, ticket_of_case

WHEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ANN, ZOE = user_key("acme", "ann"), user_key("acme", "zoe")
LAST = 10**9


@pytest.fixture
def any_store(store_url: str, clock: Any) -> Iterator[Store]:
    """An empty store of each backend (the outbound tests' own ``store`` is SQLite only)."""
    opened = open_store(store_url, clock=clock)
    try:
        yield opened
    finally:
        opened.close()


def _user_entries(store: Store, statuses: list[str]) -> list[int]:
    """Entries of ann's key, one per status given, oldest first."""
    with store.transaction() as tx:
        tx.upsert_account("acme", "Acme")
        tx.upsert_user("acme", "ann", "Ann@acme.test", "Ann", True)
        ids = [
            tx.enqueue("upsert_user", {"user_id": "ann", "i": i}, ordering_key=ANN, account_id="acme")
            for i in range(len(statuses))
        ]
    claimed = {e.id: e for e in store.claim_outbox("w", limit=100)}
    for entry_id, status in zip(ids, statuses, strict=True):
        entry = claimed.get(entry_id)
        if status == "done":
            assert entry is not None and store.complete(entry)
        elif status == "dead":
            assert entry is not None and store.dead_letter(entry, "refused")
        elif entry is not None:
            store.release(entry)
        claimed = {e.id: e for e in store.claim_outbox("w", limit=100)}
    for entry in claimed.values():
        store.release(entry)
    return ids


def test_user_dependencies_is_the_user_the_staff_test_and_the_earlier_undelivered_entries(any_store: Store) -> None:
    done, dead, pending = _user_entries(any_store, ["done", "dead", "pending"])
    with any_store.read() as tx:
        user, staff, earlier = tx.user_dependencies("acme", "ann", ordering_key=ANN, before_id=LAST)
        assert user == tx.get_user("acme", "ann")
        assert staff is False
        assert [(e.id, e.status) for e in earlier] == [(dead, "dead"), (pending, "pending")]
        # Only entries older than the one asking count.
        _, _, older = tx.user_dependencies("acme", "ann", ordering_key=ANN, before_id=pending)
        assert [e.id for e in older] == [dead]
    assert done < dead
    with any_store.transaction() as tx:
        tx.add_staff_email("ann@ACME.test")
    with any_store.read() as tx:
        _, staff, _ = tx.user_dependencies("acme", "ann", ordering_key=ANN, before_id=LAST)
        assert staff is True and tx.is_staff_email("ann@acme.test")


def test_user_dependencies_of_an_unknown_user_still_lists_its_keys_entries(any_store: Store) -> None:
    with any_store.transaction() as tx:
        entry_id = tx.enqueue("upsert_user", {"user_id": "zoe"}, ordering_key=ZOE, account_id="acme")
    with any_store.read() as tx:
        user, staff, earlier = tx.user_dependencies("acme", "zoe", ordering_key=ZOE, before_id=LAST)
    assert (user, staff, [e.id for e in earlier]) == (None, False, [entry_id])


def test_bulk_completion_writes_what_the_single_calls_write(any_store: Store) -> None:
    with any_store.transaction() as tx:
        tx.upsert_account("acme", "Acme")
        tx.upsert_user("acme", "ann", "ann@acme.test", "Ann", True)
        number = tx.next_case_number()
        tx.create_case(number, "acme", "ann", "subject")
        first = tx.add_message(number, "user", "Ann", "one", origin="console", user_id="ann").id
        second = tx.add_message(number, "user", "Ann", "two", origin="console", user_id="ann").id
        ids = [tx.enqueue("reply", {"i": i}, ordering_key=f"case:{100 + i}", account_id="acme") for i in range(3)]
    claimed = any_store.claim_outbox("w", limit=10)
    assert sorted(e.id for e in claimed) == ids
    with any_store.transaction() as tx:
        tx.set_message_comments({first: 11, second: 12})
        tx.complete_all(claimed)
        tx.kv_set_many({"ticket_facts:1": {"a": 1}, "ticket_facts:2": {"a": 2}})
    with any_store.read() as tx:
        assert [m.zendesk_comment_id for m in tx.case_messages(number)] == [11, 12]
        assert {e.status for e in tx.outbox_entries()} == {"done"}
        assert tx.kv_get_many(["ticket_facts:1", "ticket_facts:2", "ticket_facts:3"]) == {
            "ticket_facts:1": {"a": 1},
            "ticket_facts:2": {"a": 2},
        }


def test_linking_a_created_ticket_is_the_link_and_the_ccs_of_the_single_calls(any_store: Store, clock: Any) -> None:
    with any_store.transaction() as tx:
        tx.upsert_account("acme", "Acme")
        tx.upsert_user("acme", "ann", "ann@acme.test", "Ann", True)
        first, second = tx.next_case_number(), tx.next_case_number()
        tx.create_case(first, "acme", "ann", "one")
        tx.create_case(second, "acme", "ann", "two")
    with any_store.read() as tx:
        before = tx.get_case(first)
    clock.advance(5)
    with any_store.transaction() as tx:
        tx.link_created_ticket(first, 501, ["ops@acme.test"])
    with any_store.read() as tx:
        after = tx.get_case(first)
    assert before is not None and after is not None
    assert (after.ticket_id, after.cc) == (501, ["ops@acme.test"])
    assert after.updated_at > before.updated_at  # the console sees the change
    with any_store.transaction() as tx:
        tx.link_created_ticket(first, 501, ["ops@acme.test"])  # a lost completion, written again: no change
    with pytest.raises(ValueError), any_store.transaction() as tx:
        tx.link_created_ticket(second, 501, [])  # the ticket is another case's


def test_case_and_message_is_what_the_two_reads_give(any_store: Store) -> None:
    with any_store.transaction() as tx:
        tx.upsert_account("acme", "Acme")
        tx.upsert_user("acme", "ann", "ann@acme.test", "Ann", True)
        first, other = tx.next_case_number(), tx.next_case_number()
        tx.create_case(first, "acme", "ann", "one")
        tx.create_case(other, "acme", "ann", "two")
        tx.link_ticket(first, 77)
        plain = tx.add_message(first, "user", "Ann", "plain", origin="console", user_id="ann").id
        with_files = tx.add_message(first, "user", "Ann", "files", origin="console", user_id="ann").id
        for name in ("b.txt", "a.txt"):
            tx.add_attachment(with_files, name, "text/plain", b"x")
        elsewhere = tx.add_message(other, "user", "Ann", "moved", origin="console", user_id="ann").id
    with any_store.read() as tx:
        for message_id in (plain, with_files, elsewhere, 10**9):
            assert tx.case_and_message(first, message_id) == (tx.get_case(first), tx.message(message_id))
        assert tx.case_and_message(10**9, plain) == (None, None)


def test_a_completion_leaves_an_entry_whose_lease_was_taken_over(any_store: Store, clock: Any) -> None:
    with any_store.transaction() as tx:
        tx.enqueue("reply", {}, ordering_key="case:1", account_id="acme")
    [entry] = any_store.claim_outbox("w1", lease_s=30)
    any_store.release(entry)
    [again] = any_store.claim_outbox("w2", lease_s=30)
    with any_store.transaction() as tx:
        tx.complete_all([entry])  # w1's stale claim
    with any_store.read() as tx:
        found = tx.outbox_entry(again.id)
    assert found is not None and found.status == "pending" and found.lease_owner == "w2"


def _ticket(ticket_id: int, assignee: int | None, updated_at: datetime) -> ZTicket:
    return ZTicket(id=ticket_id, status="open", assignee_id=assignee, updated_at=updated_at)


def test_remembering_tickets_in_bulk_keeps_the_newest_snapshot_of_each(any_store: Store) -> None:
    with any_store.transaction() as tx:
        remember_ticket(tx, _ticket(1, 5, WHEN + timedelta(minutes=10)))  # newer than what the batch brings
        remember_tickets(
            tx,
            [
                _ticket(1, None, WHEN),
                _ticket(2, 7, WHEN),
                _ticket(2, 8, WHEN + timedelta(minutes=1)),  # two snapshots of one ticket: the newer wins
                _ticket(3, None, WHEN),
            ],
        )
    with any_store.read() as tx:
        facts = {t: known_ticket(tx, t) for t in (1, 2, 3)}
    assert {t: (f.assignee_id, f.updated_at) for t, f in facts.items() if f is not None} == {
        1: (5, WHEN + timedelta(minutes=10)),
        2: (8, WHEN + timedelta(minutes=1)),
        3: (None, WHEN),
    }


class _Watching(ZendeskGateway):
    """A gateway that notes, at each ticket create, the ``sent_ccs`` every submit holds in the store."""

    def watch(self, store: Store) -> list[dict[int, tuple[str, ...]]]:
        self._store = store
        self._seen: list[dict[int, tuple[str, ...]]] = []
        return self._seen

    def create_ticket(self, *args: Any, **kwargs: Any) -> Any:
        with self._store.read() as tx:
            self._seen.append({e.id: SubmitPayload.of(e).sent_ccs for e in tx.outbox_entries() if e.kind == "submit"})
        return super().create_ticket(*args, **kwargs)


def test_a_batch_of_submits_records_every_address_before_its_first_request(
    zd: Sandbox, support: SupportCases, account: str, store: Store, settings: Settings, clock: Any, sleeps: list[float]
) -> None:
    gateway = _Watching(
        url=zd.url,
        email=zd.agent_email,
        token=zd.agent_token,
        session=GatewaySession(pacer=Pacer(sleep=sleeps.append)),
        policy=RetryPolicy(sleep=sleeps.append, random_source=lambda: 0.5, max_attempts=4, max_elapsed_s=None),
    )
    seen = gateway.watch(store)
    worker = OutboxWorker(store, gateway, settings, worker_id="w-bulk", clock=clock, sleep=sleeps.append)
    cases = [support.submit(account, "bob", f"Case {i}", "Help") for i in range(3)]
    for _ in range(10):
        if worker.run_once().pending == 0:
            break
    assert [ticket_of_case(store, c.id) for c in cases]
    # Already at the first request, each submit of the batch holds the addresses its create carries.
    assert len(seen) == 3
    assert set(seen[0].values()) == {("ann@acme.test", "ops@acme.test")}


def test_steady_state_drain_holds_to_its_statement_budget(
    support: SupportCases, account: str, store: Store, drain: Drain
) -> None:
    warm = support.submit(account, "bob", "warm-up", "users and organization known")
    support.close(account, warm.id, "bob")
    drain()
    cases = [support.submit(account, "bob", f"Case {i}", "Help").id for i in range(5)]
    for case_id in cases:
        support.reply(account, case_id, "bob", "More")
    for case_id in cases:
        support.close(account, case_id, "bob")
    sent: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    engine = store.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        drain()
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    # 15 deliveries: before the bulk bookkeeping about 12.7 statements each, now at most 8.
    # 15 deliveries, with the claims and the pass reports around them: 162 statements today (the code before
    # the bulk bookkeeping sent about 230); the benchmark's 1,000 deliveries average about 6.5 each.
    assert len(sent) <= 11 * 15, f"{len(sent)} statements for 15 deliveries"


def test_a_batch_whose_addresses_could_not_be_recorded_is_delivered_recording_each_alone(
    support: SupportCases, account: str, store: Store, worker: OutboxWorker, drain: Drain
) -> None:
    def refused(_entries: object) -> object:
        raise RuntimeError("database is locked")

    worker._record_sent_ccs = refused  # type: ignore[assignment]
    case = support.submit(account, "bob", "Printer", "Out of toner")
    report = drain()
    assert report.dead_letters == 0 and ticket_of_case(store, case.id)
    with store.read() as tx:
        [submit] = [e for e in tx.outbox_entries() if e.kind == "submit"]
    assert SubmitPayload.of(submit).sent_ccs == ("ann@acme.test", "ops@acme.test")
