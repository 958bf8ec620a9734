"""Tenant isolation (docs/design.md §4.8) through every ``SupportCases`` call and every inbound path.

Another account's case reads exactly like a missing one; nothing one account does in Zendesk, and nothing
staff do to its tickets, ever shows another account's case, message, address or case number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mappings.models import Attachment, CaseStatus
from sync.api import SupportCases
from sync.errors import CaseNotFound, CaseSyncError, InvalidInput

from .conftest import World


def _error(call: Callable[[], Any]) -> CaseSyncError:
    with pytest.raises(CaseSyncError) as info:
        call()
    return info.value


def _same_refusal(theirs: CaseSyncError, missing: CaseSyncError, their_id: int, missing_id: int) -> None:
    assert type(theirs) is type(missing)
    assert str(theirs).replace(str(their_id), "N") == str(missing).replace(str(missing_id), "N")


def test_every_call_treats_another_accounts_case_as_missing(world: World) -> None:
    s: SupportCases = world.support
    file = Attachment(filename="secret.txt", content_type="text/plain", data=b"globex only")
    theirs = s.submit("globex", "user", "Globex secret", "classified", attachments=[file]).id
    mine = s.submit("acme", "user", "Acme case", "hello").id
    missing = 10_000
    attachment_id = s.get("globex", theirs).messages[0].attachments[0].id
    calls: dict[str, Callable[[int], Any]] = {
        "get": lambda n: s.get("acme", n),
        "reply": lambda n: s.reply("acme", n, "user", "hi"),
        "close": lambda n: s.close("acme", n, "user"),
        "attachment": lambda n: s.attachment("acme", n, attachment_id),
    }
    for name, call in calls.items():
        their_error, missing_error = _error(lambda c=call: c(theirs)), _error(lambda c=call: c(missing))  # type: ignore[misc]
        assert isinstance(their_error, CaseNotFound), name
        _same_refusal(their_error, missing_error, theirs, missing)
    # refers_to another account's case: refused exactly like an unknown case number.
    _same_refusal(_error(lambda: s.submit("acme", "user", "x", "y", refers_to=theirs)),
                  _error(lambda: s.submit("acme", "user", "x", "y", refers_to=missing)), theirs, missing)
    # An attachment id of another account through one's own case: not found either.
    assert isinstance(_error(lambda: s.attachment("acme", mine, attachment_id)), InvalidInput)
    assert [c.id for c in s.list("acme")] == [mine]
    assert all(c.account_id == "acme" for c in s.changes(account_id="acme"))
    assert s.get("globex", theirs).status is CaseStatus.NEW  # nothing above touched it
    assert "admin@globex.test" not in s.recipients("acme")


def test_a_ticket_moved_to_another_accounts_organization_does_not_move_its_case(world: World) -> None:
    case_id, ticket = world.submit("acme")
    world.submit("globex")
    orgs = world.staff.call("GET", "organizations")["organizations"]
    globex_org = next(o["id"] for o in orgs if o["external_id"] == "console-account:globex")
    # Zendesk takes only an organization of the requester (OAS TicketUpdateInput.organization_id): the
    # agent makes the requester a member of globex first, then moves the ticket.
    requester = world.staff.call("GET", f"tickets/{ticket}")["ticket"]["requester_id"]
    assert world.staff.call("POST", "organization_memberships", {"organization_membership": {
        "user_id": requester, "organization_id": globex_org}}) is not None
    assert world.staff.call("PUT", f"tickets/{ticket}", {"ticket": {
        "organization_id": globex_org, "comment": {"body": "moved", "public": True}}}) is not None
    world.sync()
    assert world.support.get("acme", case_id).account_id == "acme"
    assert "conflict" in [c.kind.value for c in world.support.changes(account_id="acme") if c.case_id == case_id]
    assert case_id not in [c.id for c in world.support.list("globex")]
    assert all(c.case_id != case_id for c in world.support.changes(account_id="globex"))
    assert isinstance(_error(lambda: world.support.get("globex", case_id)), CaseNotFound)


def test_staff_quoting_another_accounts_ticket_never_reveals_its_case_number(world: World) -> None:
    acme_case, acme_ticket = world.submit("acme")
    acme_other, acme_other_ticket = world.submit("acme")
    globex_case, globex_ticket = world.submit("globex")
    text = f"Compare tickets #{acme_other_ticket} and #{globex_ticket}, also ticket {globex_ticket}."
    world.staff.call("PUT", f"tickets/{acme_ticket}", {"ticket": {"comment": {"body": text, "public": True}}})
    world.sync()
    shown = world.support.get("acme", acme_case).messages[-1].body
    assert f"case #{acme_other}" in shown  # the same account's ticket reads as its case number
    assert f"#{globex_ticket}" in shown and f"ticket {globex_ticket}" in shown  # left exactly as written
    assert f"case #{globex_case}" not in shown


def test_a_follow_up_by_another_accounts_requester_does_not_cross_accounts(world: World) -> None:
    case_id, ticket = world.submit("acme")
    world.support.close("acme", case_id, "user")
    world.sync()
    globex_user = world.staff.call("GET", "users/search?query=user@globex.test")["users"][0]["id"]
    world.staff.call("POST", "tickets", {"ticket": {
        "via_followup_source_id": ticket, "requester_id": globex_user,
        "comment": {"body": "Please look at my globex problem", "public": True}}})
    world.sync()
    assert all(c.account_id == "globex" for c in world.support.list("globex"))
    acme_cases = world.support.list("acme")
    assert all(c.requester_id in ("user", "admin") for c in acme_cases)
    assert not any("globex problem" in m.body for c in acme_cases for m in c.messages)


def test_an_email_reply_from_another_accounts_user_is_not_shown(world: World) -> None:
    case_id, ticket = world.submit("acme")
    world.staff.email_reply(ticket, "user@globex.test", "I should not be here")  # not a requester nor a CC
    world.sync()
    assert not any("should not be here" in m.body for m in world.support.get("acme", case_id).messages)
