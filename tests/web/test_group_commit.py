"""Concurrent deliveries share one commit, and none is answered before its hint is committed.

The inbox sink writes the hints of simultaneous deliveries in one transaction; each delivery is answered
202 only once that transaction has committed, duplicates are absorbed as before, and a failed commit
answers 503 to every delivery of the group with none of its hints stored.  Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from sync.hints import WebhookHint
from sync.inbound import hint_dedupe_key, webhook_sink
from sync.inbound.inbox import HintNotStored
from sync.store import StoreTx
from tests.web.conftest import NOW, URL, AppFactory, event_payload, signed


class CountingStore:
    """The real store, counting write transactions; one can be held open, and commits can be made to fail."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.transactions = 0
        self.hold_first = threading.Event()  # set: the first transaction waits for `release`
        self.release = threading.Event()
        self.in_first = threading.Event()
        self.fail = False

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        self.transactions += 1
        first = self.transactions == 1
        with self.inner.transaction() as tx:
            yield tx
            if first and self.hold_first.is_set():
                self.in_first.set()
                self.release.wait(30)
            if self.fail:  # raised inside the transaction: it rolls back, as a failed COMMIT would leave it
                raise RuntimeError("disk I/O error")


def _stored(store: Any) -> list[str]:
    with store.engine.connect() as conn:
        from sqlalchemy import select

        from sync.store import schema

        return [str(k) for (k,) in conn.execute(select(schema.inbox.c.dedupe_key))]


def _wait_until(condition: Any) -> None:
    event = threading.Event()
    while not condition():
        event.wait(0.005)


@pytest.fixture
def inbox(store: Any) -> CountingStore:
    store.migrate()
    return CountingStore(store)


def _post(client: TestClient, ticket: int, event_id: str) -> Any:
    body = event_payload(ticket_id=ticket, event_id=event_id)
    return client.post(URL, content=body, headers=signed(body))


def test_many_simultaneous_deliveries_are_each_stored_once_and_answered_after_the_commit(
    build: AppFactory, inbox: CountingStore
) -> None:
    sink = webhook_sink(inbox, clock=lambda: NOW)  # type: ignore[arg-type]
    committed_when_answered: list[bool] = []

    def deliver(client: TestClient, k: int) -> tuple[int, str]:
        response = _post(client, 100 + k % 20, f"evt-{k % 20:03d}")  # 40 deliveries of 20 events
        # The answer came: the hint must already be readable from another connection.
        committed_when_answered.append(f"webhook:evt-{k % 20:03d}" in _stored(inbox.inner))
        return int(response.status_code), str(response.json()["status"])

    with TestClient(build(sink=sink), raise_server_exceptions=False) as client, ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda k: deliver(client, k), range(40)))

    assert {status for status, _ in answers} == {202}
    outcomes = [outcome for _, outcome in answers]
    assert outcomes.count("accepted") == 20 and outcomes.count("duplicate") == 20
    assert sorted(_stored(inbox.inner)) == sorted(f"webhook:evt-{k:03d}" for k in range(20))
    assert all(committed_when_answered)


def test_hints_arriving_while_a_commit_runs_are_written_together_in_the_next_transaction(
    inbox: CountingStore,
) -> None:
    sink = webhook_sink(inbox, clock=lambda: NOW)  # type: ignore[arg-type]
    inbox.hold_first.set()
    hints = [WebhookHint(ticket_id=7, event_id=f"e-{k % 6}") for k in range(12)]  # each event twice
    with ThreadPoolExecutor(len(hints) + 1) as pool:
        first = pool.submit(sink, WebhookHint(ticket_id=7, event_id="e-first"))
        inbox.in_first.wait(30)
        rest = [pool.submit(sink, hint) for hint in hints]
        _wait_until(lambda: len(sink._pending) == len(hints))  # type: ignore[attr-defined]
        assert not any(f.done() for f in rest)  # nobody is answered before the commit of its hint
        inbox.release.set()
        fresh = [f.result(30) for f in rest]

    assert first.result(30) is True
    assert inbox.transactions == 2  # the held one, then one for the twelve that waited
    assert fresh.count(True) == 6 and fresh.count(False) == 6  # the duplicate in the same group is absorbed
    assert sorted(_stored(inbox.inner)) == sorted(["webhook:e-first", *{f"webhook:e-{k}" for k in range(6)}])


def test_a_failed_commit_answers_503_to_every_delivery_of_the_group_and_stores_none(
    build: AppFactory, inbox: CountingStore
) -> None:
    sink = webhook_sink(inbox, clock=lambda: NOW)  # type: ignore[arg-type]
    inbox.fail = True
    with TestClient(build(sink=sink), raise_server_exceptions=False) as client, ThreadPoolExecutor(16) as pool:
        failed = list(pool.map(lambda k: _post(client, 200 + k, f"evt-fail-{k}"), range(16)))
        assert {r.status_code for r in failed} == {503}
        assert all(r.headers["Retry-After"] for r in failed)  # Zendesk delivers them again
        assert _stored(inbox.inner) == []

        inbox.fail = False  # the database is back: the redeliveries are stored, once each
        again = list(pool.map(lambda k: _post(client, 200 + k, f"evt-fail-{k}"), range(16)))
    assert [r.json()["status"] for r in again] == ["accepted"] * 16
    assert sorted(_stored(inbox.inner)) == sorted(f"webhook:evt-fail-{k}" for k in range(16))


def test_a_failed_group_raises_for_each_hint_and_the_next_call_writes_again(inbox: CountingStore) -> None:
    sink = webhook_sink(inbox, clock=lambda: NOW)  # type: ignore[arg-type]
    hint = WebhookHint(ticket_id=3, event_id="e-1")
    inbox.fail = True
    with pytest.raises(HintNotStored):
        sink(hint)
    inbox.fail = False
    assert sink(hint) is True
    assert sink(hint) is False
    assert _stored(inbox.inner) == [hint_dedupe_key(hint, NOW)]
