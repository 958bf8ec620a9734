"""Exactly one poller at a time on PostgreSQL: a session-level advisory lock, taken over when its holder dies."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from sync.gateway import ZendeskGateway
from sync.inbound import InboundPoller
from sync.settings import Settings
from sync.store import Store, open_store
from sync.store.base import POLLER_LOCK
from sync.testing.processes import ChildProcess, SandboxProcess, wait_for


@pytest.fixture
def stores(empty_pg: str) -> Iterator[list[Store]]:
    """Three stores on the same database, standing for three machines."""
    opened = [open_store(empty_pg) for _ in range(3)]
    try:
        opened[0].migrate()
        yield opened
    finally:
        for store in opened:
            store.close()


def test_the_lock_is_exclusive_across_stores_and_owners(stores: list[Store]) -> None:
    a, b, c = stores
    assert a.try_lock(POLLER_LOCK, "host-a", 30)
    assert a.try_lock(POLLER_LOCK, "host-a", 30)  # asking again while holding it
    assert not a.try_lock(POLLER_LOCK, "host-x", 30)  # another owner through the same store
    assert not b.try_lock(POLLER_LOCK, "host-b", 30)
    b.unlock(POLLER_LOCK, "host-b")  # not the holder: no effect
    assert not c.try_lock(POLLER_LOCK, "host-c", 30)
    a.unlock(POLLER_LOCK, "host-a")
    assert b.try_lock(POLLER_LOCK, "host-b", 30)
    assert not a.try_lock(POLLER_LOCK, "host-a", 30)
    with c.poller_lock("host-c") as held:
        assert not held
    b.unlock(POLLER_LOCK, "host-b")
    with c.poller_lock("host-c") as held:
        assert held
        assert not a.try_lock(POLLER_LOCK, "host-a", 30)
    assert a.try_lock(POLLER_LOCK, "host-a", 30)  # released when the block ended


def test_no_ttl_the_holder_keeps_the_lock_however_long_it_works(stores: list[Store]) -> None:
    """Unlike a named lease, the advisory lock does not lapse while its holder is still alive."""
    a, b, _ = stores
    assert a.try_lock(POLLER_LOCK, "host-a", 0.01)
    time.sleep(0.05)  # far past the 0.01 s TTL a named lease would have had
    assert not b.try_lock(POLLER_LOCK, "host-b", 0.01)


def test_a_holder_whose_session_ended_loses_the_lock_and_notices(stores: list[Store]) -> None:
    """The server ending the holder's session (a crash, a lost network) frees the lock for the others."""
    a, b, _ = stores
    assert a.try_lock(POLLER_LOCK, "host-a", 30)
    with b.engine.connect() as conn:  # type: ignore[attr-defined]
        killed = conn.execute(
            # Only this database's sessions: other databases of the server belong to other runs.
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).all()
    assert killed
    wait_for(lambda: b.try_lock(POLLER_LOCK, "host-b", 30), 10, "host-b to take the lock over")
    assert not a.try_lock(POLLER_LOCK, "host-a", 30)  # a's session is gone; it re-asks and is refused


def _migrated(url: str) -> None:
    with open_store(url) as store:
        store.migrate()


def test_racing_processes_never_hold_the_lock_together(empty_pg: str) -> None:
    _migrated(empty_pg)
    racers = [ChildProcess.main("race", empty_pg, f"racer-{i}", "4", "0.03", name=f"racer-{i}") for i in range(4)]
    try:
        for racer in racers:
            racer.expect("end", 40)
    finally:
        for racer in racers:
            racer.stop()
    intervals: list[tuple[float, float, str]] = []
    for racer in racers:
        times = [float(line.split()[1]) for line in racer.lines if line.startswith(("acquired", "released"))]
        intervals += [(times[i], times[i + 1], racer.name) for i in range(0, len(times) - 1, 2)]
    intervals.sort()
    assert len(intervals) >= 10 and len({who for _, _, who in intervals}) >= 2, intervals
    for (_, end, who), (start, _, nxt) in itertools.pairwise(intervals):
        assert start >= end, f"{nxt} held the poller lock while {who} still did"


def test_the_lock_is_taken_over_after_its_holder_is_killed(empty_pg: str) -> None:
    _migrated(empty_pg)
    holder = ChildProcess.main("hold", empty_pg, "host-a", name="holder")
    racer: ChildProcess | None = None
    try:
        holder.expect("held", 20)
        racer = ChildProcess.main("race", empty_pg, "host-b", "30", "60", name="racer")
        racer.expect("miss 20", 20)  # twenty refusals while the holder lives
        assert not any(line.startswith("acquired") for line in racer.lines)
        killed_at = time.monotonic()
        holder.kill()
        racer.expect("acquired", 10)
        assert time.monotonic() - killed_at < 10
    finally:
        holder.stop()
        if racer is not None:
            racer.stop()


def test_the_poller_does_not_poll_while_another_process_holds_the_lock(empty_pg: str, sandbox: SandboxProcess) -> None:
    settings = Settings(
        zendesk_url=sandbox.url,
        zendesk_email=sandbox.agent_email,
        zendesk_token=sandbox.agent_token,
        database_url=empty_pg,
    )
    store = open_store(empty_pg)
    holder = ChildProcess.main("hold", empty_pg, "other-host", name="holder")
    try:
        store.migrate()
        poller = InboundPoller(store, ZendeskGateway(settings), settings, owner_id="this-host")
        holder.expect("held", 20)
        assert not poller.run_once().polled
        exports = {k: v for k, v in sandbox.stats()["requests"].items() if "incremental" in k}
        assert exports == {}
        holder.send("release")
        holder.expect("released", 10)
        assert poller.run_once().polled
        assert any("incremental" in k for k in sandbox.stats()["requests"])
    finally:
        holder.stop()
        store.close()
