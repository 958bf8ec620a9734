"""Recipient lists end to end: the console's list on every non-closed ticket's CCs, in bulk (docs/design.md §3)."""

from __future__ import annotations

import math

import pytest

from tests.consistency.conftest import World, delta

BULK = "PUT /api/v2/tickets/update_many"
JOBS = "GET /api/v2/job_statuses/{id}"
SINGLE_UPDATE = "PUT /api/v2/tickets/{id}"


def _open_tickets(world: World, n: int, user: str = "carol") -> list[tuple[int, int]]:
    cases = [world.api.submit("acme", user, f"Case {i}", "Body") for i in range(n)]
    world.deliver()
    return [(c.id, world.case("acme", c.id).ticket_id) for c in cases]


def test_add_and_remove_over_250_open_tickets_use_bulk_updates(world: World) -> None:
    tickets = _open_tickets(world, 250)
    closed_case, closed_ticket = world.submit("acme", "carol", "Old one")
    world.api.close("acme", closed_case, "carol")
    world.deliver()

    before = world.stats()
    world.api.add_recipient("acme", "ops@acme.test")
    world.deliver()
    spent = delta(before, world.stats())
    assert spent.get(BULK) == math.ceil(250 / 100)
    assert SINGLE_UPDATE not in spent
    assert spent.get(JOBS, 0) <= 3 * math.ceil(250 / 100)  # each job: queued → working → completed
    assert spent["total"] == spent[BULK] + spent.get(JOBS, 0)
    for case_id, ticket_id in (tickets[0], tickets[137], tickets[-1]):
        assert world.staff.cc_emails(ticket_id) == {"alice@acme.test", "ops@acme.test"}
        assert world.case("acme", case_id).cc == ["alice@acme.test", "ops@acme.test"]
    assert "ops@acme.test" not in world.staff.cc_emails(closed_ticket)  # Zendesk forbids touching closed ones

    before = world.stats()
    world.api.remove_recipient("acme", "ops@acme.test")
    world.deliver()
    spent = delta(before, world.stats())
    assert spent.get(BULK) == 3 and SINGLE_UPDATE not in spent
    assert world.staff.cc_emails(tickets[42][1]) == {"alice@acme.test"}
    assert world.case("acme", tickets[42][0]).cc == ["alice@acme.test"]


def test_promoting_and_demoting_an_admin_changes_the_ccs(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")  # Alice requests: she is not her own CC
    _own_case, own_ticket = world.submit("acme", "carol")
    assert world.staff.cc_emails(ticket_id) == set()

    world.api.upsert_user("acme", "carol", "carol@acme.test", "Carol Jones", admin=True)
    world.deliver()
    assert world.staff.cc_emails(ticket_id) == {"carol@acme.test"}
    assert world.staff.cc_emails(own_ticket) == {"alice@acme.test"}  # the requester is never CC'd

    world.api.upsert_user("acme", "carol", "carol@acme.test", "Carol Jones", admin=False)
    world.deliver()
    assert world.staff.cc_emails(ticket_id) == set()
    assert world.case("acme", case_id).cc == []


def test_an_admins_email_change_moves_the_identity_and_the_ccs(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    with world.store.read() as tx:
        zendesk_id = tx.get_user("acme", "alice").zendesk_user_id  # type: ignore[union-attr]
    assert zendesk_id is not None

    world.api.upsert_user("acme", "alice", "alice.new@acme.test", "Alice Admin", admin=True)
    world.deliver()

    identities = world.staff._ok(world.staff.http.get(f"{world.zd.url}/api/v2/users/{zendesk_id}/identities.json"))
    emails = {i["value"]: i["primary"] for i in identities["identities"] if i["type"] == "email"}
    assert emails == {"alice.new@acme.test": True}  # added, made primary, the old one removed
    assert world.staff.cc_emails(ticket_id) == {"alice.new@acme.test"}
    assert world.case("acme", case_id).cc == ["alice.new@acme.test"]
    assert world.outbox.run_once().dead_letters == 0


def test_staff_added_ccs_are_kept_and_shown(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.add_cc(ticket_id, "partner@vendor.test")
    world.sync()
    assert world.case("acme", case_id).cc == ["alice@acme.test", "partner@vendor.test"]

    world.api.add_recipient("acme", "ops@acme.test")
    world.deliver()
    assert world.staff.cc_emails(ticket_id) == {"alice@acme.test", "ops@acme.test", "partner@vendor.test"}
    assert world.case("acme", case_id).cc == ["alice@acme.test", "ops@acme.test", "partner@vendor.test"]

    world.api.remove_recipient("acme", "ops@acme.test")
    world.deliver()
    assert world.staff.cc_emails(ticket_id) == {"alice@acme.test", "partner@vendor.test"}


def test_a_ticket_that_would_pass_48_ccs_is_a_recorded_conflict(world: World) -> None:
    for i in range(40):
        world.api.add_recipient("acme", f"r{i}@acme.test")
    world.deliver()
    crowded_case, crowded = world.submit("acme", "carol", "Crowded")
    roomy_case, roomy = world.submit("acme", "carol", "Roomy")
    assert len(world.staff.cc_emails(crowded)) == 41
    world.staff.add_cc(crowded, *(f"guest{i}@vendor.test" for i in range(7)))  # 48: Zendesk's limit
    world.sync()

    world.api.add_recipient("acme", "one-too-many@acme.test")
    world.deliver()

    assert "one-too-many@acme.test" not in world.staff.cc_emails(crowded)
    assert len(world.staff.cc_emails(crowded)) == 48
    assert "one-too-many@acme.test" in world.staff.cc_emails(roomy)
    conflicts = [c for c in world.api.changes(account_id="acme") if c.kind.value == "conflict"]
    assert [c.case_id for c in conflicts] == [crowded_case]
    assert "48" in conflicts[0].detail
    assert roomy_case not in {c.case_id for c in conflicts}


def test_renaming_an_account_renames_its_organization(world: World) -> None:
    world.api.upsert_account("acme", "Acme Worldwide")
    world.deliver()
    with world.store.read() as tx:
        org_id = tx.get_account("acme").zendesk_org_id  # type: ignore[union-attr]
    org = world.staff._ok(world.staff.http.get(f"{world.zd.url}/api/v2/organizations/{org_id}.json"))
    assert org["organization"]["name"] == "Acme Worldwide"


@pytest.mark.parametrize("admin", [True, False])
def test_recipient_changes_never_touch_closed_tickets(world: World, admin: bool) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.api.close("acme", case_id, "carol")
    world.deliver()
    before = world.staff.ticket(ticket_id)["updated_at"]
    world.api.upsert_user("acme", "bob", "bob@acme.test", "Bob", admin=admin)
    world.api.add_recipient("acme", "late@acme.test")
    world.deliver()
    assert world.staff.ticket(ticket_id)["updated_at"] == before
    assert world.outbox.run_once().dead_letters == 0
