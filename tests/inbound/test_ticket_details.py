"""What staff set on a ticket besides its status reaches the case: custom-status labels, priority, the
operator's mapped fields; a console address staff remove from the CCs comes back by itself."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mappings.models import CaseStatus
from sync.engine import SyncEngine
from sync.errors import InvalidInput
from sync.sandbox import Sandbox

from .conftest import World


def _stat(zd: Sandbox, key: str) -> int:
    return int(requests.get(f"{zd.url}/__sandbox/stats", timeout=10).json()["requests"].get(key, 0))


def _custom_status(world: World, category: str, agent_label: str, end_user_label: str) -> int:
    """An admin adds a custom status, as in Admin Center."""
    body = {"custom_status": {"status_category": category, "agent_label": agent_label,
                              "end_user_label": end_user_label}}
    response = requests.post(f"{world.zd.url}/api/v2/custom_statuses.json", json=body, timeout=10,
                             auth=(f"{world.zd.agent_email}/token", world.zd.agent_token))
    assert response.status_code == 201, response.text
    return int(response.json()["custom_status"]["id"])


def test_the_end_user_label_of_the_custom_status_is_shown_and_status_stays_the_category(world: World) -> None:
    engineering = _custom_status(world, "open", "Waiting on engineering", "Being worked on")
    case_id, ticket_id = world.submit("acme", "alice")
    world.sync()
    assert world.case("acme", case_id).status_label == "New"  # the category's default custom status

    world.staff.update(ticket_id, custom_status_id=engineering)
    world.sync()
    case = world.case("acme", case_id)
    assert (case.status, case.status_label) == (CaseStatus.OPEN, "Being worked on")

    world.staff.status(ticket_id, "pending")  # the status alone: Zendesk gives the category's default
    world.sync()
    case = world.case("acme", case_id)
    assert (case.status, case.status_label) == (CaseStatus.PENDING, "Pending")


def test_custom_statuses_are_read_once_and_again_only_for_an_unknown_id(world: World) -> None:
    cases = [world.submit("acme", "alice", subject=f"case {i}") for i in range(3)]
    for _, ticket_id in cases:
        world.staff.status(ticket_id, "open")
    world.sync()
    reads = _stat(world.zd, "GET /api/v2/custom_statuses")
    assert reads == 1
    for _, ticket_id in cases:
        world.staff.status(ticket_id, "pending")
    world.sync()
    assert _stat(world.zd, "GET /api/v2/custom_statuses") == 1  # known ids: the cached list
    later = _custom_status(world, "pending", "Waiting on vendor", "Waiting on a third party")
    world.staff.update(cases[0][1], custom_status_id=later)
    world.sync()
    assert _stat(world.zd, "GET /api/v2/custom_statuses") == 2
    assert world.case("acme", cases[0][0]).status_label == "Waiting on a third party"


def test_priority_goes_to_the_ticket_and_staffs_change_comes_back(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice", priority="high")
    assert world.staff.ticket(ticket_id)["priority"] == "high"
    world.sync()
    assert world.case("acme", case_id).priority == "high"
    assert "priority" not in world.kinds("acme")  # its own value is no change

    world.staff.update(ticket_id, priority="urgent")
    world.sync()
    assert world.case("acme", case_id).priority == "urgent"
    assert [c.detail for c in world.api.changes(account_id="acme") if c.kind == "priority"] == ["priority: urgent"]


@pytest.mark.parametrize("priority", ["HIGH", "critical", "", 3])
def test_an_unknown_priority_is_refused_and_nothing_is_stored(world: World, priority: object) -> None:
    before = world.store.counts().cases
    with pytest.raises(InvalidInput, match="priority"):
        world.api.submit("acme", "alice", "Help", "It broke", priority=priority)  # type: ignore[arg-type]
    assert world.store.counts().cases == before


@pytest.fixture
def mapped(zd: Sandbox, tmp_path: Path) -> Iterator[tuple[World, int]]:
    response = requests.post(f"{zd.url}/api/v2/ticket_fields.json", timeout=10,
                             json={"ticket_field": {"type": "text", "title": "Plan"}},
                             auth=(f"{zd.agent_email}/token", zd.agent_token))
    assert response.status_code == 201, response.text
    field_id = int(response.json()["ticket_field"]["id"])
    with World(zd, tmp_path / "console.db", field_map={"plan": field_id}) as w:
        w.populate(alice="Alice Liddell")
        yield w, field_id


def test_mapped_fields_go_to_the_ticket_and_staffs_change_comes_back(mapped: tuple[World, int]) -> None:
    world, field_id = mapped
    case_id, ticket_id = world.submit("acme", "alice", fields={"plan": "gold"})
    values = {f["id"]: f["value"] for f in world.staff.ticket(ticket_id)["custom_fields"]}
    assert values[field_id] == "gold"
    world.sync()
    assert world.case("acme", case_id).fields == {"plan": "gold"}
    assert "field" not in world.kinds("acme")

    world.staff.update(ticket_id, custom_fields=[{"id": field_id, "value": "platinum"}])
    world.sync()
    assert world.case("acme", case_id).fields == {"plan": "platinum"}
    assert [c.detail for c in world.api.changes(account_id="acme") if c.kind == "field"] == ["plan: 'platinum'"]
    with pytest.raises(InvalidInput, match="not mapped"):
        world.api.submit("acme", "alice", "Help", "It broke", fields={"tier": "x"})


def test_a_console_address_staff_remove_comes_back_within_two_cycles_and_hand_added_ones_stay(world: World) -> None:
    engine = SyncEngine(world.settings, store=world.store, gateway=world.gateway)
    case_id, ticket_id = world.submit("acme", "carol")
    assert world.staff.cc_emails(ticket_id) == {"alice@acme.test"}
    world.staff.remove_cc(ticket_id, "alice@acme.test")
    world.staff.add_cc(ticket_id, "partner@vendor.test")
    for _ in range(2):
        world.tick()
        report = engine.run_once()
        assert report.errors == []
        if "alice@acme.test" in world.staff.cc_emails(ticket_id):
            break
    assert world.staff.cc_emails(ticket_id) == {"alice@acme.test", "partner@vendor.test"}
    world.tick()
    engine.run_once()
    assert set(world.case("acme", case_id).cc) == {"alice@acme.test", "partner@vendor.test"}


def test_an_email_reply_by_a_console_user_names_that_user(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.email_reply(ticket_id, "alice@acme.test", "Adding the logs")  # alice is CC'd as the admin
    world.sync()
    message = world.case("acme", case_id).messages[-1]
    assert (message.author, message.body, message.user_id) == ("user", "Adding the logs", "alice")
    assert world.case("acme", case_id).messages[0].user_id == "carol"


def test_with_webhooks_staffs_priority_and_cc_changes_apply_within_one_inbox_pass(world: World) -> None:
    from sync.inbound import webhook_sink
    from sync.web.webhooks import WebhookHint

    case_id, ticket_id = world.submit("acme", "carol")
    world.sync()
    world.staff.update(ticket_id, priority="low", email_ccs=[{"user_email": "alice@acme.test", "action": "delete"}])
    # What the receiver stores for the ticket.priority_changed / email_ccs_changed deliveries.
    assert webhook_sink(world.store)(WebhookHint(ticket_id=ticket_id, event_id="evt-priority"))
    world.inbox.run_once()
    assert world.case("acme", case_id).priority == "low"  # no poll needed
    world.outbox.run_once()  # the repair the inbox queued
    assert world.staff.cc_emails(ticket_id) == {"alice@acme.test"}


def test_the_label_catches_up_once_a_console_reply_in_flight_reaches_the_ticket(world: World) -> None:
    vendor = _custom_status(world, "pending", "Waiting on vendor", "Waiting on a third party")
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.reply(ticket_id, "Which version?", status="pending")
    world.sync()
    assert world.case("acme", case_id).status_label == "Pending"
    world.api.reply("acme", case_id, "alice", "Version 3")  # queued: the case is Open, the ticket still Pending
    world.staff.update(ticket_id, custom_status_id=vendor)
    world.tick(120)
    world.poll()  # the label describes a status the case has left: not shown
    world.sync()  # the reply reopens the ticket with the default open status
    world.tick(120)
    world.sync()
    case = world.case("acme", case_id)
    ticket = world.staff.ticket(ticket_id)
    assert ticket["status"] == "open"
    assert (case.status, case.status_label) == (CaseStatus.OPEN, "Open")


def test_the_label_follows_a_close_from_the_console(world: World) -> None:
    vendor = _custom_status(world, "pending", "Waiting on vendor", "Waiting on a third party")
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.update(ticket_id, custom_status_id=vendor)
    world.sync()
    assert world.case("acme", case_id).status_label == "Waiting on a third party"
    world.api.close("acme", case_id, "alice")
    world.sync()
    world.tick(120)
    world.sync()
    ticket = world.staff.ticket(ticket_id)
    labels = {int(s["id"]): s["end_user_label"] for s in world.staff.get("custom_statuses")["custom_statuses"]}
    assert ticket["status"] in ("solved", "closed")
    assert world.case("acme", case_id).status_label == labels[ticket["custom_status_id"]]
