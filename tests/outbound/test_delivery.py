"""Outbound sync against the sandbox over real HTTP: each console call becomes exactly one Zendesk change."""

from __future__ import annotations

import requests

from mappings.models import Attachment, CaseStatus, ChangeKind
from sync.api import SupportCases
from sync.sandbox import Sandbox
from sync.store import Store, TicketState, case_key

from .conftest import Drain, Staff, ticket_of_case


def _stats(zd: Sandbox) -> dict[str, int]:
    return dict(requests.get(f"{zd.url}/__sandbox/stats", timeout=10).json()["requests"])


def test_submit_creates_one_ticket_with_everything_staff_need(
    zd: Sandbox, support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "VPN drops", "It drops every hour.")
    report = drain()
    assert report.dead_letters == 0 and report.pending == 0

    ticket_id = ticket_of_case(store, case.id)
    ticket = staff.ticket(ticket_id)
    assert ticket["subject"] == "VPN drops"
    assert ticket["status"] == "new"
    assert ticket["external_id"] == f"console-case:{case.id}"
    assert {"console_case", f"console_case_{case.id}"} <= set(ticket["tags"])
    requester = staff.get(f"users/{ticket['requester_id']}")["user"]
    assert requester["email"] == "bob@acme.test" and requester["role"] == "end-user"
    org = staff.get(f"organizations/{ticket['organization_id']}")["organization"]
    assert org["external_id"] == "console-account:acme" and org["name"] == "Acme Corp"
    cc_emails = {staff.get(f"users/{uid}")["user"]["email"] for uid in ticket["email_cc_ids"]}
    assert cc_emails == {"ann@acme.test", "ops@acme.test"}  # the account's list; the requester is not CC'd
    comments = staff.comments(ticket_id)
    assert [(c["body"], c["public"], c["author_id"]) for c in comments] == [
        ("It drops every hour.", True, ticket["requester_id"])
    ]
    assert support.get(account, case.id).ticket_id == ticket_id


def test_reply_is_one_public_comment_and_reopens_pending(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Slow", "Slow dashboards")
    drain()
    ticket_id = ticket_of_case(store, case.id)
    staff.update(ticket_id, status="pending", assignee_id=staff.id, comment={"body": "Which browser?", "public": True})
    with store.transaction() as tx:  # what the inbound side would have applied
        tx.set_case_status(case.id, CaseStatus.PENDING)

    support.reply(account, case.id, "bob", "Firefox 130", acknowledges_solution=False)
    drain()
    ticket = staff.ticket(ticket_id)
    assert ticket["status"] == "open"
    bodies = [c["body"] for c in staff.comments(ticket_id)]
    assert bodies.count("Firefox 130") == 1


def test_reply_to_new_case_leaves_ticket_new_and_ack_adds_tag(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Q", "First")
    drain()
    support.reply(account, case.id, "bob", "More detail", acknowledges_solution=True)
    drain()
    ticket = staff.ticket(ticket_of_case(store, case.id))
    assert ticket["status"] == "new"
    assert "console_ack_solved" in ticket["tags"] and "console_case" in ticket["tags"]


def test_close_assigns_the_default_agent_when_unassigned(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff, zd: Sandbox
) -> None:
    case = support.submit(account, "bob", "Done", "never mind")
    drain()
    support.close(account, case.id, "bob")
    report = drain()
    assert report.dead_letters == 0
    ticket = staff.ticket(ticket_of_case(store, case.id))
    assert ticket["status"] == "closed"
    admin_id = staff.get("users/search", query=f"email:{zd.agent_email}")["users"][0]["id"]
    assert ticket["assignee_id"] == admin_id


def test_refers_to_creates_a_followup_of_the_closed_ticket(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    first = support.submit(account, "bob", "Printer", "on fire")
    support.close(account, first.id, "bob")
    second = support.submit(account, "bob", "Printer again", "still warm", refers_to=first.id)
    drain()
    source, followup = ticket_of_case(store, first.id), ticket_of_case(store, second.id)
    assert followup in staff.ticket(source)["followup_ids"]
    via = staff.ticket(followup)["via"]
    assert via["source"]["rel"] == "follow_up" and via["source"]["from"]["ticket_id"] == source


def test_continuing_a_case_whose_ticket_staff_deleted_gets_a_ticket_of_its_own(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    first = support.submit(account, "bob", "Printer", "on fire")
    drain()
    staff.delete(ticket_of_case(store, first.id))
    support.close(account, first.id, "bob")
    second = support.submit(account, "bob", "Printer again", "still warm", refers_to=first.id)
    report = drain()
    assert (report.dead_letters, report.pending) == (0, 0)
    ticket = staff.ticket(ticket_of_case(store, second.id))
    assert ticket["subject"] == "Printer again" and ticket["status"] != "deleted"
    assert ticket["via"].get("source", {}).get("rel") != "follow_up"  # there is nothing left to follow
    assert support.get(account, second.id).refers_to == first.id


def test_a_reply_to_a_ticket_staff_deleted_continues_as_a_new_case(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Printer", "on fire")
    drain()
    staff.delete(ticket_of_case(store, case.id))
    support.reply(account, case.id, "bob", "any news?")  # the console had not heard of the deletion yet
    report = drain()
    assert (report.dead_letters, report.pending) == (0, 0)
    old = support.get(account, case.id)
    assert (old.status, old.closed_by) == (CaseStatus.CLOSED, "system")
    assert [m.body for m in old.messages] == ["on fire"]
    closes = [c for c in support.changes() if c.case_id == case.id and c.kind is ChangeKind.CLOSED_BY_SYSTEM]
    assert [c.detail for c in closes] == ["Closed: deleted in Zendesk"]
    continuation = [c for c in support.list(account) if c.refers_to == case.id]
    assert [[m.body for m in c.messages] for c in continuation] == [["any news?"]]
    assert staff.ticket(ticket_of_case(store, continuation[0].id))["status"] != "deleted"


def test_attachments_are_uploaded_with_the_comment(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(
        account,
        "bob",
        "Logs",
        "see attached",
        attachments=[Attachment(filename="a.log", content_type="text/plain", data=b"x" * 10)],
    )
    drain()
    comment = staff.comments(ticket_of_case(store, case.id))[0]
    assert [(a["file_name"], a["size"]) for a in comment["attachments"]] == [("a.log", 10)]


def test_an_agents_email_is_dead_lettered_and_never_written_as_the_agent(
    support: SupportCases, store: Store, drain: Drain, staff: Staff, zd: Sandbox
) -> None:
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "mallory", staff.email, "Mallory")
    case = support.submit("acme", "mallory", "hi", "pretending")
    report = drain()
    assert report.dead_letters >= 1
    with store.read() as tx:
        letters = tx.dead_letters()
        assert tx.is_staff_email(staff.email)
    assert any("agent email" in d.reason for d in letters)
    assert all(t.get("subject") != "hi" for t in staff.tickets())
    assert support.get("acme", case.id).ticket_id is None
    kinds = [c.kind for c in support.changes(account_id="acme")]
    assert ChangeKind.DELIVERY_FAILED in kinds


def test_a_known_user_costs_no_request(
    zd: Sandbox, support: SupportCases, account: str, store: Store, drain: Drain
) -> None:
    support.submit(account, "bob", "one", "first")
    drain()
    before = sum(_stats(zd).values())
    case = support.submit(account, "bob", "two", "second")
    support.reply(account, case.id, "bob", "more")
    drain()
    after = _stats(zd)
    assert sum(after.values()) - before == 2  # one create, one update


def test_reply_after_zendesk_closed_the_ticket_continues_as_a_new_case(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Old issue", "hello")
    drain()
    ticket_id = ticket_of_case(store, case.id)
    staff.update(ticket_id, status="closed", assignee_id=staff.id)
    support.reply(account, case.id, "bob", "one more thing")  # the console had not heard of the close yet
    report = drain()
    assert report.dead_letters == 0

    old = support.get(account, case.id)
    # The ticket was last seen New: only a person closes that (Zendesk's auto-close takes solved tickets).
    assert old.status is CaseStatus.CLOSED and old.closed_by == "staff"
    closes = [c for c in support.changes() if c.case_id == case.id and c.kind is ChangeKind.STATUS]
    assert [c.detail for c in closes] == ["Closed: closed in Zendesk before a reply arrived"]
    assert [m.body for m in old.messages] == ["hello"]
    continuation = [c for c in support.list(account) if c.refers_to == case.id]
    assert len(continuation) == 1
    new = continuation[0]
    assert [m.body for m in new.messages] == ["one more thing"]
    assert new.ticket_id is not None and new.ticket_id in staff.ticket(ticket_id)["followup_ids"]
    assert any(c.kind is ChangeKind.LINKED_CASE and c.case_id == new.id for c in support.changes())


def test_a_reply_racing_the_auto_close_of_a_solved_ticket_finds_it_closed_by_the_system(
    zd: Sandbox, support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Old issue", "hello")
    drain()
    ticket_id = ticket_of_case(store, case.id)
    staff.update(ticket_id, status="solved", assignee_id=staff.id)
    with store.transaction() as tx:  # what the inbound side records when it applies the solve
        tx.set_case_status(case.id, CaseStatus.SOLVED)
        tx.put_ticket_state(TicketState(ticket_id=ticket_id, case_id=case.id, status="solved"))
    zd.advance_clock(97 * 3600)  # past Zendesk's auto-close of solved tickets
    assert staff.ticket(ticket_id)["status"] == "closed"
    support.reply(account, case.id, "bob", "it is back")
    report = drain()
    assert report.dead_letters == 0

    old = support.get(account, case.id)
    assert (old.status, old.closed_by) == (CaseStatus.CLOSED, "system")
    closes = [c for c in support.changes() if c.case_id == case.id and c.kind is ChangeKind.CLOSED_BY_SYSTEM]
    assert len(closes) == 1
    continuation = [c for c in support.list(account) if c.refers_to == case.id]
    assert [[m.body for m in c.messages] for c in continuation] == [["it is back"]]


def test_closing_a_case_whose_ticket_staff_deleted_is_done_not_dead_lettered(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Spam?", "hello")
    drain()
    staff.delete(ticket_of_case(store, case.id))
    support.close(account, case.id, "bob")
    report = drain()
    assert (report.dead_letters, report.pending) == (0, 0)
    with store.read() as tx:
        closes = [e for e in tx.outbox_entries(ordering_key=case_key(case.id)) if e.kind == "close"]
    assert [e.status for e in closes] == ["done"]
