"""The soak: a modest steady workload against one worker process for a long while, and the worker's memory.

    .venv/bin/python -m benchmarks.soak [--minutes 30] [--rate 2] [--baseline-minutes 5]
                                        [--database-url postgresql://postgres@127.0.0.1:5432/postgres]

Two processes besides this driver: the Zendesk sandbox (no faults) and one casesync worker (engine loop and
webhook receiver, as ``casesync serve`` runs).  The driver plays the console and the staff with the chaos
run's workload mix (:mod:`benchmarks.workload`) at ``--rate`` operations a second, opening new cases as the
run goes on, and reads the worker's resident set size (``VmRSS`` of ``/proc/<pid>/status``) every minute.

The figure is ``rss_growth``: (RSS at the end - RSS after ``--baseline-minutes``) / RSS after the baseline.
The first minutes are left out on purpose: imports, caches and connection pools fill up once; what must not
happen is memory that keeps growing with the work done.  Goal: ``rss_growth`` <= 0.10.  Once the workload
stops, the worker drains and :mod:`sync.testing.invariants` checks the store against Zendesk.  Prints one
``RESULT {json}`` line last.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sync.api import SupportCases
from sync.store import open_store
from sync.testing.invariants import check
from sync.testing.processes import SandboxProcess, free_port

from .chaos import database, settle, webhook
from .harness import WorkerProcess
from .workload import STAFF_RETRIES, Workload, account_of_address, is_hand_added

__all__ = ["GOAL", "main", "resident_mib", "run_soak"]

#: The soak's goal: the worker's memory grows by at most a tenth between the baseline and the end.
GOAL = 0.10


def resident_mib(pid: int) -> float:
    """The resident set size of process ``pid`` in MiB (Linux ``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def run_soak(
    *, minutes: float, rate: float = 2.0, baseline_minutes: float = 5.0, seed: int = 1,
    database_url: str | None = None, progress: bool = True,
) -> dict[str, Any]:
    """Run the soak (see the module docstring) and return the RESULT's fields."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="casesync-soak-") as tmp_name, \
            database(database_url, Path(tmp_name)) as url, SandboxProcess(rate_limits=False) as zd:
        store = open_store(url)
        agent = zd.admin(retries=STAFF_RETRIES, timeout_s=30)
        port = free_port()
        env = {
            "CASESYNC_ZENDESK_URL": zd.url, "CASESYNC_ZENDESK_EMAIL": zd.agent_email,
            "CASESYNC_ZENDESK_TOKEN": zd.agent_token, "CASESYNC_DATABASE_URL": url,
            "CASESYNC_DEFAULT_ASSIGNEE_EMAIL": zd.agent_email, "CASESYNC_WEBHOOK_SECRET": webhook(agent, port),
            "CASESYNC_POLL_INTERVAL_S": "5", "CASESYNC_LOG_LEVEL": "WARNING",
        }
        # A few accounts; new cases keep coming (one every ~8 operations), so the store grows as in production.
        workload = Workload(SupportCases(store=store), agent, cases_target=20, messages_target=10**9, seed=seed)
        workload.setup()
        samples: list[tuple[float, float]] = []
        with (Path(tmp_name) / "worker.log").open("a") as log:
            worker = WorkerProcess(env, webhook_port=port, log=log)
            worker.start()
            try:
                assert worker.proc is not None
                pid = worker.proc.pid
                deadline = started + minutes * 60
                next_sample = time.monotonic()
                step = 0
                while time.monotonic() < deadline:
                    if time.monotonic() >= next_sample:
                        samples.append(((time.monotonic() - started) / 60, resident_mib(pid)))
                        next_sample += 60
                        if progress:
                            print(f"  soak: {samples[-1][0]:.1f} min, worker rss {samples[-1][1]:.1f} MiB,"
                                  f" {step} operations", file=sys.stderr, flush=True)
                    if step % 25 == 0:
                        workload.refresh()
                    if step % 100 == 0:
                        zd.advance_clock(61)  # the exports leave out Zendesk's last minute
                    if step % 8 == 0:
                        workload.cases_target += 1
                    workload.step()
                    step += 1
                    time.sleep(max(0.0, started + step / rate - time.monotonic()))
                samples.append(((time.monotonic() - started) / 60, resident_mib(pid)))
                settled = settle(zd, store, time.monotonic() + 300)
            finally:
                worker.stop()
        report = check(store, zd.state(), emails=zd.control("GET", "emails")["emails"],
                       hand_added=is_hand_added, owner_of_address=account_of_address, redacted=workload.redacted,
                       status_labels=workload.custom_status_labels())
        store.close()
    for v in report.violations:
        print(f"  violation [{v.invariant}] {v.kind}: {v.detail}", file=sys.stderr)
    baseline = next((rss for at, rss in samples if at >= baseline_minutes), samples[0][1])
    end = samples[-1][1]
    growth = (end - baseline) / baseline
    return {
        "benchmark": "soak", "minutes": round(minutes, 2), "rate_per_s": rate, "operations": step,
        "cases": len(workload.cases), "console_messages": workload.console_messages,
        "staff": workload.ops.get("staff", 0), "rss_baseline_mib": round(baseline, 1),
        "rss_end_mib": round(end, 1), "rss_growth": round(growth, 4), "goal": GOAL, "ok": growth <= GOAL,
        "settled": settled, "violations": len(report.violations), "violation_kinds": report.by_kind(),
        "dead_letters": len(report.dead_letters), "baseline_minutes": baseline_minutes,
        "rss_samples_mib": [[round(at, 1), round(rss, 1)] for at, rss in samples],
    }


def main(argv: list[str] | None = None) -> int:
    # SIGTERM unwinds like Ctrl-C, so the ``finally`` blocks stop the sandbox and the worker.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=2.0, help="operations a second (console and staff)")
    ap.add_argument("--baseline-minutes", type=float, default=5.0, help="the RSS the end is compared with")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--database-url", default=None, help="sqlite:///… or a PostgreSQL admin URL")
    args = ap.parse_args(argv)
    result = run_soak(minutes=args.minutes, rate=args.rate, baseline_minutes=args.baseline_minutes,
                      seed=args.seed, database_url=args.database_url)
    print(f"soak: {result['minutes']} min at {result['rate_per_s']}/s, {result['operations']} operations,"
          f" worker rss {result['rss_baseline_mib']} MiB after {args.baseline_minutes:g} min ->"
          f" {result['rss_end_mib']} MiB at the end: growth {result['rss_growth']:.1%} (goal <= {GOAL:.0%});"
          f" violations {result['violations']}, dead letters {result['dead_letters']}")
    print("RESULT " + json.dumps(result))
    return 0 if result["ok"] and not result["violations"] else 1


if __name__ == "__main__":
    sys.exit(main())
