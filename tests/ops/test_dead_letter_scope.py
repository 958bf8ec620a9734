"""A dead letter holds only what depends on it: one user's failed change holds that user's later changes
and the cases that need that user, never the rest of the account (README, "What a dead letter holds")."""

from __future__ import annotations

from typing import Any

import httpx

from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.sandbox import Sandbox
from sync.store import Store
from tests.support.zendesk import Clock

from .conftest import EngineFor


def settle(engine: SyncEngine, clock: Clock, passes: int = 8) -> None:
    for _ in range(passes):
        engine.run_once()
        clock.advance(5)


def entries(store: Store, **filters: Any) -> list[Any]:
    with store.read() as tx:
        return tx.outbox_entries(**filters)


def move_address(zd: Sandbox, agent: tuple[str, str], user_id: int, new_email: str) -> None:
    """What staff do in Zendesk to change a user's address: a new identity, made primary, the old removed."""
    base = f"{zd.url}/api/v2/users/{user_id}/identities"
    old = httpx.get(f"{base}.json", auth=agent, timeout=5).json()["identities"]
    created = httpx.post(f"{base}.json", auth=agent, timeout=5,
                         json={"identity": {"type": "email", "value": new_email, "verified": True}})
    assert created.status_code == 201, created.text
    new_id = created.json()["identity"]["id"]
    assert httpx.put(f"{base}/{new_id}/make_primary.json", auth=agent, timeout=5).status_code == 200
    for identity in old:
        assert httpx.delete(f"{base}/{identity['id']}.json", auth=agent, timeout=5).status_code in (200, 204)


def test_one_bad_user_holds_only_what_needs_it(
    zd: Sandbox, support: SupportCases, store: Store, engine_for: EngineFor, clock: Clock
) -> None:
    engine = engine_for()
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "ann", "ann@acme.test", "Ann")
    support.upsert_user("acme", "sam", "sam@acme.test", "Sam")
    settle(engine, clock, 2)
    # sam moves to an address another Zendesk user already has: Zendesk refuses it (422 DuplicateValue).
    taken = zd.create_end_user("taken@acme.test", "Someone Else")
    support.upsert_user("acme", "sam", "taken@acme.test", "Sam")
    support.upsert_user("acme", "eve", "eve@acme.test", "Eve")  # unrelated, queued after sam's
    support.upsert_user("acme", "ann", "ann@acme.test", "Ann", admin=True)  # a list change for ann
    support.upsert_user("acme", "sam", "taken@acme.test", "Sam S.")  # sam again: must wait behind his
    eve_case = support.submit("acme", "eve", "Printer", "It jams.")
    sam_case = support.submit("acme", "sam", "VPN", "It drops.")
    settle(engine, clock)

    dead = entries(store, status="dead")
    assert [(e.kind, e.ordering_key) for e in dead] == [("upsert_user", "user:acme:sam")]
    assert "already being used" in (dead[0].last_error or "")
    # Unrelated work went through: eve, her case, ann's promotion onto the recipient list.
    assert support.get("acme", eve_case.id).ticket_id is not None
    assert not entries(store, ordering_key="user:acme:eve", status="pending")
    assert not entries(store, ordering_key="account:acme", status="pending")
    # What needs sam waits, held, with the reason; nothing of it is dead-lettered on its own.
    assert support.get("acme", sam_case.id).ticket_id is None
    held = entries(store, status="pending")
    assert {e.ordering_key for e in held} == {"user:acme:sam", f"case:{sam_case.id}"}
    sam_submit = next(e for e in held if e.kind == "submit")
    assert sam_submit.last_error is not None and "waiting for user 'sam'" in sam_submit.last_error

    # Staff move the other user to another address in Zendesk and the operator replays: what was held follows.
    agent = (f"{zd.agent_email}/token", zd.agent_token)
    move_address(zd, agent, int(taken["id"]), "someone@else.test")
    with store.transaction() as tx:
        assert tx.replay(dead[0].id)
    settle(engine, clock)
    assert not entries(store, status="pending") and not entries(store, status="dead")
    ticket_id = support.get("acme", sam_case.id).ticket_id
    assert ticket_id is not None
    requester = httpx.get(f"{zd.url}/api/v2/tickets/{ticket_id}.json", auth=agent, timeout=5).json()["ticket"]
    user = httpx.get(f"{zd.url}/api/v2/users/{requester['requester_id']}.json", auth=agent, timeout=5).json()
    assert user["user"]["email"] == "taken@acme.test" and user["user"]["name"] == "Sam S."


def test_a_recipient_change_waits_for_the_address_change_it_depends_on(
    zd: Sandbox, support: SupportCases, store: Store, engine_for: EngineFor, clock: Clock
) -> None:
    engine = engine_for()
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "ann", "ann@acme.test", "Ann", admin=True)
    settle(engine, clock, 2)
    zd.create_end_user("taken@acme.test", "Someone Else")
    # ann's new address is another Zendesk user's: her address change dead-letters, and the recipient-list
    # change that would put that address on the account's tickets waits for it instead of going first.
    support.upsert_user("acme", "ann", "taken@acme.test", "Ann", admin=True)
    settle(engine, clock)
    dead = entries(store, status="dead")
    assert [e.ordering_key for e in dead] == ["user:acme:ann"]
    (waiting,) = entries(store, ordering_key="account:acme", status="pending")
    assert waiting.kind == "recipients_changed"
    assert waiting.last_error is not None and "waiting for user 'ann'" in waiting.last_error
