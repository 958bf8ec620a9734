"""A console user's email that Zendesk suspends is surfaced on the case, and imported once when recovered."""

from __future__ import annotations

from datetime import UTC, datetime

from mappings.models import ChangeKind
from sync.inbound.suspended import SuspendedWatcher, held_suspended
from sync.status import collect_status

from .conftest import World


def _watch(world: World) -> SuspendedWatcher:
    return SuspendedWatcher(world.store, world.gateway)


def test_a_suspended_reply_is_surfaced_and_imported_once_when_recovered(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    # carol is a user of acme, but neither the requester nor a CC of alice's ticket: Zendesk suspends her email.
    answer = world.staff.http.post(
        f"{world.zd.url}/__sandbox/tickets/{ticket_id}/email_reply",
        json={"from": "carol@acme.test", "body": "Same problem here, on my laptop"}, timeout=10,
    ).json()
    suspended = answer["suspended_ticket"]
    assert (suspended["cause_id"], suspended["ticket_id"]) == (6, ticket_id)
    assert world.staff.get(f"suspended_tickets/{suspended['id']}")["suspended_ticket"]["author"]["email"] == (
        "carol@acme.test"
    )
    world.sync()
    assert all("laptop" not in m.body for m in world.case("acme", case_id).messages)  # Zendesk did not add it

    watcher = _watch(world)
    watcher.run_once(force=True)
    watcher.run_once(force=True)
    entries = [c for c in world.api.changes(account_id="acme") if c.kind == "suspended_message"]
    assert [(c.case_id, "carol" in c.detail, "laptop" in c.detail) for c in entries] == [(case_id, True, False)]
    assert collect_status(world.store, now=datetime.now(UTC))["suspended_emails"] == 1

    world.staff.put(f"suspended_tickets/{suspended['id']}/recover")
    world.sync()
    world.sync()
    messages = world.case("acme", case_id).messages
    assert [(m.author, m.author_name, m.body) for m in messages if "laptop" in m.body] == [
        ("user", "Carol Jones", "Same problem here, on my laptop")
    ]
    watcher.run_once(force=True)
    assert held_suspended(world.store) == {}
    assert collect_status(world.store, now=datetime.now(UTC))["suspended_emails"] == 0
    assert [c.kind for c in world.api.changes(account_id="acme")].count(ChangeKind.SUSPENDED_MESSAGE) == 1


def test_another_accounts_suspended_email_is_never_shown_on_the_case(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.email_reply(ticket_id, "gus@globex.test", "Not my ticket")
    _watch(world).run_once(force=True)
    assert all(c.kind != "suspended_message" for c in world.api.changes())
    assert held_suspended(world.store) == {}
    assert all("Not my ticket" not in m.body for m in world.case("acme", case_id).messages)


def test_the_list_is_read_at_most_once_an_interval(world: World) -> None:
    watcher = _watch(world)
    before = world.staff.http.get(f"{world.zd.url}/__sandbox/stats", timeout=10).json()["requests"]
    watcher.run_once()
    watcher.run_once()
    after = world.staff.http.get(f"{world.zd.url}/__sandbox/stats", timeout=10).json()["requests"]
    key = "GET /api/v2/suspended_tickets"
    assert after.get(key, 0) - before.get(key, 0) == 1
