"""Console users can never act as support staff (docs/design.md §3 Entities): agents' emails are refused."""

from __future__ import annotations

import pytest

from sync.errors import InvalidInput

from .conftest import World


def test_an_unknown_agent_email_is_dead_lettered_and_never_written_as(world: World) -> None:
    agent = world.staff
    agent_email = "sam@support.test"
    world.support.upsert_user("acme", "mallory", agent_email, "Mallory")
    case = world.support.submit("acme", "mallory", "Give me staff powers", "«as agent» please")
    world.sync()
    with world.engine.store.read() as tx:
        dead = [d for d in tx.dead_letters() if d.account_id == "acme"]
    assert dead and all("agent email" in d.reason for d in dead if d.kind in ("upsert_user", "submit"))
    assert any("agent email" in d.reason for d in dead)
    assert world.support.get("acme", case.id).ticket_id is None
    tickets = agent.call("GET", "tickets")["tickets"]
    assert not any(t["requester_id"] == agent.id for t in tickets)
    for t in tickets:
        comments = agent.call("GET", f"tickets/{t['id']}/comments")["comments"]
        assert not any("«as agent»" in c["body"] for c in comments)


def test_an_email_the_store_knows_as_staff_is_refused_at_once(world: World) -> None:
    world.support.upsert_user("acme", "mallory", "sam@support.test", "Mallory")
    world.sync()  # delivery finds the agent role: the store now knows the address as staff's
    for account, user, email in [("globex", "eve", "sam@support.test"), ("acme", "user", "SAM@support.test")]:
        with pytest.raises(InvalidInput, match="agent"):
            world.support.upsert_user(account, user, email, "Eve")
    with world.engine.store.read() as tx:
        assert "sam@support.test" not in [u.email.lower() for u in tx.users("globex")]
