"""Inbox, change feed, conflicts, cursors, engine state, named leases and counts on both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from mappings.models import ChangeKind
from sync.store import Store


def _setup_case(store: Store, account: str = "acme") -> int:
    with store.transaction() as tx:
        tx.upsert_account(account, account)
        tx.upsert_user(account, "u", f"u@{account}.test", "U", False)
        n = int(tx.next_case_number())
        tx.create_case(n, account, "u", "s")
        return n


def test_inbox_deduplicates_and_hands_out_one_hint_per_ticket(store: Store, clock: Any) -> None:
    with store.transaction() as tx:
        assert tx.add_inbox(10, "webhook", "wh:1", {"event": "comment"})
        assert not tx.add_inbox(10, "webhook", "wh:1")  # a duplicate delivery is absorbed
        assert tx.add_inbox(10, "webhook", "wh:2")
        assert tx.add_inbox(11, "poll", "poll:11:5")
    claimed = store.claim_inbox("w1")
    assert [(e.ticket_id, e.dedupe_key, len(e.covers)) for e in claimed] == [(10, "wh:1", 1), (11, "poll:11:5", 0)]
    assert claimed[0].covers[0] > claimed[0].id
    assert claimed[0].payload == {"event": "comment"}
    with store.transaction() as tx:
        tx.add_inbox(10, "webhook", "wh:3")  # arrives while ticket 10 is being worked on
    assert store.claim_inbox("w2") == []  # ticket 10 is held by w1
    with store.transaction() as tx:
        assert tx.complete_inbox(claimed[0])  # also completes wh:2, which the fetch covered
        assert tx.fail_inbox(claimed[1], "timeout", clock.now + timedelta(seconds=30))
    [later] = store.claim_inbox("w2")
    assert later.dedupe_key == "wh:3" and later.covers == ()
    clock.advance(31)
    with store.transaction() as tx:
        assert tx.dead_letter_inbox(later, "unknown status 'weird'")
    [retry] = store.claim_inbox("w2")
    assert (retry.ticket_id, retry.attempts, retry.last_error) == (11, 1, "timeout")
    with store.read() as tx:
        letters = tx.dead_letters()
        assert [(d.queue, d.ticket_id, d.reason) for d in letters] == [("inbox", 10, "unknown status 'weird'")]
        counts = tx.counts()
        assert (counts.inbox_pending, counts.inbox_dead) == (1, 1)
    with store.transaction() as tx:
        assert tx.replay_inbox(later.id)
    [replayed] = store.claim_inbox("w3")
    assert replayed.id == later.id
    with store.transaction() as tx:
        assert tx.dead_letter_inbox(replayed, "again")
        assert tx.discard_inbox(later.id) and not tx.discard_inbox(later.id)


def test_an_expired_inbox_lease_is_taken_over(store: Store, clock: Any) -> None:
    with store.transaction() as tx:
        tx.add_inbox(10, "webhook", "a")
    [held] = store.claim_inbox("w1", lease_s=5)
    clock.advance(6)
    [taken] = store.claim_inbox("w2")
    assert taken.id == held.id
    with store.transaction() as tx:
        assert not tx.complete_inbox(held)
        assert tx.complete_inbox(taken)


def test_feed_is_ordered_filtered_by_account_and_resumable(store: Store, clock: Any) -> None:
    a = _setup_case(store, "acme")
    b = _setup_case(store, "beta")
    with store.transaction() as tx:
        s1 = tx.append_change("acme", a, ChangeKind.STAFF_MESSAGE, "message 5")
        s2 = tx.append_change("beta", b, ChangeKind.STATUS, "Pending")
        s3 = tx.append_change("acme", a, ChangeKind.STATUS, "Solved", at=clock.now - timedelta(seconds=1))
    assert s1 < s2 < s3
    assert [c.seq for c in store.changes()] == [s1, s2, s3]
    assert [c.seq for c in store.changes(s1)] == [s2, s3]
    assert [c.kind for c in store.changes(account_id="acme")] == [ChangeKind.STAFF_MESSAGE, ChangeKind.STATUS]
    with store.read() as tx:
        assert [c.seq for c in tx.changes(0, limit=1)] == [s1]
    assert store.changes(s3) == []


def test_conflicts_are_recorded_resolved_and_reported_in_the_feed(store: Store) -> None:
    n = _setup_case(store)
    with store.transaction() as tx:
        c1 = tx.record_conflict("moved_account", "ticket 9 moved to another organization", case_id=n, ticket_id=9)
        c2 = tx.record_conflict("cc_limit", "49 CCs", account_id="acme")
    with store.read() as tx:
        assert [(c.id, c.account_id, c.case_id) for c in tx.conflicts()] == [(c1, "acme", n), (c2, "acme", None)]
        [change] = tx.changes(0)
        assert (change.kind, change.case_id, change.account_id) == (ChangeKind.CONFLICT, n, "acme")
        assert tx.counts().conflicts_open == 2
    with store.transaction() as tx:
        assert tx.resolve_conflict(c1) and not tx.resolve_conflict(c1)
        assert [c.id for c in tx.conflicts()] == [c2]
        assert len(tx.conflicts(open_only=False)) == 2


def test_cursors_and_engine_state(store: Store) -> None:
    with store.transaction() as tx:
        assert tx.get_cursor("tickets") is None
        tx.set_cursor("tickets", "MTcwMDAwMDAwMC4wfHwxMjN8")
        tx.set_cursor("tickets", "next")
        assert tx.kv_get("export_requests", []) == []
        tx.kv_set("export_requests", [1700000000.5, 1700000001.0])
        tx.kv_set("last_drift", {"status": 2, "cc": 0})
    with store.read() as tx:
        assert tx.get_cursor("tickets") == "next"
        assert tx.kv_get("export_requests") == [1700000000.5, 1700000001.0]
        assert tx.kv_get("last_drift") == {"status": 2, "cc": 0}


def test_named_leases_are_exclusive_until_they_expire(store: Store, clock: Any) -> None:
    with store.transaction() as tx:
        assert tx.acquire_lease("poller", "host-a", 30)
        assert not tx.acquire_lease("poller", "host-b", 30)
        assert tx.acquire_lease("poller", "host-a", 30)  # renewal
    clock.advance(31)
    with store.transaction() as tx:
        assert tx.acquire_lease("poller", "host-b", 30)  # host-a died: taken over
        tx.release_named_lease("poller", "host-a")  # not the holder: no effect
        assert not tx.acquire_lease("poller", "host-a", 30)
        tx.release_named_lease("poller", "host-b")
        assert tx.acquire_lease("poller", "host-a", 30)


def test_counts(store: Store, clock: Any) -> None:
    n = _setup_case(store)
    with store.transaction() as tx:
        tx.enqueue("submit", {"case_id": n}, ordering_key=f"case:{n}", account_id="acme", case_id=n)
        tx.enqueue("upsert_user", {}, ordering_key="account:acme", account_id="acme")
        tx.link_ticket(n, 77)
    counts = store.counts()
    assert (counts.outbox_pending, counts.outbox_dead, counts.outbox_done) == (2, 0, 0)
    assert (counts.cases, counts.linked_cases, counts.oldest_pending_at) == (1, 1, clock.now)
    assert counts.by_kind == {"submit": 1, "upsert_user": 1}
