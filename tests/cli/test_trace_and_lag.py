"""``casesync trace``, ``casesync outbox list`` and the status's lag figure (in-process, store only)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mappings.models import ChangeKind
from sync.store import case_key, open_store

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def console_db(db_url: str) -> dict[str, Any]:
    """Case 1 (ticket 501): its submit delivered, a reply dead-lettered and a close held behind it."""
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    store = open_store(db_url, clock=lambda: an_hour_ago)
    try:
        with store.transaction() as tx:
            tx.upsert_account("acme", "Acme")
            tx.upsert_user("acme", "ann", "ann@acme.test", "Ann", True)
            case = tx.create_case(tx.next_case_number(), "acme", "ann", "Printer on fire")
            key = case_key(case.id)
            submit = tx.enqueue("submit", {"case_id": case.id}, ordering_key=key, account_id="acme", case_id=case.id)
            tx.link_ticket(case.id, 501)
            tx.append_change("acme", case.id, ChangeKind.STAFF_MESSAGE, "Sam: on our way")
        [claimed] = store.claim_outbox("test", an_hour_ago, limit=10)
        assert claimed.id == submit and store.complete(claimed)
        with store.transaction() as tx:
            reply = tx.enqueue("reply", {"message_id": 1}, ordering_key=key, account_id="acme", case_id=case.id)
            tx.enqueue("close", {"case_id": case.id}, ordering_key=key, account_id="acme", case_id=case.id)
            tx.add_inbox(501, "webhook", "webhook:e-1")
        [claimed] = store.claim_outbox("test", an_hour_ago, limit=10)
        assert claimed.id == reply
        assert store.dead_letter(claimed, "Zendesk refused the comment: 422 RecordInvalid")
    finally:
        store.close()
    return {"case_id": case.id, "reply": reply}


def test_trace_shows_where_a_case_stands(console_db: dict[str, Any], cli: Cli) -> None:
    case_id = console_db["case_id"]
    code, out, err = cli("trace", str(case_id), "--json")
    assert code == 0, err
    trace = json.loads(out)
    assert trace["case"]["id"] == case_id and trace["case"]["account_id"] == "acme"
    assert trace["ticket_id"] == 501
    states = {e["kind"]: (e["state"], e["why"]) for e in trace["outbox"]}
    assert states["submit"] == ("done", "delivered")
    assert states["reply"] == ("dead", "Zendesk refused the comment: 422 RecordInvalid")
    state, why = states["close"]
    assert state == "held" and f"dead letter outbox:{console_db['reply']}" in why and "replay or discard" in why
    assert [e["source"] for e in trace["inbox"]] == ["webhook"]
    assert trace["last_inbound"] is None
    assert [(e["kind"], e["detail"]) for e in trace["feed"]] == [  # oldest first
        ("staff_message", "Sam: on our way"),
        ("delivery_failed", "reply: Zendesk refused the comment: 422 RecordInvalid"),
    ]

    code, out, _ = cli("trace", f"#{case_id}")
    assert code == 0
    assert f"case #{case_id} of account acme" in out and "ticket: #501" in out
    close_line = next(line for line in out.splitlines() if " close " in line)
    assert "held" in close_line and f"outbox:{console_db['reply']}" in close_line


def test_trace_of_an_unknown_case_or_another_account(console_db: dict[str, Any], cli: Cli) -> None:
    code, out, err = cli("trace", str(console_db["case_id"]), "--account", "beta")
    assert (code, out) == (1, "") and "no case" in err and "beta" in err
    code, out, err = cli("trace", "999")
    assert (code, out) == (1, "") and "no case #999" in err


def test_outbox_list_shows_pending_and_held_entries_with_why(console_db: dict[str, Any], cli: Cli) -> None:
    code, out, err = cli("outbox", "list", "--json")
    assert code == 0, err
    entries = json.loads(out)
    assert [(e["kind"], e["state"], e["case_id"]) for e in entries] == [("close", "held", console_db["case_id"])]
    assert entries[0]["ordering_key"] == case_key(console_db["case_id"])

    code, out, _ = cli("outbox", "list")
    assert code == 0 and "1 outbox entries not delivered (1 held)" in out

    code, out, _ = cli("dead-letters", "discard", f"outbox:{console_db['reply']}", "--yes")
    assert code == 0
    [entry] = json.loads(cli("outbox", "list", "--json")[1])
    assert (entry["state"], entry["why"]) == ("due", "delivered by the next pass")


def test_outbox_entries_retrying_and_in_delivery(db_url: str, cli: Cli) -> None:
    store = open_store(db_url)
    try:
        with store.transaction() as tx:
            tx.upsert_account("acme", "Acme")
            first = tx.enqueue("upsert_account", {"account_id": "acme"}, ordering_key="account:acme",
                               account_id="acme")
            second = tx.enqueue("submit", {"case_id": 3}, ordering_key="case:3", account_id="acme", case_id=3)
        now = datetime.now(UTC)
        entries = {e.id: e for e in store.claim_outbox("w1", now, limit=10, lease_s=600)}
        assert store.fail(entries[first], "503 Service Unavailable", now + timedelta(minutes=5))
    finally:
        store.close()
    listed = {e["id"]: e for e in json.loads(cli("outbox", "list", "--json")[1])}
    assert listed[f"outbox:{first}"]["state"] == "retrying"
    assert "503 Service Unavailable" in listed[f"outbox:{first}"]["why"]
    assert listed[f"outbox:{second}"]["state"] == "delivering" and "w1" in listed[f"outbox:{second}"]["why"]


def test_cursor_lag_on_an_idle_system_is_the_time_since_the_last_poll(db_url: str, cli: Cli) -> None:
    from mappings.cursor import CursorPosition, encode_after_cursor

    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    store = open_store(db_url)  # the clock of a poll that has just run
    try:
        with store.transaction() as tx:
            # Nothing changed in Zendesk for an hour: the cursor stands where the last change was.
            cursor = encode_after_cursor(CursorPosition(timestamp=int(an_hour_ago.timestamp())))
            tx.set_cursor("zendesk.tickets", cursor)
            tx.set_cursor("zendesk.ticket_events", str(int(an_hour_ago.timestamp())))
    finally:
        store.close()
    status = json.loads(cli("status", "--json")[1])
    assert status["cursor_position_at"] is not None
    assert status["cursor_lag_s"] < 600, status  # not an hour: nothing is late
    assert status["oldest_unapplied_at"] is None


def test_cursor_lag_counts_a_change_not_applied_yet(db_url: str, cli: Cli) -> None:
    long_ago = datetime.now(UTC) - timedelta(minutes=20)
    store = open_store(db_url, clock=lambda: long_ago)
    try:
        with store.transaction() as tx:
            tx.add_inbox(77, "webhook", "webhook:e-77")
    finally:
        store.close()
    store = open_store(db_url)
    try:
        with store.transaction() as tx:
            tx.set_cursor("zendesk.ticket_events", str(int(datetime.now(UTC).timestamp())))
    finally:
        store.close()
    status = json.loads(cli("status", "--json")[1])
    assert 20 * 60 - 5 <= status["oldest_unapplied_age_s"] <= 20 * 60 + 600
    assert status["cursor_lag_s"] == status["oldest_unapplied_age_s"]
    assert status["last_successful_poll_age_s"] < status["cursor_lag_s"]


def test_cursor_lag_is_unknown_before_the_first_poll(db_url: str, cli: Cli) -> None:
    assert cli("migrate")[0] == 0
    assert json.loads(cli("status", "--json")[1])["cursor_lag_s"] is None
