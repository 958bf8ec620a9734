"""Authorship: a reply by any user of the account is that user's comment in Zendesk, in both modes."""

from __future__ import annotations

import random

import pytest
import requests

from sync.api import SupportCases
from sync.outbound import OutboxWorker
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store

from .conftest import Clock, Drain, Staff, make_gateway, ticket_of_case
from .test_impersonation import _impersonation_token


@pytest.fixture
def carol(support: SupportCases, account: str) -> str:
    support.upsert_user(account, "carol", "carol@acme.test", "Carol Colleague")
    return "carol"


@pytest.mark.parametrize("mode", ["tickets api", "impersonation"])
def test_a_colleagues_reply_is_her_own_comment_and_she_is_cced(
    mode: str,
    zd: Sandbox,
    support: SupportCases,
    account: str,
    carol: str,
    store: Store,
    settings: Settings,
    clock: Clock,
    drain: Drain,
    staff: Staff,
    sleeps: list[float],
) -> None:
    worker = None
    if mode == "impersonation":
        gateway = make_gateway(zd, sleeps, oauth_token=_impersonation_token(zd))
        worker = OutboxWorker(
            store, gateway, settings, worker_id="imp", clock=clock, sleep=sleeps.append, rng=random.Random(1)
        )
    case = support.submit(account, "bob", "Printer", "It jams")
    drain(w=worker)
    ticket_id = ticket_of_case(store, case.id)

    after = support.reply(account, case.id, carol, "Tray 2 jams too")
    assert [(m.user_id, m.author_name) for m in after.messages] == [("bob", "Bob User"), ("carol", "Carol Colleague")]
    report = drain(w=worker)
    assert report.dead_letters == 0, report.errors

    ticket = staff.ticket(ticket_id)
    [reply] = [c for c in staff.comments(ticket_id) if c["body"] == "Tray 2 jams too"]
    author = staff.get(f"users/{reply['author_id']}")["user"]
    assert (author["email"], author["role"]) == ("carol@acme.test", "end-user")
    assert reply["public"] and reply["author_id"] != ticket["requester_id"]
    assert author["organization_id"] == ticket["organization_id"]  # found or created as for a requester
    # CC'd, so her comment is not flagged and she gets staff's answer by email.
    assert "carol@acme.test" in staff.cc_emails(ticket_id)
    staff.reply(ticket_id, "Cleaned the rollers")
    answered = [e for e in zd.emails() if e["ticket_id"] == ticket_id and "Cleaned the rollers" in str(e["body"])]
    assert answered and any("carol@acme.test" in e["to"] for e in answered)
    with store.read() as tx:
        assert tx.case_messages(case.id)[-1].zendesk_comment_id == reply["id"]


@pytest.mark.parametrize("mode", ["tickets api", "impersonation"])
def test_after_a_lost_response_a_colleagues_reply_is_found_not_posted_twice(
    mode: str,
    zd: Sandbox,
    support: SupportCases,
    account: str,
    carol: str,
    store: Store,
    settings: Settings,
    clock: Clock,
    drain: Drain,
    staff: Staff,
    sleeps: list[float],
) -> None:
    worker = None
    if mode == "impersonation":
        gateway = make_gateway(zd, sleeps, oauth_token=_impersonation_token(zd))
        worker = OutboxWorker(
            store, gateway, settings, worker_id="imp", clock=clock, sleep=sleeps.append, rng=random.Random(1)
        )
    case = support.submit(account, "bob", "Printer", "It jams")
    drain(w=worker)
    ticket_id = ticket_of_case(store, case.id)
    support.reply(account, case.id, carol, "Mine jams too")
    # The reply's own request loses its answer every time (the CC added first is a "put": re-sent harmlessly).
    resource = "requests" if mode == "impersonation" else "tickets"
    path = rf"^/api/v2/{resource}/{ticket_id}(\.json)?$"
    zd.configure_faults({"seed": 3, "rules": [{"path": path, "method": "PUT", "drop_after_commit": 1.0}]})
    report = drain(w=worker)
    zd.configure_faults({"seed": 0, "rules": []})
    assert report.dead_letters == 0, report.errors
    sent = requests.get(f"{zd.url}/__sandbox/stats", timeout=10).json()["requests"]
    assert sent.get("PUT /api/v2/tickets/{id}", 0) + sent.get("PUT /api/v2/requests/{id}", 0) >= 1
    posted = [c for c in staff.comments(ticket_id) if c["body"] == "Mine jams too"]
    assert len(posted) == 1, "found after the lost response, never posted twice"
    assert staff.get(f"users/{posted[0]['author_id']}")["user"]["email"] == "carol@acme.test"
    with store.read() as tx:
        assert tx.case_messages(case.id)[-1].zendesk_comment_id == posted[0]["id"]


def test_a_colleagues_reply_that_continues_a_closed_ticket_is_still_hers(
    support: SupportCases, account: str, carol: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Old issue", "hello")
    drain()
    staff.update(ticket_of_case(store, case.id), status="closed", assignee_id=staff.id)
    support.reply(account, case.id, carol, "one more thing")  # the console had not heard of the close yet
    assert drain().dead_letters == 0
    [continued] = [c for c in support.list(account) if c.refers_to == case.id]
    ticket_id = ticket_of_case(store, continued.id)
    ticket = staff.ticket(ticket_id)
    [first] = staff.comments(ticket_id)
    assert staff.get(f"users/{ticket['requester_id']}")["user"]["email"] == "bob@acme.test"
    assert staff.get(f"users/{first['author_id']}")["user"]["email"] == "carol@acme.test"
    assert "carol@acme.test" in staff.cc_emails(ticket_id)
    assert support.get(account, continued.id).messages[0].user_id == "carol"
