"""Closing costs one request when the assignee is known, never overwrites staff's assignment, and a
ticket created while the recipient list changed still ends with the new list's CCs."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest
import requests

from mappings.models import CaseStatus
from mappings.zendesk import TicketDraft, ZComment, ZTicket
from sync.api import SupportCases
from sync.gateway import ZendeskGateway
from sync.gateway.convert import ticket_from
from sync.outbound import OutboxWorker
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store
from sync.ticket_facts import remember_ticket

from .conftest import Clock, Drain, Staff, ticket_of_case


def _requests(zd: Sandbox) -> int:
    return int(requests.get(f"{zd.url}/__sandbox/stats", timeout=10).json()["total"])


def test_closing_an_unassigned_ticket_is_one_request(
    zd: Sandbox, support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    first = support.submit(account, "bob", "Never mind", "solved it myself")
    case = support.submit(account, "bob", "Also this", "never mind either")
    drain()
    support.close(account, first.id, "bob")
    drain()  # the default agent's id is looked up once, then remembered
    before = _requests(zd)
    support.close(account, case.id, "bob")
    drain()
    assert _requests(zd) - before == 1
    ticket = staff.ticket(ticket_of_case(store, case.id))
    assert ticket["status"] == "closed" and ticket["assignee_id"] is not None


def test_closing_an_assigned_ticket_is_one_request_and_keeps_the_assignee(
    zd: Sandbox, support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Question", "how do I?")
    drain()
    ticket_id = ticket_of_case(store, case.id)
    updated = staff.update(ticket_id, assignee_id=staff.id, comment={"body": "Like this.", "public": True})
    with store.transaction() as tx:  # what the inbound side records when it applies the snapshot
        remember_ticket(tx, ticket_from(updated["ticket"]))
    before = _requests(zd)
    support.close(account, case.id, "bob")
    drain()
    assert _requests(zd) - before == 1
    ticket = staff.ticket(ticket_id)
    assert (ticket["status"], ticket["assignee_id"]) == ("closed", staff.id)


def test_an_assignment_casesync_has_not_seen_yet_is_never_overwritten(
    zd: Sandbox, support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff
) -> None:
    case = support.submit(account, "bob", "Question", "how do I?")
    drain()
    ticket_id = ticket_of_case(store, case.id)
    zd.advance_clock(2)  # a later second: Zendesk's updated_at has one-second resolution
    staff.update(ticket_id, assignee_id=staff.id)  # casesync still believes it is unassigned
    support.close(account, case.id, "bob")
    report = drain()
    assert report.dead_letters == 0, report.errors
    ticket = staff.ticket(ticket_id)
    assert (ticket["status"], ticket["assignee_id"]) == ("closed", staff.id)


class _ListChangesDuringCreate:
    """A gateway whose ticket creation is overtaken by a recipient change (another worker's delivery)."""

    def __init__(self, inner: ZendeskGateway, change: Any) -> None:
        self._inner = inner
        self._change = change

    def create_ticket(self, draft: TicketDraft, idempotency_key: str) -> tuple[ZTicket, ZComment | None]:
        created = self._inner.create_ticket(draft, idempotency_key)
        self._change()
        return created

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_ticket_created_while_the_list_changed_gets_the_new_list(
    support: SupportCases,
    account: str,
    store: Store,
    settings: Settings,
    gateway: ZendeskGateway,
    clock: Clock,
    drain: Drain,
    staff: Staff,
    sleeps: list[float],
) -> None:
    def change() -> None:
        support.add_recipient(account, "late@acme.test")
        support.remove_recipient(account, "ops@acme.test")

    racing = _ListChangesDuringCreate(gateway, change)
    worker = OutboxWorker(
        store,
        racing,  # type: ignore[arg-type]
        settings,
        worker_id="racer",
        clock=clock,
        sleep=sleeps.append,
        rng=random.Random(3),
    )
    case = support.submit(account, "bob", "Race", "while the list changes")
    # Only the submit: the recipient change is delivered afterwards, as by a second worker that had
    # already read the account's (still unlinked) tickets.
    with store.read() as tx:
        pending = tx.outbox_entries(status="pending")
    drain(w=worker)
    ticket = staff.ticket(ticket_of_case(store, case.id))
    emails = {staff.get(f"users/{u}")["user"]["email"] for u in ticket["email_cc_ids"]}
    assert emails == {"ann@acme.test", "late@acme.test"}, emails
    assert support.get(account, case.id).status is CaseStatus.NEW
    assert pending, "the submit was queued"


def test_a_ticket_adopted_after_a_lost_response_gets_the_list_as_it_is_now(
    zd: Sandbox, support: SupportCases, account: str, store: Store, worker: OutboxWorker, drain: Drain, staff: Staff
) -> None:
    drain()  # the account and its users
    rules = [
        {"path": r"^/api/v2/tickets(\.json)?$", "method": "POST", "drop_after_commit": 1.0},
        {"path": r"^/api/v2/tickets(\.json)?$", "method": "GET", "error_500": 1.0},
    ]
    zd.configure_faults({"seed": 1, "rules": rules})
    case = support.submit(account, "bob", "Lost answer", "the ticket exists, the response never came")
    # Created in Zendesk from the current list; the answer is lost and the look-up fails too, so the
    # entry waits for its next attempt with the ticket unlinked (as when a worker dies right after creating).
    worker.run_once()
    with store.read() as tx:
        assert tx.ticket_of(case.id) is None
    zd.configure_faults({"seed": 1, "rules": []})
    support.add_recipient(account, "late@acme.test")
    worker.run_once()  # the list change is delivered while the case's ticket is still unlinked
    report = drain()
    assert report.dead_letters == 0, report.errors
    ticket_id = ticket_of_case(store, case.id)
    ticket = staff.ticket(ticket_id)
    emails = {staff.get(f"users/{u}")["user"]["email"] for u in ticket["email_cc_ids"]}
    assert emails == {"ann@acme.test", "ops@acme.test", "late@acme.test"}, emails
    assert len([t for t in staff.tickets() if t.get("external_id") == f"console-case:{case.id}"]) == 1



def _remove_ops(support: SupportCases, account: str) -> None:
    support.remove_recipient(account, "ops@acme.test")


def _demote_ann(support: SupportCases, account: str) -> None:
    support.upsert_user(account, "ann", "ann@acme.test", "Ann Admin", admin=False)


class _ListChangesBeforeLookUp:
    """A gateway whose look-up of a lost creation is overtaken by a recipient change that another worker
    delivers at once (its bulk update cannot see the still unlinked ticket)."""

    def __init__(self, inner: ZendeskGateway, change: Callable[[], None]) -> None:
        self._inner = inner
        self._change: Callable[[], None] | None = change

    def find_tickets_by_external_id(self, external_id: str) -> list[ZTicket]:
        if self._change is not None:
            change, self._change = self._change, None
            change()
        return self._inner.find_tickets_by_external_id(external_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.mark.parametrize(
    ("change", "left"),
    [
        (_remove_ops, {"ann@acme.test"}),  # a registered address removed
        (_demote_ann, {"ops@acme.test"}),  # an admin demoted: the address leaves the list
    ],
    ids=["removed_recipient", "demoted_admin"],
)
@pytest.mark.parametrize("adopted", ["next_attempt", "same_attempt"])
def test_an_address_dropped_while_a_lost_creation_was_unlinked_leaves_the_adopted_ticket(
    zd: Sandbox, support: SupportCases, account: str, store: Store, settings: Settings, gateway: ZendeskGateway,
    worker: OutboxWorker, clock: Clock, sleeps: list[float], drain: Drain, staff: Staff,
    change: Callable[[SupportCases, str], None], left: set[str], adopted: str,
) -> None:
    """The lost attempt put the list of its time on the ticket, so an address the console dropped since is
    casesync's own, not one staff added by hand: it leaves the ticket (docs/design.md §4 invariant 6), though
    the bulk update of that change ran while the ticket was unlinked."""
    drain()  # the account and its users

    def change_and_deliver() -> None:
        change(support, account)
        worker.run_once()  # the other worker: the submit is leased by the racer, the change is not

    rules: list[dict[str, Any]] = [{"path": r"^/api/v2/tickets(\.json)?$", "method": "POST", "drop_after_commit": 1.0}]
    if adopted == "next_attempt":  # the look-up fails too: the entry waits with its ticket unlinked
        rules.append({"path": r"^/api/v2/tickets(\.json)?$", "method": "GET", "error_500": 1.0})
        racer = worker
    else:  # the look-up right after the lost answer finds the ticket, once the list has changed
        wrapped = _ListChangesBeforeLookUp(gateway, change_and_deliver)
        racer = OutboxWorker(store, wrapped, settings, worker_id="racer", clock=clock,  # type: ignore[arg-type]
                             sleep=sleeps.append, rng=random.Random(3))
    zd.configure_faults({"seed": 1, "rules": rules})
    case = support.submit(account, "bob", "Lost answer", "the ticket exists, the response never came")
    racer.run_once()
    zd.configure_faults({"seed": 1, "rules": []})
    if adopted == "next_attempt":
        with store.read() as tx:
            assert tx.ticket_of(case.id) is None
        change_and_deliver()
    report = drain()
    assert report.dead_letters == 0, report.errors
    ticket = staff.ticket(ticket_of_case(store, case.id))
    emails = {staff.get(f"users/{u}")["user"]["email"] for u in ticket["email_cc_ids"]}
    assert emails == left, emails
    assert set(support.get(account, case.id).cc) == left
