"""Idempotency-Key over HTTP, browsing with filters, search and cursors, and the long-polled change feed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from mappings.models import ChangeKind
from sync.api import SupportCases
from sync.store import open_store

from .conftest import TOKEN, Served, serve, snapshot
from .test_routes import A, submit


@pytest.mark.parametrize(("path", "body"), [
    ("/cases", {"user_id": "bob", "subject": "Retry me", "body": "Once only"}),
    ("/cases/{case}/replies", {"user_id": "bob", "body": "Once only"}),
    ("/cases/{case}/close", {"user_id": "bob"}),
])
def test_the_same_idempotency_key_replays_the_first_answer_and_writes_nothing(acme_on_each: Served, path: str,
                                                                              body: dict[str, str]) -> None:
    acme = acme_on_each
    case = submit(acme)
    url = A + path.format(case=case["id"])
    first = acme.http.post(url, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code in (200, 201)
    before = snapshot(acme.support)
    again = acme.http.post(url, json=body, headers={"Idempotency-Key": "k-1"})
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert snapshot(acme.support) == before

    other = acme.http.post(url, json={**body, "user_id": "alice"}, headers={"Idempotency-Key": "k-1"})
    assert (other.status_code, other.json()["error"]) == (400, "InvalidInput")
    assert snapshot(acme.support) == before


def test_without_a_key_a_retry_is_a_second_case(acme: Served) -> None:
    submit(acme)
    submit(acme)
    assert len(acme.http.get(f"{A}/cases").json()["cases"]) == 2


def test_browse_filters_searches_and_pages(acme_on_each: Served) -> None:
    acme = acme_on_each
    first = submit(acme, subject="Printer on fire", body="Smoke everywhere")
    submit(acme, user="alice", subject="Invoice missing", body="March invoice")
    third = submit(acme, subject="Login loop", body="The printer page loops")
    acme.http.post(f"{A}/cases/{third['id']}/close", json={"user_id": "bob"})

    def ids(**params: str | int) -> list[int]:
        response = acme.http.get(f"{A}/cases", params=params)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["cases"]]

    assert ids(query="printer", order="created_at") == [first["id"], third["id"]]
    assert ids(status="Closed") == [third["id"]]
    assert ids(requester_id="alice") == [first["id"] + 1]
    assert ids(order="-created_at") == [third["id"], first["id"] + 1, first["id"]]

    seen: list[int] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, "order": "created_at", **({"cursor": cursor} if cursor else {})}
        page = acme.http.get(f"{A}/cases", params=params).json()
        seen += [c["id"] for c in page["cases"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [first["id"], first["id"] + 1, third["id"]]
    bad = acme.http.get(f"{A}/cases", params={"cursor": "not-a-cursor"})
    assert (bad.status_code, bad.json()["error"]) == (400, "InvalidInput")


def test_a_long_poll_returns_once_a_change_is_there(acme: Served) -> None:
    case = submit(acme)
    assert acme.support.changes(0) == []
    results: list[Any] = []

    def poll() -> None:
        results.append(acme.http.get("/api/v1/changes", params={"account_id": "acme", "wait": 5}).json())

    poller = threading.Thread(target=poll)
    poller.start()
    with acme.support.store.transaction() as tx:  # what the inbound sync appends for a staff change
        seq = tx.append_change("acme", case["id"], ChangeKind.STATUS, "Open")
    poller.join(timeout=15)
    # A poll that began before the append was woken by it; one that began after found it at once.
    assert results and [(c["seq"], c["case_id"]) for c in results[0]["changes"]] == [(seq, case["id"])]


def test_a_long_poll_is_bounded(acme: Served) -> None:
    response = acme.http.get("/api/v1/changes", params={"wait": 3600})
    assert (response.status_code, response.json()["error"]) == (400, "InvalidInput")


@pytest.mark.timeout(60)
def test_a_stopping_server_ends_its_long_polls(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'casesync.db'}")
    stopping = threading.Event()
    answers: list[Any] = []
    try:
        with serve(SupportCases(store=store), stopping=stopping, max_wait_s=30.0) as url:
            def poll() -> None:
                answers.append(httpx.get(f"{url}/api/v1/changes", params={"wait": 30},
                                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=40).json())

            poller = threading.Thread(target=poll)
            poller.start()
            stopping.set()
            poller.join(timeout=15)  # far less than the 30 s the poll asked for
            assert not poller.is_alive() and answers == [{"changes": []}]
    finally:
        store.close()
