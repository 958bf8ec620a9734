"""The checker's parts for the harder chaos faults: forged and lost webhook hints, a refused credential
dead-lettered, a connection left paused.  Each damage is made in a world of its own (they change the store)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.engine import SyncEngine
from sync.hints import WebhookHint
from sync.inbound import webhook_sink
from sync.sandbox import Sandbox
from sync.store import Store
from sync.testing.invariants import check
from sync.testing.world import World

Settled = tuple[SyncEngine, dict[str, Any], int]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Settled]:
    """One case delivered and settled; a valid webhook hint about its ticket received and applied."""
    with Sandbox(rate_limits=False) as zd, World(zd, f"sqlite:///{tmp_path / 'c.db'}") as w:
        support = w.support
        support.upsert_account("acct0", "acct0")
        support.upsert_user("acct0", "u0", "u0@acct0.test", "Admin", admin=True)
        case = support.submit("acct0", "u0", "Help", "«c1» it broke")
        w.engine.run_once()
        ticket = support.get("acct0", case.id).ticket_id
        assert ticket is not None
        webhook_sink(w.store)(WebhookHint(ticket_id=ticket, event_id="flood-1-000001"))
        w.sync(3, until_idle=False)
        yield w.engine, w.state(), ticket


def test_the_hints_received_pass(world: Settled) -> None:
    engine, state, _ticket = world
    report = check(engine.store, state, forged_events={"forged-1-000002"}, accepted_events={"flood-1-000001"})
    assert report.violations == []
    assert report.checked["webhook_events"] == 2


def _forged_in_the_inbox(store: Store, ticket: int) -> dict[str, Any]:
    webhook_sink(store)(WebhookHint(ticket_id=ticket, event_id="forged-1-000002"))
    return {"forged_events": {"forged-1-000002"}}


def _accepted_but_missing(store: Store, ticket: int) -> dict[str, Any]:
    return {"accepted_events": {"flood-1-000001", "flood-1-000003"}}


def _refused_token_dead_lettered(store: Store, ticket: int) -> dict[str, Any]:
    with store.transaction() as tx:
        tx.enqueue("upsert_account", {"account_id": "acct0"}, ordering_key="account:acct0", account_id="acct0")
    [entry] = store.claim_outbox("w1")
    store.dead_letter(entry, "GET /api/v2/users/me: HTTP 401: Couldn't authenticate you")
    return {}


def _left_paused(store: Store, ticket: int) -> dict[str, Any]:
    with store.transaction() as tx:
        tx.kv_set("connection:paused", {"cause": "credentials_refused", "since": "2026-01-01T00:00:00+00:00",
                                        "detail": "HTTP 401"})
    return {}


@pytest.mark.parametrize(
    ("damage", "kind"),
    [
        (_forged_in_the_inbox, "forged_accepted"),
        (_accepted_but_missing, "lost_hint"),
        (_refused_token_dead_lettered, "dead_letter_auth"),
        (_left_paused, "connection_paused"),
    ],
)
def test_each_damage_is_reported(
    world: Settled, damage: Callable[[Store, int], dict[str, Any]], kind: str
) -> None:
    engine, state, ticket = world
    extra = damage(engine.store, ticket)
    assert kind in check(engine.store, state, **extra).by_kind()
