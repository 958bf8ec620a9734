"""Exactly once through faults: lost responses, answers cut short, resets, 5xx and 429s never duplicate a
ticket or a comment."""

from __future__ import annotations

from collections import Counter

import pytest

from sync.api import SupportCases
from sync.sandbox import Sandbox
from sync.store import Store

from .conftest import Drain, Staff, ticket_of_case

FAULTS = {
    "429 with Retry-After": {"error_429": 0.3},
    "500": {"error_500": 0.3},
    "503": {"error_503": 0.3},
    "connection reset": {"reset": 0.3},
    "response dropped after commit": {"drop_after_commit": 0.4},
    "200 answer cut short": {"truncate": 0.4},
    "everything at once": {
        "error_429": 0.1,
        "error_500": 0.1,
        "error_503": 0.1,
        "reset": 0.1,
        "drop_after_commit": 0.2,
    },
}


@pytest.mark.parametrize("fault", list(FAULTS), ids=list(FAULTS))
def test_every_case_one_ticket_every_message_one_comment(
    fault: str,
    zd: Sandbox,
    support: SupportCases,
    account: str,
    store: Store,
    drain: Drain,
    staff: Staff,
    sleeps: list[float],
) -> None:
    rule = {"path": r"^/api/v2/(tickets|uploads|users|organizations)", "method": None, **FAULTS[fault]}
    zd.configure_faults({"seed": 11, "rules": [rule]})
    cases = [support.submit(account, "bob", f"case {i}", f"body {i}") for i in range(8)]
    for case in cases:
        for j in range(3):
            support.reply(account, case.id, "bob", f"reply {j} to {case.id}")
    for case in cases[:3]:
        support.close(account, case.id, "bob")

    report = drain(max_rounds=200)
    zd.configure_faults({"seed": 0, "rules": []})
    assert report.dead_letters == 0, report.errors
    assert report.errors or sleeps, "the faults were injected and met"

    tickets = [t for t in staff.tickets() if str(t.get("external_id", "")).startswith("console-case:")]
    per_case = Counter(t["external_id"] for t in tickets)
    assert per_case == Counter({f"console-case:{c.id}": 1 for c in cases}), "one ticket per case"
    for case in cases:
        with store.read() as tx:
            ticket_id = tx.ticket_of(case.id)
        assert ticket_id is not None
        bodies = Counter(c["body"] for c in staff.comments(ticket_id))
        expected = Counter([f"body {cases.index(case)}"] + [f"reply {j} to {case.id}" for j in range(3)])
        assert bodies == expected, f"case {case.id}: every message exactly once"
    closed = {staff.ticket(t)["status"] for t in (ticket_of_case(store, c.id) for c in cases[:3])}
    assert closed == {"closed"}
