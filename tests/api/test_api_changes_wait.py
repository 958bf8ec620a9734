"""``SupportCases.changes(..., limit=..., wait=...)``: long polling the feed, within and across processes.

The waits here are long (60 s) and the tests' timeout shorter: a waiter that were not woken would make the
test fail by its timeout instead of passing late.  Nothing asserts on elapsed time.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from typing import Any

import pytest

from mappings.models import CaseChange, ChangeKind
from sync.api import SupportCases
from sync.errors import InvalidInput
from sync.store import open_store


def _staff_status(store: Any, case_id: int) -> int:
    with store.transaction() as tx:
        return int(tx.append_change("acme", case_id, ChangeKind.STATUS, "Open"))


def test_without_wait_it_answers_at_once_and_limit_caps_the_answer(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams")
    assert world.changes() == []
    seqs = [_staff_status(world.store, case.id) for _ in range(3)]
    assert [c.seq for c in world.changes(limit=2)] == seqs[:2]
    assert [c.seq for c in world.changes(seqs[0], limit=5)] == seqs[1:]
    assert world.changes(seqs[-1], wait=0) == []


def test_a_waiter_returns_what_was_there_without_waiting(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams")
    seq = _staff_status(world.store, case.id)
    assert [c.seq for c in world.changes(0, wait=60)] == [seq]


@pytest.mark.timeout(30)
def test_a_waiter_wakes_when_another_thread_appends(world: SupportCases, store_url: str, clock: Any) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams")
    got: list[list[CaseChange]] = []
    waiter = threading.Thread(target=lambda: got.append(world.changes(0, account_id="acme", wait=60)))
    waiter.start()
    _staff_status(world.store, case.id)  # the same store object: woken by the commit itself
    writer = open_store(store_url, clock=clock)  # another store object of the process: woken as across processes
    try:
        seq = _staff_status(writer, case.id)
    finally:
        writer.close()
    waiter.join(25)
    assert not waiter.is_alive() and [c.case_id for c in got[0]][:1] == [case.id]
    assert [c.seq for c in world.changes(seq - 1, wait=60)] == [seq]


@pytest.mark.timeout(30)
def test_another_accounts_changes_do_not_end_the_wait(world: SupportCases) -> None:
    mine = world.submit("acme", "bob", "Printer", "It jams")
    theirs = world.submit("beta", "carl", "Printer", "It jams")
    got: list[list[CaseChange]] = []
    waiter = threading.Thread(target=lambda: got.append(world.changes(0, account_id="acme", wait=60)))
    waiter.start()
    with world.store.transaction() as tx:
        tx.append_change("beta", theirs.id, ChangeKind.STATUS, "Open")
    _staff_status(world.store, mine.id)
    waiter.join(25)
    assert not waiter.is_alive() and [(c.account_id, c.case_id) for c in got[0]] == [("acme", mine.id)]


_CHILD = textwrap.dedent(
    """
    import sys
    from mappings.models import ChangeKind
    from sync.store import open_store

    store = open_store(sys.argv[1])
    sys.stdin.readline()  # the parent says when its waiter is waiting
    with store.transaction() as tx:
        print(tx.append_change("acme", int(sys.argv[2]), ChangeKind.STAFF_MESSAGE, "from another process"))
    store.close()
    """
)


@pytest.mark.timeout(45)
def test_a_waiter_wakes_when_another_process_appends(world: SupportCases, store_url: str) -> None:
    """On PostgreSQL through LISTEN/NOTIFY (the waiter's re-read interval is raised to a minute to prove
    it), on SQLite through the short re-read of the feed's head."""
    case = world.submit("acme", "bob", "Printer", "It jams")
    if world.store.dialect == "postgresql":
        world.store.feed_signal.poll_s = 60.0
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, store_url, str(case.id)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        got: list[list[CaseChange]] = []
        waiter = threading.Thread(target=lambda: got.append(world.changes(0, wait=60)))
        waiter.start()
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write("go\n")
        child.stdin.flush()
        seq = int(child.stdout.readline())
        waiter.join(40)
        assert not waiter.is_alive()
        assert [(c.seq, c.detail) for c in got[0]] == [(seq, "from another process")]
    finally:
        child.kill()
        child.wait(10)


@pytest.mark.parametrize(
    "kwargs",
    [{"wait": -1}, {"wait": 301}, {"wait": True}, {"wait": "1"}, {"wait": float("nan")}, {"limit": 0}, {"limit": 1.5}],
)
def test_bad_wait_or_limit_is_invalid_input(world: SupportCases, kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        world.changes(0, **kwargs)
