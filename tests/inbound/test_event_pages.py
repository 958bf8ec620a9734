"""Comments in bulk: the poller reads as many ticket-event pages as a ticket page needs, within the budget.

A burst of staff changes spans several pages of the event export; the poller follows them in one poll rather
than listing comments ticket by ticket, and when the export budget runs out mid-way it leaves the rest for the
next poll — the ticket page is read again, the comments already read are carried — with nothing lost and
nothing imported twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sync.inbound.poller import EVENTS_CURSOR, TICKETS_CURSOR
from sync.sandbox import Sandbox
from sync.store.kv_keys import CARRIED, COMMENT_GAP, EXPORT_REQUESTS

from .conftest import World


def _stats(world: World) -> dict[str, int]:
    body = world.staff.http.get(f"{world.zd.url}/__sandbox/stats").json()
    return {"total": int(body["total"]), **{k: int(v) for k, v in body["requests"].items()}}


def _delta(before: dict[str, int], after: dict[str, int], fragment: str) -> int:
    return sum(n - before.get(k, 0) for k, n in after.items() if fragment in k)


@pytest.fixture
def paged(world: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """The world with event-export pages of 25 events, so that a few changes span several pages."""
    original = world.gateway._raw

    def raw(method: str, path: str, **kw: Any) -> Any:
        if path.startswith("incremental/ticket_events"):
            kw["params"] = {**(kw.get("params") or {}), "per_page": 25}
        return original(method, path, **kw)

    monkeypatch.setattr(world.gateway, "_raw", raw)
    yield world


def _burst(world: World, cases: int, replies: int, *, per_second: int | None = None) -> list[tuple[int, int]]:
    """``cases`` cases in Zendesk, applied; then ``replies`` staff replies round-robin over their tickets,
    ``per_second`` of them per second of the sandbox's clock (a page holds every event of its last second, so
    a burst within one second would be one page whatever its size)."""
    ids = [world.api.submit("acme", "alice", f"Case {i}", "It broke").id for i in range(cases)]
    world.deliver()
    world.sync()
    tickets = [(case_id, world.api.get("acme", case_id).ticket_id or 0) for case_id in ids]
    for k in range(replies):
        case_id, ticket_id = tickets[k % cases]
        world.staff.reply(ticket_id, f"reply {k} to {case_id}")
        if per_second and k % per_second == per_second - 1:
            world.zd.advance_clock(1)
    return tickets


def _assert_every_reply_once(world: World, tickets: list[tuple[int, int]], replies: int) -> None:
    for index, (case_id, _) in enumerate(tickets):
        bodies = [m.body for m in world.case("acme", case_id).messages]
        expected = [f"reply {k} to {case_id}" for k in range(index, replies, len(tickets))]
        assert bodies == ["It broke", *expected]


def test_events_spread_over_several_pages_are_read_in_one_poll(paged: World) -> None:
    world = paged
    tickets = _burst(world, 6, 90, per_second=5)  # 90 audits: pages of 25 and a bit
    before = _stats(world)
    report = world.poll()
    after = _stats(world)
    assert report.polled and not report.errors
    assert world.poller.last_event_pages >= 3 and world.poller.last_held == 0
    assert world.poller.caught_up
    _assert_every_reply_once(world, tickets, 90)
    assert _delta(before, after, "/comments") == 0  # no per-ticket listing
    assert _delta(before, after, "incremental/ticket_events") == world.poller.last_event_pages
    assert _delta(before, after, "incremental/tickets") == 1
    with world.store.read() as tx:
        assert all(CARRIED.get(tx, t) is None for _, t in tickets)  # nothing left over


def test_a_poll_whose_budget_runs_out_leaves_the_rest_for_the_next(paged: World) -> None:
    world = paged
    tickets = _burst(world, 5, 150, per_second=5)  # five pages at least
    world.tick()
    with world.store.read() as tx:
        cursor, events_from = tx.get_cursor(TICKETS_CURSOR), tx.get_cursor(EVENTS_CURSOR)
    # Other processes already spent 5 of the minute's 10 export requests: this poll has 2 + 2 extra pages.
    now = world.poller.zendesk_now().timestamp()
    with world.store.transaction() as tx:
        EXPORT_REQUESTS.put(tx, [now - 1] * 5)
    before = _stats(world)
    feed = world.api.changes()
    report = world.poller.run_once()
    assert report.polled and not report.errors
    assert world.poller.last_event_pages == 3 and world.poller.last_held == 5
    assert _delta(before, _stats(world), "incremental") == 4
    with world.store.read() as tx:
        assert len(EXPORT_REQUESTS.get(tx) or []) == 9
        # The ticket page waits: its cursor has not moved; the events cursor has, the comments read carried.
        assert tx.get_cursor(TICKETS_CURSOR) == cursor
        assert int(tx.get_cursor(EVENTS_CURSOR) or 0) > int(events_from or 0)
        assert all(CARRIED.get(tx, t) is not None for _, t in tickets)
    assert world.api.changes() == feed  # nothing of the held tickets applied yet, nothing half-applied
    assert world.poller.run_once().polled is False  # the budget is spent: no poll, no sleep

    for _ in range(4):
        world.poll()
        if world.poller.caught_up:
            break
    assert world.poller.caught_up
    _assert_every_reply_once(world, tickets, 150)
    assert _delta(before, _stats(world), "/comments") == 0
    with world.store.read() as tx:
        assert all(CARRIED.get(tx, t) is None for _, t in tickets)
    # Reading it all again changes nothing.
    feed = world.api.changes()
    world.sync()
    assert world.api.changes() == feed


def test_a_comment_made_private_then_updated_is_withdrawn_from_the_events_without_listing(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    comment_id = world.staff.reply(ticket_id, "Oops, wrong customer")
    world.sync()
    world.tick(120)
    world.submit("acme", "carol")  # other work moves both export cursors past the comment's audit
    world.sync()
    world.staff.make_private(ticket_id, comment_id)
    world.zd.advance_clock(2)
    world.staff.reply(ticket_id, "Here is the real answer")
    before = _stats(world)
    report = world.poll()
    assert report.polled and not report.errors
    assert [m.body for m in world.case("acme", case_id).messages] == ["It broke", "Here is the real answer"]
    assert world.kinds("acme").count("withdrawn_message") == 1
    assert world.poller.last_fallbacks == 0 and _delta(before, _stats(world), "/comments") == 0
    world.sync()
    assert world.kinds("acme").count("withdrawn_message") == 1


def _five_cases_and_a_staff_reply(world: World) -> tuple[list[tuple[int, int]], int]:
    """Five delivered cases as (case, ticket) pairs, and the id of a staff reply on the first one's ticket."""
    ids = [world.api.submit("acme", "alice", f"Case {i}", "It broke").id for i in range(5)]
    world.deliver()
    world.sync()
    tickets = [(case_id, world.api.get("acme", case_id).ticket_id or 0) for case_id in ids]
    return tickets, world.staff.reply(tickets[0][1], "Oops, wrong customer")


def _poll_past_the_change_with_its_ticket_held(world: World, tickets: list[tuple[int, int]]) -> None:
    """Five event pages of other replies after the change, and a budget for only four: the events cursor moves
    past the change while the changed ticket's snapshot waits for further pages."""
    world.zd.advance_clock(1)
    for k in range(150):
        other_case, other_ticket = tickets[k % 5]
        world.staff.reply(other_ticket, f"reply {k} to {other_case}")
        if k % 5 == 4:
            world.zd.advance_clock(1)
    world.tick()
    now = world.poller.zendesk_now().timestamp()
    with world.store.transaction() as tx:
        EXPORT_REQUESTS.put(tx, [now - 1] * 5)  # a budget of 2 + 2 extra pages
    assert world.poller.run_once().polled
    assert world.poller.last_held == 5


def test_a_comment_made_private_on_a_held_ticket_is_withdrawn_by_a_later_poll(paged: World) -> None:
    world = paged
    tickets, comment_id = _five_cases_and_a_staff_reply(world)
    case_id, ticket_id = tickets[0]
    world.sync()
    assert "Oops, wrong customer" in [m.body for m in world.case("acme", case_id).messages]
    world.staff.make_private(ticket_id, comment_id)
    _poll_past_the_change_with_its_ticket_held(world, tickets)
    # The events cursor moved past the change while its ticket waits: the message is withdrawn with that move.
    assert "Oops, wrong customer" not in [m.body for m in world.case("acme", case_id).messages]
    assert world.kinds("acme").count("withdrawn_message") == 1
    for _ in range(4):
        world.poll()
        if world.poller.caught_up:
            break
    assert world.poller.caught_up
    _assert_every_reply_once(world, tickets, 150)
    assert world.kinds("acme").count("withdrawn_message") == 1
    with world.store.read() as tx:
        assert not COMMENT_GAP.get(tx, ticket_id)


def test_a_comment_list_read_before_the_comment_was_made_private_never_imports_it(paged: World) -> None:
    world = paged
    tickets, comment_id = _five_cases_and_a_staff_reply(world)
    case_id, ticket_id = tickets[0]
    # A webhook hint's worker reads the ticket and its comments, then is slow to commit what it read ...
    ticket, comments = world.gateway.get_ticket(ticket_id), world.gateway.list_comments(ticket_id)
    assert [c.public for c in comments if c.id == comment_id] == [True]
    # ... while staff make the comment private and the poller's events cursor passes the change, the ticket's
    # own snapshot waiting for further event pages.
    world.staff.make_private(ticket_id, comment_id)
    _poll_past_the_change_with_its_ticket_held(world, tickets)
    world.applier.apply(ticket, comments)  # the late commit of the list read before the change
    assert "Oops, wrong customer" not in [m.body for m in world.case("acme", case_id).messages]
    for _ in range(4):
        world.poll()
        if world.poller.caught_up:
            break
    assert world.poller.caught_up
    _assert_every_reply_once(world, tickets, 150)
    assert "withdrawn_message" not in world.kinds("acme")  # never shown, so nothing to withdraw


@pytest.mark.timeout(600)
def test_5000_changes_on_500_tickets_cost_at_most_0_02_requests_each(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.reset()
    with World(sandbox, tmp_path / "bulk.db") as world:
        world.account("acme", ("alice", "alice@acme.test", "Alice Liddell"))
        for _ in range(5):
            world.api.submit("acme", "alice", "warm-up", "It broke")
        world.deliver()
        tickets = _burst(world, 500, 5000)
        world.tick()
        seq = max((c.seq for c in world.api.changes()), default=0)
        before = _stats(world)
        started = datetime.now(UTC)
        for _ in range(5):
            world.tick()
            report = world.poller.run_once()
            assert not report.errors
            if world.poller.caught_up and not report.inbound_applied:
                break
        after = _stats(world)
        # The clock probes of ``tick`` (users/me) are the test's, not the poller's.
        spent = after["total"] - before["total"] - _delta(before, after, "users/me")
        assert spent / 5000 <= 0.02, (spent, {k: n - before.get(k, 0) for k, n in after.items()})
        assert _delta(before, after, "/comments") <= 5
        staff = [c for c in world.api.changes(seq) if c.kind.value == "staff_message"]
        assert len(staff) == 5000
        _assert_every_reply_once(world, tickets, 5000)
        assert (datetime.now(UTC) - started).total_seconds() < 300
