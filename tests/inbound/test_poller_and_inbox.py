"""The poller's paging, budget and failure handling; the inbox's hints (duplicated, reordered, forged, stale)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mappings.inbound import TicketOutcome
from mappings.models import CaseStatus
from sync.errors import MappingError
from sync.inbound import InboundPoller, webhook_sink
from sync.inbound.poller import TICKETS_CURSOR
from sync.sandbox import Sandbox
from sync.store import schema
from sync.store.kv_keys import EXPORT_REQUESTS
from sync.web.webhooks import WebhookHint
from tests.support.sql import engine_of

from .conftest import World


def _stats(world: World) -> dict[str, int]:
    body = world.staff.http.get(f"{world.zd.url}/__sandbox/stats").json()
    return dict(body["requests"])


def _count(stats: dict[str, int], fragment: str) -> int:
    return sum(n for path, n in stats.items() if fragment in path)


def test_polling_across_many_pages_applies_everything_once(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.reset()
    world = World(sandbox, tmp_path / "pages.db", per_page=3)
    world.account("acme", ("alice", "alice@acme.test", "Alice Liddell"))
    tickets = [world.submit("acme", "alice", f"Case {i}") for i in range(10)]
    world.sync()
    for case_id, ticket_id in tickets:
        world.staff.reply(ticket_id, f"Answer to {case_id}", status="pending")
    before = _stats(world)
    cursors: list[str | None] = []
    for _ in range(12):
        world.outbox.run_once()
        world.poll()
        with world.store.read() as tx:
            cursors.append(tx.get_cursor(TICKETS_CURSOR))
        if world.poller.caught_up:
            break
    for case_id, _ in tickets:
        case = world.case("acme", case_id)
        assert [m.body for m in case.messages] == ["It broke", f"Answer to {case_id}"]
        assert case.status is CaseStatus.PENDING
    after = _stats(world)
    # Comments came in bulk from the event export: no per-ticket comment listing.
    assert _count(after, "/comments") == _count(before, "/comments")
    assert len(set(cursors)) > 2  # several pages

    # Replaying pages from an earlier cursor (duplicates at page boundaries) changes nothing.
    feed = world.api.changes()
    with world.store.transaction() as tx:
        tx.set_cursor(TICKETS_CURSOR, next(c for c in cursors if c))
    for _ in range(8):
        world.poll()
        if world.poller.caught_up:
            break
    assert world.api.changes() == feed
    world.close()


def test_export_budget_is_counted_on_zendesks_clock_and_shared(world: World) -> None:
    ticks = [1000.0]
    poller = InboundPoller(world.store, world.gateway, world.settings, owner_id="a",
                           monotonic=lambda: ticks[0])
    other = InboundPoller(world.store, world.gateway, world.settings, owner_id="b",
                          monotonic=lambda: ticks[0])
    world.tick()
    before = _count(_stats(world), "incremental")
    polled = [poller.run_once().polled for _ in range(4)]
    assert polled == [True, True, True, True]  # 8 requests: a 5th poll would reach the limit of 10
    assert poller.run_once().polled is False
    assert other.run_once().polled is False  # the count lives in the store: every process shares it
    assert _count(_stats(world), "incremental") - before == 8
    with world.store.read() as tx:
        assert len(EXPORT_REQUESTS.get(tx) or []) == 8
    ticks[0] += 61  # local time elapsed since the last Date header: the window has passed
    assert poller.run_once().polled is True


def test_a_429_skips_the_poll_without_sleeping(world: World) -> None:
    world.submit("acme", "alice")
    world.poll()
    with world.store.read() as tx:
        cursor = tx.get_cursor(TICKETS_CURSOR)
    world.zd.configure_faults({"seed": 1, "rules": [{"path": "incremental", "method": None, "error_429": 1.0}]})
    world.tick()
    started = time.monotonic()
    report = world.poller.run_once()
    assert time.monotonic() - started < 2
    assert report.polled is False and report.errors == []
    with world.store.read() as tx:
        assert tx.get_cursor(TICKETS_CURSOR) == cursor
    world.zd.configure_faults({"rules": []})


def test_start_time_is_never_later_than_zendesk_now_minus_a_minute(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.reset()
    world = World(sandbox, tmp_path / "start.db", poll_start=datetime.now(UTC) + timedelta(days=3))
    seen: list[dict[str, Any]] = []
    original = world.gateway.export_tickets

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs)
        return original(**kwargs)

    world.gateway.export_tickets = spy  # type: ignore[method-assign]
    world.poll()
    now = world.poller.zendesk_now().timestamp()
    assert seen and seen[0]["start_time"] <= now - 60
    world.close()


def test_a_ticket_that_cannot_be_applied_is_dead_lettered_alone(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    bad_case, bad_ticket = world.submit("acme", "alice", "Bad")
    good_case, good_ticket = world.submit("acme", "alice", "Good")
    world.sync()
    world.staff.reply(bad_ticket, "to bad")
    world.staff.reply(good_ticket, "to good")
    original = world.applier.apply

    def flaky(ticket: Any, comments: Any, **kw: Any) -> Any:
        if ticket.id == bad_ticket:
            raise MappingError("unknown status 'weird'")
        return original(ticket, comments, **kw)

    monkeypatch.setattr(world.applier, "apply", flaky)
    report = world.poll()
    assert report.polled and any(str(bad_ticket) in e for e in report.errors)
    assert world.case("acme", good_case).messages[-1].body == "to good"
    # The cursor moved on past the failing ticket.
    world.staff.reply(good_ticket, "again")
    world.poll()
    assert world.case("acme", good_case).messages[-1].body == "again"

    clock = [datetime.now(UTC)]
    world.inbox.clock = lambda: clock[0]
    for _ in range(world.settings.inbound_max_attempts):
        clock[0] += timedelta(hours=1)
        world.inbox.run_once()
    with world.store.read() as tx:
        dead = [d for d in tx.dead_letters() if d.queue == "inbox"]
    assert [d.ticket_id for d in dead] == [bad_ticket]
    assert "unknown status" in dead[0].reason
    assert len(world.case("acme", bad_case).messages) == 1


def test_stale_snapshots_are_ignored(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    old = world.gateway.get_ticket(ticket_id)
    world.zd.advance_clock(5)
    world.staff.status(ticket_id, "pending")
    world.applier.apply(world.gateway.get_ticket(ticket_id), None)
    assert world.case("acme", case_id).status is CaseStatus.PENDING
    plan = world.applier.apply(old, [])
    assert plan.outcome is TicketOutcome.IGNORE_STALE
    assert world.case("acme", case_id).status is CaseStatus.PENDING


def test_webhook_hints_duplicated_reordered_and_forged_are_absorbed(world: World) -> None:
    first_case, first_ticket = world.submit("acme", "alice", "One")
    second_case, second_ticket = world.submit("acme", "alice", "Two")
    world.staff.reply(first_ticket, "first answer", status="pending")
    world.staff.reply(second_ticket, "second answer", status="solved")
    sink = webhook_sink(world.store)
    hints = [
        WebhookHint(ticket_id=second_ticket, event_id="e2", event_type="zen:event-type:ticket.status_changed"),
        WebhookHint(ticket_id=first_ticket, event_id="e1", event_type="zen:event-type:ticket.comment_added"),
        WebhookHint(ticket_id=second_ticket, event_id="e2", event_type="zen:event-type:ticket.status_changed"),
        WebhookHint(ticket_id=first_ticket, occurred_at=datetime(2020, 1, 1, tzinfo=UTC)),  # stale
        WebhookHint(ticket_id=first_ticket, occurred_at=datetime(2020, 1, 1, tzinfo=UTC)),  # its duplicate
        WebhookHint(ticket_id=999_999, event_id="forged"),  # no such ticket
    ]
    assert [sink(h) for h in hints] == [True, True, False, True, False, True]
    report = world.inbox.run_once()
    assert report.errors == []
    assert [m.body for m in world.case("acme", first_case).messages] == ["It broke", "first answer"]
    assert [m.body for m in world.case("acme", second_case).messages] == ["It broke", "second answer"]
    assert world.case("acme", second_case).status is CaseStatus.SOLVED
    # The poller later sees the same changes: nothing is applied twice.
    feed = world.api.changes()
    world.sync()
    assert world.api.changes() == feed
    assert world.store.counts().inbox_pending == 0


def _hinted_ticket_zendesk_fails_to_show(world: World) -> int:
    """A staff reply to a case's ticket, hinted by a webhook; Zendesk answers every read of the ticket with
    a 503 until the faults are lifted.  Returns the case id."""
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.reply(ticket_id, "hello")
    webhook_sink(world.store)(WebhookHint(ticket_id=ticket_id, event_id="t1"))
    world.zd.configure_faults({"seed": 3, "rules": [{"path": f"tickets/{ticket_id}", "method": "GET",
                                                     "error_503": 1.0}]})
    return case_id


def test_transient_errors_are_retried_not_dead_lettered(world: World) -> None:
    case_id = _hinted_ticket_zendesk_fails_to_show(world)
    clock = [datetime.now(UTC)]
    world.inbox.clock = lambda: clock[0]
    for _ in range(world.settings.inbound_max_attempts + 2):
        report = world.inbox.run_once()
        clock[0] += timedelta(hours=1)
    assert report.errors
    with world.store.read() as tx:
        assert tx.dead_letters() == []
    world.zd.configure_faults({"rules": []})
    world.inbox.run_once()
    assert world.case("acme", case_id).messages[-1].body == "hello"


def test_a_pass_leaves_no_inbox_entry_leased(world: World) -> None:
    # A retry that falls due within the same pass is claimed again and handed back, not kept leased: the
    # heartbeat renews a live worker's leases, so a kept lease would hold the ticket until the process died.
    case_id = _hinted_ticket_zendesk_fails_to_show(world)
    offset = [timedelta(0)]

    def clock() -> datetime:
        offset[0] += timedelta(minutes=10)  # every retry is due again at the next claim
        return datetime.now(UTC) + offset[0]

    world.inbox.clock = clock
    report = world.inbox.run_once()
    assert report.errors
    inbox = schema.inbox.c
    with engine_of(world.store).connect() as conn:
        leased = conn.execute(select(inbox.id).where(inbox.status == "pending", inbox.lease_owner.is_not(None)))
        assert leased.all() == []
    world.zd.configure_faults({"rules": []})
    world.inbox.clock = lambda: datetime.now(UTC) + offset[0] + timedelta(hours=1)
    world.inbox.run_once()
    assert world.case("acme", case_id).messages[-1].body == "hello"
    assert world.store.counts().inbox_pending == 0
