"""A ticket's organization must be one of its requester's (OAS ``TicketCreateInput.organization_id``): casesync
creates a case's ticket for a requester that is a member of the account's organization, even when staff
removed that membership in Zendesk after casesync had linked the user."""

from __future__ import annotations

from sync.api import SupportCases
from sync.store import Store

from .conftest import Drain, Staff, ticket_of_case


def test_a_requester_removed_from_the_accounts_organization_is_added_again(
    support: SupportCases, account: str, store: Store, drain: Drain, staff: Staff,
) -> None:
    first = support.submit(account, "bob", "Printer", "It jams")
    drain()
    ticket = staff.ticket(ticket_of_case(store, first.id))
    requester, org = ticket["requester_id"], ticket["organization_id"]
    [membership] = [m for m in staff.get(f"users/{requester}/organization_memberships")["organization_memberships"]
                    if m["organization_id"] == org]
    assert staff.http.delete(f"{staff.url}/api/v2/organization_memberships/{membership['id']}.json",
                             timeout=10).status_code < 300
    second = support.submit(account, "bob", "Scanner", "It is slow")
    report = drain()
    assert report.dead_letters == 0, report.errors
    created = staff.ticket(ticket_of_case(store, second.id))
    assert (created["requester_id"], created["organization_id"]) == (requester, org)
