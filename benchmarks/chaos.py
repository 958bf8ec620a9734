"""The chaos run: a console workload and staff actions under injected faults, with the worker SIGKILLed.

    .venv/bin/python -m benchmarks.chaos [--cases 1000] [--messages 5000] [--kills 5] [--seed 1] [--rpm 2500]
                                         [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Three processes: the Zendesk sandbox (faults on), a casesync worker (engine loop + webhook receiver, killed
with SIGKILL ``--kills`` times and restarted), and this driver, which plays the console through
``SupportCases`` on the same store and the staff through Zendesk's API.  Once the workload is done the
faults are lifted, the worker drains, and :mod:`sync.testing.invariants` compares the store with Zendesk's
state.  Prints one summary line; exits 1 when any invariant was violated.

With ``--database-url postgresql://…`` (an admin connection) a fresh database is created for the run and
dropped afterwards; the default is a temporary SQLite file.

The sandbox announces ``--rpm`` requests per minute in ``X-Rate-Limit`` and casesync paces itself to stay
under it, as it must against Zendesk.  The default, 2,500, is Zendesk's High Volume API add-on (the account
limit of Enterprise Plus, or of Growth and above with the add-on); with the 700 of an Enterprise plan the full
workload does not fit in the default ``--timeout``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from sync.api import SupportCases
from sync.sandbox.staff import Staff
from sync.store import Store, open_store
from sync.testing.invariants import Report, blocked_entries, check
from sync.testing.processes import SandboxProcess, free_port

from .chaos_faults import DatabaseRestart, TokenRefusal, WebhookFlood, with_spoiled_answers
from .harness import WorkerProcess
from .workload import EVENT_TYPES, STAFF_RETRIES, Workload, account_of_address, is_hand_added

__all__ = ["DEFAULT_RPM", "FAULTS", "ChaosResult", "HardFaults", "database", "main", "run_chaos", "settle", "webhook"]

#: Requests per minute the sandbox announces: Zendesk's High Volume API add-on.
DEFAULT_RPM = 2500

#: Every kind of fault the sandbox can inject, at rates that leave most requests alone.
FAULTS: dict[str, Any] = {
    "rules": [
        {"path": r"^/api/v2/tickets/[0-9]+/comments", "error_429": 0.02, "error_500": 0.01, "error_503": 0.01,
         "reset": 0.01, "latency_ms": 15},
        {"path": r"^/api/v2/", "error_429": 0.015, "error_500": 0.01, "error_503": 0.01, "reset": 0.01,
         "drop_after_commit": 0.02},
    ],
    "webhooks": {"duplicate": 0.2, "reorder": True},
}


@dataclass(frozen=True)
class HardFaults:
    """The harder faults (:mod:`benchmarks.chaos_faults`), each off unless set.

    ``token_refused_s``: the API token refused that long, from 30% of the workload; ``pg_restart_s``: on
    PostgreSQL, the run's database "restarted" at half the workload, refusing connections that long;
    ``spoiled``: 200 answers cut short or drifted from the schema at this rate (0.01 is 1%);
    ``flood``: that many signed webhook deliveries (valid, duplicated, forged) from 40% of the workload.
    """

    token_refused_s: float = 0.0
    pg_restart_s: float = 0.0
    spoiled: float = 0.0
    flood: int = 0

    @property
    def any(self) -> bool:
        return bool(self.token_refused_s or self.pg_restart_s or self.spoiled or self.flood)


@dataclass
class ChaosResult:
    """What happened and what the checker found."""

    ops: dict[str, int]
    faults: dict[str, int]
    kills: int
    report: Report
    seconds: float
    cases: int = 0
    messages: int = 0
    workers: int = 1
    rpm: int = DEFAULT_RPM
    notes: list[str] = field(default_factory=list)
    #: What the harder faults did (empty when none was on): e.g. ``token_refused_s``, ``pg_restarts``.
    hard: dict[str, Any] = field(default_factory=dict)

    @property
    def line(self) -> str:
        console = self.ops.get("console", 0)
        staff = self.ops.get("staff", 0) + self.ops.get("email_reply", 0)
        faults = sum(v for k, v in self.faults.items() if k != "latency")
        return (
            f"chaos: cases={self.cases} console_messages={self.messages} operations={console + staff}"
            f" (console={console} zendesk={staff}) faults={faults}"
            f" ({', '.join(f'{k}={v}' for k, v in sorted(self.faults.items()))})"
            f" kills={self.kills} workers={self.workers} rpm={self.rpm} dead_letters={len(self.report.dead_letters)}"
            + (f" hard=({', '.join(f'{k}={v}' for k, v in sorted(self.hard.items()))})" if self.hard else "")
            + f" {self.report.summary()}"
            f" in {self.seconds:.0f}s"
        )

    def result(self) -> dict[str, Any]:
        """The run as the ``RESULT {json}`` line's object."""
        return {
            "benchmark": "chaos", "cases": self.cases, "console_messages": self.messages, "ops": self.ops,
            "faults": self.faults, "kills": self.kills, "workers": self.workers, "rpm": self.rpm,
            "dead_letters": len(self.report.dead_letters), "violations": len(self.report.violations),
            "violation_kinds": self.report.by_kind(), "checked": dict(self.report.checked), "hard": self.hard,
            "notes": self.notes, "seconds": round(self.seconds, 1),
        }


@contextlib.contextmanager
def database(url: str | None, tmp: Path) -> Iterator[str]:
    """The run's store URL: a temporary SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if not url or url.startswith("sqlite"):
        yield url or f"sqlite:///{tmp / 'chaos.db'}"
        return
    import psycopg

    name = f"casesync_chaos_{uuid.uuid4().hex[:10]}"
    admin_url = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def webhook(agent: Staff, port: int) -> str:
    """Create the signed webhook to the worker's receiver; returns its signing secret."""
    body = {"webhook": {"name": "casesync", "endpoint": f"http://127.0.0.1:{port}/webhooks/zendesk",
                        "http_method": "POST", "request_format": "json", "status": "active",
                        "subscriptions": EVENT_TYPES}}
    created = agent.call("POST", "webhooks", body, retries=9)
    secret = agent.call("GET", f"webhooks/{created['webhook']['id']}/signing_secret", retries=9)
    return str(secret["signing_secret"]["secret"])


def _backpressure(store: Store, deadline: float, *, high: int = 150, tick: Callable[[], None] = lambda: None) -> None:
    """Wait while the worker is far behind: a console does not outrun its worker by thousands of entries for
    long, and a bounded backlog keeps the run's duration proportional to its size.

    Entries held behind a dead letter (replies to a case whose ticket staff deleted) wait for an operator, not
    for the worker: they do not count, or the run would stall once enough of them piled up.  ``tick`` runs
    on every round: a fault window (a refused token) must end while the run waits, or the worker, paused by
    the fault, never catches up."""
    while time.monotonic() < deadline:
        tick()
        counts = store.counts()
        if counts.inbox_pending < 2 * high and (
            counts.outbox_pending < high or counts.outbox_pending - blocked_entries(store) < high
        ):
            return
        time.sleep(0.2)


def settle(zd: SandboxProcess, store: Store, deadline: float, *, progress: bool = False) -> bool:
    """Let the worker drain and poll past every change: True once the store stops moving."""
    stable, last = 0, None
    while time.monotonic() < deadline:
        zd.advance_clock(61)  # the export leaves out Zendesk's last minute, and this frees the export budget
        time.sleep(1.5)
        counts = store.counts()
        with store.read() as tx:
            feed = tx.changes(0, limit=None)
        mark = (counts.outbox_pending, counts.inbox_pending, counts.outbox_done, feed[-1].seq if feed else 0)
        idle = counts.outbox_pending == blocked_entries(store) and counts.inbox_pending == 0
        stable = stable + 1 if idle and mark == last else 0
        if progress:
            print(f"  settling: outbox pending/done {mark[0]}/{mark[2]}, inbox pending {mark[1]}, feed {mark[3]}",
                  file=sys.stderr)
        last = mark
        if stable >= 3:
            return True
    return False


def run_chaos(
    *, cases: int, messages: int, kills: int, seed: int = 1, database_url: str | None = None,
    timeout_s: float = 900.0, settle_s: float = 300.0, faults: dict[str, Any] | None = None,
    log_path: Path | None = None, progress: bool = False, workers: int = 2, rpm: int = DEFAULT_RPM,
    hard: HardFaults | None = None,
) -> ChaosResult:
    """Run the whole chaos scenario and check the invariants (see the module docstring).

    ``rpm``: the account's rate limit the sandbox announces (``X-Rate-Limit``), which casesync keeps under.
    ``hard``: the harder faults to add (:class:`HardFaults`); ``pg_restart_s`` needs a PostgreSQL
    ``database_url``.
    """
    hard = hard or HardFaults()
    if hard.pg_restart_s and not (database_url or "").startswith("postgresql"):
        raise ValueError("a PostgreSQL restart needs a PostgreSQL database_url")
    started = time.monotonic()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="casesync-chaos-") as tmp_name, \
            database(database_url, Path(tmp_name)) as url, \
            SandboxProcess(rate_limits=False, requests_per_minute=rpm) as zd:
        tmp = Path(tmp_name)
        store = open_store(url)
        support = SupportCases(store=store)
        agent = zd.admin(retries=STAFF_RETRIES, timeout_s=30)
        port = free_port()
        secret = webhook(agent, port)
        env = {
            "CASESYNC_ZENDESK_URL": zd.url, "CASESYNC_ZENDESK_EMAIL": zd.agent_email,
            "CASESYNC_ZENDESK_TOKEN": zd.agent_token, "CASESYNC_DATABASE_URL": url,
            "CASESYNC_DEFAULT_ASSIGNEE_EMAIL": zd.agent_email, "CASESYNC_WEBHOOK_SECRET": secret,
            "CASESYNC_POLL_INTERVAL_S": "1", "CASESYNC_OUTBOX_MAX_BACKOFF_S": "2", "CASESYNC_LEASE_S": "5",
            "CASESYNC_LOG_LEVEL": "WARNING",
        }
        workload = Workload(support, agent, cases, messages, seed=seed)
        workload.setup()
        chosen = faults if faults is not None else FAULTS
        zd.faults({"seed": seed, **(with_spoiled_answers(chosen, hard.spoiled) if hard.spoiled else chosen)})
        token = TokenRefusal(zd, agent, hard.token_refused_s)
        restart = DatabaseRestart(database_url or "", make_url(url).database or "", hard.pg_restart_s)
        flood: WebhookFlood | None = None
        log = (log_path or tmp / "worker.log").open("a")
        # Worker 0 also serves the webhook receiver.  Retries sleep (Retry-After, backoff), so a few worker
        # processes keep the run's duration proportional to its size; every one of them gets SIGKILLed.
        pool = [WorkerProcess(env, webhook_port=port if i == 0 else 0, log=log) for i in range(workers)]
        notes: list[str] = []
        hard_seen: dict[str, Any] = {}
        try:
            for w in pool:
                w.start()
            estimate = int(cases * 1.1 + messages * 1.6)
            kill_at = sorted(rng.sample(range(estimate // 10, max(estimate // 10 + kills, estimate * 8 // 10)), kills))
            step = 0
            deadline = started + timeout_s
            while not workload.done and time.monotonic() < deadline:
                token.tick()
                if hard.token_refused_s and not token.refused and step >= estimate * 3 // 10:
                    token.start()
                if hard.flood and flood is None and step >= estimate * 4 // 10 and workload.tickets:
                    flood = WebhookFlood(f"http://127.0.0.1:{port}/webhooks/zendesk", secret,
                                         sorted(workload.tickets.values()), hard.flood, seed=seed)
                    flood.start()
                if hard.pg_restart_s and not restart.restarts and step >= estimate // 2:
                    restart.run()
                if step % 100 == 0:
                    workload.refresh()
                if step % 400 == 0:
                    zd.advance_clock(61)
                if kill_at and step >= kill_at[0]:
                    kill_at.pop(0)
                    victim = pool[len(kill_at) % len(pool)]
                    victim.kill()
                    time.sleep(rng.uniform(0.05, 0.5))
                    victim.start()
                workload.step()
                step += 1
                if step % 50 == 0:
                    _backpressure(store, deadline, tick=token.tick)
            if token.refused:  # the refusal lasts its whole time, workload over or not
                time.sleep(max(0.0, (token.until or 0.0) - time.monotonic()))
                token.stop()
            if hard.pg_restart_s and not restart.restarts:
                restart.run()
            if flood is not None:
                flood.join()
            while kill_at:  # a short workload: the remaining kills happen while the worker catches up
                kill_at.pop(0)
                time.sleep(rng.uniform(0.5, 2.0))
                victim = pool[len(kill_at) % len(pool)]
                victim.kill()
                victim.start()
            faults_seen = zd.fault_counts()
            zd.faults({})
            notes += _restart_exited(pool)
            if not settle(zd, store, time.monotonic() + settle_s, progress=progress):
                notes.append("the store did not settle before the deadline")
            elif hard.spoiled and (replayed := _replay_unmappable(store)):
                # The operator's part: answers that could not be mapped were dead-lettered with their
                # reason; once Zendesk answers properly again, they are replayed and must all arrive.
                hard_seen["replayed"] = replayed
                if not settle(zd, store, time.monotonic() + settle_s, progress=progress):
                    notes.append("the store did not settle after the replay")
            elif workload.redacted:
                # A redaction whose webhook was lost to a killed receiver is caught by the next reconcile.
                zd.advance_clock(61)
                subprocess.run([sys.executable, "-m", "sync.cli", "reconcile", "--repair"], env={**os.environ, **env},
                               stdout=subprocess.DEVNULL, stderr=log, timeout=120, check=False)
                if not settle(zd, store, time.monotonic() + settle_s, progress=progress):
                    notes.append("the store did not settle after reconcile")
        finally:
            for w in pool:
                w.stop()
            log.close()
        report = check(store, zd.state(), emails=zd.control("GET", "emails")["emails"],
                       hand_added=is_hand_added, owner_of_address=account_of_address, redacted=workload.redacted,
                       status_labels=workload.custom_status_labels(),
                       forged_events=flood.forged if flood else (), accepted_events=flood.accepted if flood else ())
        store.close()
        if hard.token_refused_s:
            hard_seen["token_refused_s"] = hard.token_refused_s
        if hard.pg_restart_s:
            hard_seen.update(pg_restarts=restart.restarts, pg_backends_terminated=restart.terminated,
                             pg_refused_s=hard.pg_restart_s)
        if hard.spoiled:
            hard_seen.update(truncated=faults_seen.get("truncate", 0), drifted=faults_seen.get("drift", 0))
        if flood is not None:
            hard_seen.update(flood_sent=flood.sent, flood_forged=len(flood.forged), flood_accepted=len(flood.accepted),
                             flood_retried=flood.retried,
                             flood_answers="/".join(f"{k}:{v}" for k, v in sorted(flood.answers.items())))
        return ChaosResult(
            ops=dict(workload.ops), faults=faults_seen, kills=sum(w.kills for w in pool), report=report,
            seconds=time.monotonic() - started, cases=len(workload.cases), messages=workload.console_messages,
            notes=notes, workers=workers, rpm=rpm, hard=hard_seen,
        )


def _restart_exited(pool: list[WorkerProcess]) -> list[str]:
    """A worker that exited by itself (not killed by the run) is a finding: note it and start it again."""
    notes = []
    for i, w in enumerate(pool):
        code = w.proc.poll() if w.proc is not None else None
        if code is not None:
            notes.append(f"worker {i} exited by itself with code {code}")
            w.start()
    return notes


#: Dead-letter reasons of answers casesync could not map: a drifted body (an unknown status, a field missing).
_UNMAPPABLE = re.compile(r"unknown Zendesk ticket status|unexpected \w+ from zendesk|without a JSON object")


def _replay_unmappable(store: Store) -> int:
    """Replay every dead letter whose reason is an answer that could not be mapped; returns how many."""
    replayed = 0
    with store.read() as tx:
        letters = [d for d in tx.dead_letters() if _UNMAPPABLE.search(d.reason)]
    for letter in letters:
        if letter.queue == "outbox":
            replayed += store.replay(letter.id)
        else:
            with store.transaction() as tx:
                replayed += tx.replay_inbox(letter.id)
    return replayed


def main(argv: list[str] | None = None) -> int:
    # SIGTERM unwinds like Ctrl-C, so the ``finally`` blocks stop the sandbox and the worker.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=5000, help="console messages (submits and replies)")
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", default=None, help="sqlite:///… or a PostgreSQL admin URL")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds for the workload phase")
    ap.add_argument("--rpm", type=int, default=DEFAULT_RPM,
                    help="requests per minute the sandbox announces (Zendesk's High Volume API add-on: 2500)")
    ap.add_argument("--workers", type=int, default=3, help="worker processes (each is SIGKILLed in turn)")
    ap.add_argument("--settle", type=float, default=300.0, help="seconds allowed for the final drain")
    ap.add_argument("--worker-log", type=Path, default=None, help="append the worker's log lines to this file")
    ap.add_argument("--verbose", action="store_true", help="list every violation and the operation counts")
    hard = ap.add_argument_group("harder faults (each off by default)")
    hard.add_argument("--token-refused", type=float, default=0.0, metavar="SECONDS",
                      help="refuse casesync's API token this long, from 30%% of the workload (e.g. 60)")
    hard.add_argument("--pg-restart", type=float, default=0.0, metavar="SECONDS",
                      help="PostgreSQL only: terminate the run database's backends and refuse connections this"
                           " long, at half the workload (e.g. 15)")
    hard.add_argument("--spoiled-answers", type=float, default=0.0, metavar="RATE",
                      help="cut short, or drift from the schema, this share of 200 answers (e.g. 0.01)")
    hard.add_argument("--webhook-flood", type=int, default=0, metavar="N",
                      help="send N signed webhook deliveries, duplicates and forgeries mixed (e.g. 3000)")
    args = ap.parse_args(argv)
    result = run_chaos(cases=args.cases, messages=args.messages, kills=args.kills, seed=args.seed,
                       database_url=args.database_url, timeout_s=args.timeout, settle_s=args.settle,
                       progress=args.verbose, log_path=args.worker_log, workers=args.workers,
                       rpm=args.rpm, hard=HardFaults(token_refused_s=args.token_refused, pg_restart_s=args.pg_restart,
                                                     spoiled=args.spoiled_answers, flood=args.webhook_flood))
    if args.verbose:
        for name, n in sorted(result.ops.items()):
            print(f"  op {name}: {n}", file=sys.stderr)
        for dead in result.report.dead_letters:
            print(f"  dead letter: {dead}", file=sys.stderr)
    for v in result.report.violations[:50] if not args.verbose else result.report.violations:
        print(f"  violation [{v.invariant}] {v.kind}: {v.detail}", file=sys.stderr)
    for note in result.notes:
        print(f"  note: {note}", file=sys.stderr)
    print(result.line)
    print("RESULT " + json.dumps(result.result()))
    return 1 if result.report.violations else 0


if __name__ == "__main__":
    sys.exit(main())
