"""Impersonation mode: with an OAuth token holding ``impersonate``, replies are the users' own updates."""

from __future__ import annotations

import random

import requests

from sync.api import SupportCases
from sync.outbound import OutboxWorker
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store

from .conftest import Clock, Drain, Staff, make_gateway


def _impersonation_token(zd: Sandbox) -> str:
    admin = requests.Session()
    admin.auth = (f"{zd.agent_email}/token", zd.agent_token)
    client = admin.post(
        f"{zd.url}/api/v2/oauth/clients", json={"client": {"name": "casesync", "identifier": "casesync"}}, timeout=10
    ).json()["client"]
    token = admin.post(
        f"{zd.url}/api/v2/oauth/tokens",
        json={"token": {"client_id": client["id"], "scopes": ["impersonate", "read", "write"]}},
        timeout=10,
    ).json()["token"]
    return str(token["full_token"])


def test_replies_go_through_the_requests_api_as_the_user(
    zd: Sandbox,
    support: SupportCases,
    account: str,
    store: Store,
    settings: Settings,
    clock: Clock,
    drain: Drain,
    staff: Staff,
    sleeps: list[float],
) -> None:
    gateway = make_gateway(zd, sleeps, oauth_token=_impersonation_token(zd))
    assert gateway.can_impersonate
    worker = OutboxWorker(
        store, gateway, settings, worker_id="imp", clock=clock, sleep=sleeps.append, rng=random.Random(1)
    )

    case = support.submit(account, "bob", "Printer", "It jams")
    drain(w=worker)
    with store.read() as tx:
        ticket_id = tx.ticket_of(case.id)
    assert ticket_id is not None
    staff.update(ticket_id, assignee_id=staff.id, status="pending", comment={"body": "Which tray?", "public": True})

    support.reply(account, case.id, "bob", "Tray 2", acknowledges_solution=True)
    report = drain(w=worker)
    assert report.dead_letters == 0, report.errors

    ticket = staff.ticket(ticket_id)
    assert ticket["status"] == "open"  # Zendesk reopened it for the user's own update
    assert "console_ack_solved" in ticket["tags"]
    reply = [c for c in staff.comments(ticket_id) if c["body"] == "Tray 2"]
    assert len(reply) == 1 and reply[0]["author_id"] == ticket["requester_id"] and reply[0]["public"]
    with store.read() as tx:
        message = tx.case_messages(case.id)[-1]
    assert message.zendesk_comment_id == reply[0]["id"]  # recorded, so it is never imported back

    emails = [e for e in zd.emails() if e["ticket_id"] == ticket_id and "Tray 2" in str(e["body"])]
    assert emails, "the recipients are told of the user's reply"
    assert all("bob@acme.test" not in e["to"] for e in emails), "the user is not emailed their own words"
    assert any("ops@acme.test" in e["to"] for e in emails)
