"""Draining a backlog at Zendesk's rate limit after an outage.

    .venv/bin/python -m benchmarks.drain [--operations 5000] [--cases 1000] [--rpm 700]

While Zendesk is unreachable the console keeps working: every call is stored with its outbox entry and
nothing reaches Zendesk.  The outage is simulated that way — ``--operations`` console operations over
``--cases`` cases are made while no worker runs (per case: a submit, replies, a close; all of them are due
when Zendesk comes back, as after an outage longer than the outbox's longest backoff) — then Zendesk is
back, with the sandbox enforcing ``--rpm`` requests a minute, and one outbox worker drains the backlog.
The run starts at the start of a rate-limit minute of the sandbox's clock, so the first minute's budget
is whole.

Printed: the achieved request rate against the limit (``achieved_to_limit``: the requests answered in
each minute window of the sandbox's clock while more work remained than the window allowed, divided by
``--rpm``; the last window, where the backlog ran out, is not judged), the 429s it received
(``errors_429``, beside ``requests``), and whether per-case order was kept (every ticket's comments in
the order the console wrote them, every case closed last).  The last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.logging import configure_logging
from sync.metrics import Metrics
from sync.settings import Settings
from sync.testing.processes import SandboxProcess

__all__ = ["main", "run"]

_USERS = ("bob", "carol")


class _RequestLog(Metrics):
    """casesync's metrics, also noting when each Zendesk answer arrived (on the sandbox's clock) and its status."""

    def __init__(self) -> None:
        super().__init__()
        self.offset_s = 0.0
        self.answers: list[tuple[float, str]] = []

    def observe_request(self, endpoint: str, status: int | str | None, seconds: float) -> None:
        super().observe_request(endpoint, status, seconds)
        self.answers.append((time.time() + self.offset_s, str(status)))


def _fresh_minute(zd: SandboxProcess) -> float:
    """Move the sandbox's clock to just after the start of its next minute (the limiter's window);
    returns the sandbox clock's offset from the wall clock."""
    now = datetime.fromisoformat(zd.control("POST", "clock/advance", {"seconds": 0})["now"])
    moved = zd.control("POST", "clock/advance", {"seconds": 60 - now.timestamp() % 60 + 0.05})
    return float(moved["offset_s"])


def _per_window(answers: list[tuple[float, str]], since: float) -> list[int]:
    """Requests answered in each minute window of the sandbox's clock, from the one holding ``since``."""
    first = int(since // 60)
    counts: dict[int, int] = {}
    for at, _status in answers:
        if at >= since:
            counts[int(at // 60) - first] = counts.get(int(at // 60) - first, 0) + 1
    return [counts.get(k, 0) for k in range(max(counts) + 1)] if counts else []


def _queue_backlog(support: SupportCases, operations: int, cases: int) -> dict[int, list[str]]:
    """The console's work during the outage; returns each case's expected comment bodies, in order."""
    per_case = max(2, operations // cases)
    replies = per_case - 2
    expected: dict[int, list[str]] = {}
    made = 0
    for i in range(cases):
        if made + 2 > operations:
            break
        user = _USERS[i % len(_USERS)]
        case = support.submit("acme", user, f"Outage case {i}", f"Opened during the outage {i}")
        expected[case.id] = [f"Opened during the outage {i}"]
        made += 1
        for r in range(replies):
            if made + 1 >= operations:
                break
            body = f"Reply {r} to case {i}"
            support.reply("acme", case.id, user, body)
            expected[case.id].append(body)
            made += 1
        support.close("acme", case.id, user)
        made += 1
    return expected


def _order_kept(zd: SandboxProcess, engine: SyncEngine, expected: dict[int, list[str]]) -> tuple[int, int]:
    """(cases whose ticket has the console's messages in order and is closed, cases checked).

    Read from the sandbox's state (a control endpoint, never rate-limited), so the check costs the
    drained account nothing.
    """
    state = zd.state()
    statuses = {int(t["id"]): t["status"] for t in state["tickets"]}
    comments = {int(k): [c["body"] for c in v] for k, v in state["comments"].items()}
    kept = 0
    with engine.store.read() as tx:
        tickets = {case_id: tx.ticket_of(case_id) for case_id in expected}
    for case_id, bodies in expected.items():
        ticket_id = tickets[case_id]
        if ticket_id is None:
            continue
        seen = [body for body in comments.get(ticket_id, []) if body in bodies]
        if seen == bodies and statuses.get(ticket_id) == "closed":
            kept += 1
    return kept, len(expected)


def run(operations: int, cases: int, rpm: int) -> dict[str, Any]:
    configure_logging("json", "WARNING")
    with tempfile.TemporaryDirectory() as tmp, SandboxProcess(rate_limits=True, requests_per_minute=rpm) as zd:
        settings = Settings(
            zendesk_url=zd.url, zendesk_email=zd.agent_email, zendesk_token=zd.agent_token,
            database_url=f"sqlite:///{Path(tmp) / 'drain.db'}", default_assignee_email=zd.agent_email,
        )
        log = _RequestLog()
        engine = SyncEngine(settings, metrics=log)
        support = SupportCases(store=engine.store)
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "ann", "ann@acme.test", "Ann", admin=True)
        for user in _USERS:
            support.upsert_user("acme", user, f"{user}@acme.test", user.title())
        warm = support.submit("acme", "bob", "warm-up", "before the outage")
        support.close("acme", warm.id, "carol")
        while engine.outbox.run_once().pending:
            pass  # users, organization and identities are known before the outage

        expected = _queue_backlog(support, operations, cases)
        queued = engine.store.counts().outbox_pending
        log.offset_s = _fresh_minute(zd)
        before_requests = int(zd.stats()["total"])
        since = time.time() + log.offset_s
        started = time.monotonic()
        while True:
            report = engine.outbox.run_once()
            if report.pending == 0:
                break
            if report.dead_letters:
                raise SystemExit(f"{report.dead_letters} entries were dead-lettered: the run is not valid")
        elapsed = time.monotonic() - started
        made = int(zd.stats()["total"]) - before_requests
        answers = [(at, status) for at, status in log.answers if at >= since]
        errors_429 = sum(1 for _at, status in answers if status == "429")
        windows = _per_window(answers, since)
        kept, checked = _order_kept(zd, engine, expected)
        engine.close()
    rate = made / elapsed * 60
    # The last window is where the backlog ran out: the rate is judged on the windows before it, when there
    # was more work than the limit allowed (a single window is judged as it is).
    judged = windows[:-1] if len(windows) > 1 else windows
    achieved = sum(judged) / (len(judged) * rpm) if judged else 0.0
    return {
        "benchmark": "drain", "operations": sum(len(b) + 1 for b in expected.values()), "cases": len(expected),
        "queued_entries": queued, "rpm": rpm, "seconds": round(elapsed, 2), "requests": made,
        "requests_per_minute": round(rate, 1), "requests_per_window": windows,
        "achieved_to_limit": round(achieved, 3),
        "errors_429": errors_429, "errors_429_share": round(errors_429 / made, 4) if made else 0.0,
        "order_kept_cases": kept, "order_checked_cases": checked, "order_kept": kept == checked,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=5000)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--rpm", type=int, default=700)
    args = parser.parse_args(argv)
    result = run(args.operations, args.cases, args.rpm)
    print(f"{result['operations']} console operations over {result['cases']} cases drained in "
          f"{result['seconds']:.1f} s: {result['requests']} requests, per minute window "
          f"{result['requests_per_window']} against a limit of {result['rpm']}/min: "
          f"achieved {result['achieved_to_limit']:.3f} of the limit while work remained")
    print(f"429s: {result['errors_429']} ({result['errors_429_share']:.2%} of requests); per-case order kept in "
          f"{result['order_kept_cases']}/{result['order_checked_cases']} cases")
    print("RESULT " + json.dumps(result))
    return 0 if result["order_kept"] else 1


if __name__ == "__main__":
    sys.exit(main())
