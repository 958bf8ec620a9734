"""The PostgreSQL store as several machines use it: SKIP LOCKED claims, leases that end with their worker,
schema upgrades through ``migrate()``, and webhook deliveries landing on any replica."""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, event, text

from sync.errors import ConfigurationError
from sync.inbound import webhook_sink
from sync.settings import Settings
from sync.store import Store, open_store
from sync.store import schema as s
from sync.store.migrations import revisions
from sync.testing.processes import wait_for
from sync.web import create_app, sign
from tests.store.next_revision import add_next_revision

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's TestClient prefers httpx2; httpx still works
    from starlette.testclient import TestClient


@pytest.fixture
def store(empty_pg: str) -> Iterator[Store]:
    opened = open_store(empty_pg)
    try:
        opened.migrate()
        yield opened
    finally:
        opened.close()


def _enqueue(store: Store, key: str, n: int = 1) -> list[int]:
    with store.transaction() as tx:
        return [tx.enqueue("reply", {"n": i}, ordering_key=key) for i in range(n)]


# -- claims ----------------------------------------------------------------------------------------------


def test_claims_skip_rows_another_claimer_has_locked_instead_of_waiting(store: Store, empty_pg: str) -> None:
    _enqueue(store, "case:1", 2)
    _enqueue(store, "case:2", 2)
    statements: list[str] = []

    def record(_conn: Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(store.engine, "before_cursor_execute", record)  # type: ignore[attr-defined]
    other = psycopg.connect(empty_pg)
    try:
        # Another machine's claim transaction, still open, holding case:1's head.
        other.execute("SELECT id FROM outbox WHERE ordering_key = 'case:1' ORDER BY id LIMIT 1 FOR UPDATE")
        got: list[Any] = []
        claimer = threading.Thread(target=lambda: got.append(store.claim_outbox("w1", limit=10, lease_s=30)))
        claimer.start()
        claimer.join(10)
        assert not claimer.is_alive(), "the claim waited for the locked row instead of skipping it"
        assert [e.ordering_key for e in got[0]] == ["case:2"]
    finally:
        other.rollback()
        other.close()
        event.remove(store.engine, "before_cursor_execute", record)  # type: ignore[attr-defined]
    assert any("FOR UPDATE OF outbox SKIP LOCKED" in sql for sql in statements)
    [head] = store.claim_outbox("w2", limit=10, lease_s=30)  # the lock is gone: case:1's head, not its tail
    assert head.ordering_key == "case:1" and head.payload == {"n": 0}


def test_a_live_workers_leases_are_renewed_and_end_when_it_dies(empty_pg: str) -> None:
    """Leases last as long as the process holding them; afterwards the entry is taken over as an attempt."""
    alive, other = open_store(empty_pg), open_store(empty_pg)
    try:
        alive.migrate()
        _enqueue(alive, "case:7", 2)
        [held] = alive.claim_outbox("w1", lease_s=0.6)
        # Watch for several lease lengths: the heartbeat keeps the lease in force the whole time.
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            assert other.claim_outbox("w2", lease_s=0.6) == []
            time.sleep(0.05)
        alive.close()  # its heartbeat stops, as if the process had died
        [taken] = wait_for(lambda: other.claim_outbox("w2", lease_s=30), 5, "the lease to expire")
        assert taken.id == held.id and taken.lease_owner == "w2"
        assert taken.attempts == held.attempts + 1  # the dead worker's delivery may have landed
        assert taken.last_error == "lease of w1 expired"
        assert not alive.complete(held)
        assert other.complete(taken)
        [second] = other.claim_outbox("w2", lease_s=30)
        assert second.payload == {"n": 1} and second.attempts == 0
    finally:
        alive.close()
        other.close()


def test_a_released_entry_is_not_counted_as_an_attempt(store: Store) -> None:
    _enqueue(store, "case:3")
    [held] = store.claim_outbox("w1", lease_s=30)
    assert store.release(held)
    [again] = store.claim_outbox("w2", lease_s=30)
    assert again.attempts == 0 and again.last_error is None


# -- schema ---------------------------------------------------------------------------------------------


def test_an_outdated_schema_is_reported_and_upgraded_by_migrate(
    empty_pg: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The next version of the code meets a database made by this one: outdated until ``migrate()``."""
    now = s.SCHEMA_VERSION
    first = open_store(empty_pg)
    try:
        assert first.migrate() == [now]  # an empty database: created at the newest version at once
    finally:
        first.close()
    # No IF NOT EXISTS: a second run of the revision would fail the migrate that ran it.
    nxt = add_next_revision(monkeypatch, tmp_path / "next", "CREATE TABLE upgrade_probe (id integer PRIMARY KEY)")
    stores = [open_store(empty_pg) for _ in range(3)]
    try:
        status = stores[1].schema_status()
        assert (status.state, status.current, status.expected) == ("outdated", now, nxt)
        assert "casesync migrate" in status.message
        with pytest.raises(ConfigurationError, match="casesync migrate"):
            stores[1].counts()  # PostgreSQL never upgrades behind the operators' back
        # Two machines running `casesync migrate` at once: one applies the revision, the other finds it done.
        results: list[list[int]] = []
        threads = [threading.Thread(target=lambda st=st: results.append(st.migrate())) for st in stores[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(results) == [[], [nxt]]
        assert stores[1].schema_status().state == "current"
        assert stores[2].counts().cases == 0
    finally:
        for st in stores:
            st.close()


def test_concurrent_first_uses_of_an_empty_database_create_the_schema_once(empty_pg: str) -> None:
    """Replicas starting together on an empty database take turns: one creates the schema, the rest find it."""
    stores = [open_store(empty_pg) for _ in range(4)]
    try:
        results: list[list[int]] = []
        errors: list[BaseException] = []

        def first_use(st: Store) -> None:
            try:
                results.append(st.migrate())
            except BaseException as exc:  # collected: the assertion below names it
                errors.append(exc)

        threads = [threading.Thread(target=first_use, args=(st,)) for st in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        assert sorted(results) == [[], [], [], [s.SCHEMA_VERSION]]
        with stores[0].engine.connect() as conn:  # type: ignore[attr-defined]
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [revisions()[-1]]
    finally:
        for st in stores:
            st.close()


# -- webhooks on any replica ---------------------------------------------------------------------------

_SECRET = "c2NhbGUtb3V0LXRlc3Qtc2VjcmV0"
_NOW = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)


def _delivery(ticket_id: int, event_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "id": event_id,
            "type": "zen:event-type:ticket.comment_added",
            "subject": f"zen:ticket:{ticket_id}",
            "time": "2025-06-02T09:29:58Z",
            "detail": {"id": str(ticket_id)},
            "event": {},
        }
    ).encode()
    timestamp = "2025-06-02T09:30:00Z"
    return body, {
        "Content-Type": "application/json",
        "X-Zendesk-Webhook-Signature": sign(_SECRET, timestamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


def test_webhook_deliveries_land_on_any_replica_in_the_shared_inbox(empty_pg: str) -> None:
    replicas = [open_store(empty_pg) for _ in range(3)]
    try:
        replicas[0].migrate()
        settings = Settings(webhook_secret=_SECRET, database_url=empty_pg)
        apps = [
            create_app(
                settings=settings,
                sink=webhook_sink(st, clock=lambda: _NOW),
                status_provider=dict,
                ready=lambda: (True, ""),
                clock=lambda: _NOW,
            )
            for st in replicas[:2]
        ]
        with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
            body, headers = _delivery(501, "evt-1")
            assert a.post("/webhooks/zendesk", content=body, headers=headers).status_code < 300
            # Zendesk retries the same event; the load balancer sends it to the other replica.
            assert b.post("/webhooks/zendesk", content=body, headers=headers).status_code < 300
            body2, headers2 = _delivery(502, "evt-2")
            assert b.post("/webhooks/zendesk", content=body2, headers=headers2).status_code < 300
        # A worker on a third machine sees both hints, the duplicate stored once.
        claimed = replicas[2].claim_inbox("w3", lease_s=30)
        assert sorted(e.ticket_id for e in claimed) == [501, 502]
        assert replicas[2].counts().inbox_pending == 2
    finally:
        for st in replicas:
            st.close()
