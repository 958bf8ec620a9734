"""The outbox on both backends: per-key order, leases, dead letters holding their key, replay, concurrency."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest

from mappings.models import ChangeKind
from sync.store import OutboxEntry, Store, account_key, case_key, open_store


def _case(tx: Any, account: str = "acme") -> int:
    if tx.get_account(account) is None:
        tx.upsert_account(account, account.title())
        tx.upsert_user(account, "u1", f"u1@{account}.test", "Una", True)
    number = int(tx.next_case_number())
    tx.create_case(number, account, "u1", "subject")
    return number


def _enqueue(store: Store, key: str, n: int, *, case_id: int | None = None, account: str = "acme") -> list[int]:
    with store.transaction() as tx:
        return [tx.enqueue("reply", {"i": i}, ordering_key=key, account_id=account, case_id=case_id) for i in range(n)]


def test_claim_returns_only_the_oldest_entry_of_each_key(store: Store) -> None:
    a = _enqueue(store, "case:1", 3)
    b = _enqueue(store, "case:2", 2)
    claimed = store.claim_outbox("w1")
    assert sorted(e.id for e in claimed) == [a[0], b[0]]
    assert all(e.lease_owner == "w1" and e.first_attempt_at is not None for e in claimed)
    # Leased heads are not handed out again, and nothing behind them is.
    assert store.claim_outbox("w2") == []
    first = next(e for e in claimed if e.id == a[0])
    assert store.complete(first)
    assert [e.id for e in store.claim_outbox("w2")] == [a[1]]


def test_entries_of_a_key_are_delivered_in_order(store: Store) -> None:
    ids = _enqueue(store, "case:7", 5)
    delivered = []
    while batch := store.claim_outbox("w"):
        for entry in batch:
            delivered.append(entry.id)
            store.complete(entry)
    assert delivered == ids


def test_a_failed_entry_waits_for_its_next_attempt_and_holds_its_key(store: Store, clock: Any) -> None:
    ids = _enqueue(store, "case:1", 2)
    [entry] = store.claim_outbox("w1")
    assert store.fail(entry, "503 from Zendesk", clock.now + timedelta(seconds=60))
    assert store.claim_outbox("w1") == []  # not due, and the second entry stays behind it
    clock.advance(61)
    [again] = store.claim_outbox("w1")
    assert (again.id, again.attempts, again.last_error) == (ids[0], 1, "503 from Zendesk")
    assert again.first_attempt_at == entry.first_attempt_at  # the retry window counts from the first try


def test_an_expired_lease_is_taken_over_and_the_old_holder_loses_it(store: Store, clock: Any) -> None:
    _enqueue(store, "case:1", 1)
    [held] = store.claim_outbox("w1", lease_s=30)
    clock.advance(29)
    assert store.claim_outbox("w2", lease_s=30) == []
    clock.advance(2)
    [taken] = store.claim_outbox("w2", lease_s=30)
    assert taken.id == held.id and taken.lease_owner == "w2"
    assert not store.complete(held)  # w1 outlived its lease: its verdict no longer counts
    assert not store.fail(held, "late", clock.now)
    assert store.complete(taken)
    with store.read() as tx:
        done = tx.outbox_entry(held.id)
    assert done is not None and done.status == "done" and done.delivered_at == clock.now


def test_renew_and_release_lease(store: Store, clock: Any) -> None:
    _enqueue(store, "case:1", 1)
    [held] = store.claim_outbox("w1", lease_s=10)
    clock.advance(8)
    with store.transaction() as tx:
        assert tx.renew_lease(held, 10)
    clock.advance(8)
    assert store.claim_outbox("w2") == []
    assert store.release(held)
    [again] = store.claim_outbox("w2")
    assert again.id == held.id and again.attempts == 0


def test_an_amended_payload_reaches_the_next_attempt_only_from_the_lease_holder(store: Store, clock: Any) -> None:
    _enqueue(store, "case:1", 1)
    [held] = store.claim_outbox("w1", lease_s=10)
    with store.transaction() as tx:
        assert tx.amend_payload(held, {**held.payload, "sent": ["a@acme.test"]})
    assert store.fail(held, "lost answer", clock.now)
    [again] = store.claim_outbox("w1", lease_s=10)
    assert again.payload == {"i": 0, "sent": ["a@acme.test"]}
    clock.advance(11)
    [taken] = store.claim_outbox("w2", lease_s=10)
    with store.transaction() as tx:
        assert not tx.amend_payload(again, {"i": 0})  # w1 outlived its lease
    assert taken.payload == {"i": 0, "sent": ["a@acme.test"]}


def test_a_dead_letter_holds_later_entries_of_its_key_until_replayed(store: Store, clock: Any) -> None:
    with store.transaction() as tx:
        case_id = _case(tx)
    ids = _enqueue(store, case_key(case_id), 2, case_id=case_id)
    other = _enqueue(store, "case:999", 1)
    [entry, _] = sorted(store.claim_outbox("w1"), key=lambda e: e.id)
    assert store.dead_letter(entry, "422 invalid ticket")
    assert [e.id for e in store.claim_outbox("w1")] == []  # case:999 is still leased by w1
    clock.advance(60)
    claimed = store.claim_outbox("w2")
    assert [e.id for e in claimed] == other  # only the other key's entry; the dead letter holds ids[1]
    with store.read() as tx:
        [feed] = tx.changes(0)
        letters = tx.dead_letters()
        assert tx.counts().outbox_dead == 1
    assert (feed.kind, feed.case_id) == (ChangeKind.DELIVERY_FAILED, case_id)
    assert "422 invalid ticket" in feed.detail
    assert [(d.queue, d.id, d.reason) for d in letters] == [("outbox", ids[0], "422 invalid ticket")]
    assert store.replay(ids[0])
    assert not store.replay(ids[0])  # no longer dead
    [replayed] = store.claim_outbox("w3")
    assert replayed.id == ids[0] and replayed.status == "pending"
    assert store.complete(replayed)
    assert [e.id for e in store.claim_outbox("w3")] == [ids[1]]


def test_discarding_a_dead_letter_releases_its_key(store: Store) -> None:
    ids = _enqueue(store, account_key("acme"), 2)
    [entry] = store.claim_outbox("w1")
    store.dead_letter(entry, "agent email")
    assert store.claim_outbox("w1") == []
    assert store.discard(ids[0])
    assert not store.discard(ids[0])
    assert [e.id for e in store.claim_outbox("w1")] == [ids[1]]
    with store.read() as tx:
        assert tx.dead_letters() == []
        assert tx.outbox_entry(ids[0]).status == "discarded"  # type: ignore[union-attr]


def test_not_before_delays_an_entry(store: Store, clock: Any) -> None:
    with store.transaction() as tx:
        tx.enqueue("submit", {}, ordering_key="case:1", not_before=clock.now + timedelta(seconds=10))
    assert store.claim_outbox("w") == []
    clock.advance(10)
    assert len(store.claim_outbox("w")) == 1


def test_claim_limit_and_due_order(store: Store, clock: Any) -> None:
    for k in range(5):
        _enqueue(store, f"case:{k}", 1)
        clock.advance(1)
    claimed = store.claim_outbox("w", limit=3)
    assert [e.ordering_key for e in claimed] == ["case:0", "case:1", "case:2"]


def test_concurrent_claimers_never_hold_the_same_key(store_url: str) -> None:
    """Threads with their own store objects (as separate processes would be) drain a shared outbox."""
    keys, per_key = 12, 6
    setup = open_store(store_url)
    try:
        for k in range(keys):
            _enqueue(setup, f"case:{k}", per_key)
    finally:
        setup.close()

    active: set[str] = set()
    guard = threading.Lock()
    delivered: dict[str, list[int]] = defaultdict(list)
    errors: list[str] = []

    def worker(name: str) -> None:
        st = open_store(store_url)
        try:
            idle = 0
            while idle < 20:
                batch = st.claim_outbox(name, limit=3, lease_s=60)
                if not batch:
                    idle += 1
                    time.sleep(0.005)
                    continue
                idle = 0
                for entry in batch:
                    with guard:
                        if entry.ordering_key in active:
                            errors.append(f"{name} got {entry.ordering_key} while another worker held it")
                        active.add(entry.ordering_key)
                    time.sleep(0.001)
                    with guard:
                        active.discard(entry.ordering_key)
                        delivered[entry.ordering_key].append(entry.id)
                    assert st.complete(entry)
        except Exception as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(repr(exc))
        finally:
            st.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sum(len(v) for v in delivered.values()) == keys * per_key
    for ids in delivered.values():
        assert ids == sorted(ids)  # per-key order held


def test_entry_fields_round_trip(store: Store, clock: Any) -> None:
    with store.transaction() as tx:
        entry_id = tx.enqueue(
            "reply",
            {"case_id": 3, "message_id": 9, "acknowledges_solution": True},
            ordering_key="case:3",
            account_id="acme",
            case_id=3,
        )
        entry = tx.outbox_entry(entry_id)
        assert tx.outbox_entries(ordering_key="case:3") == [entry]
        assert tx.outbox_entries(status="done") == []
    assert isinstance(entry, OutboxEntry)
    assert entry.payload == {"case_id": 3, "message_id": 9, "acknowledges_solution": True}
    assert (entry.kind, entry.account_id, entry.case_id, entry.status, entry.attempts) == (
        "reply",
        "acme",
        3,
        "pending",
        0,
    )
    assert entry.created_at == clock.now == entry.next_attempt_at


@pytest.mark.parametrize("verb", ["complete", "fail", "dead_letter", "release"])
def test_verbs_refuse_an_entry_that_is_not_pending(store: Store, clock: Any, verb: str) -> None:
    _enqueue(store, "case:1", 1)
    [entry] = store.claim_outbox("w")
    assert store.complete(entry)
    args: dict[str, tuple[Any, ...]] = {
        "complete": (entry,),
        "fail": (entry, "x", clock.now),
        "dead_letter": (entry, "x"),
        "release": (entry,),
    }
    assert getattr(store, verb)(*args[verb]) is False
