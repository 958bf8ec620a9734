"""Entry point of the child processes of the scale-out tests and the benchmarks
(``python sync/testing/proc_main.py <mode> …``, started by :class:`sync.testing.processes.ChildProcess`).

Modes:

* ``sandbox RATE_LIMITS TUNING_JSON`` — the Zendesk sandbox on a free port, counting the faults it injects
  (:func:`sync.testing.fault_counts.count_faults`); prints ``ready URL AGENT_EMAIL AGENT_TOKEN`` once it
  listens, serves until SIGTERM.
* ``engine DB_URL ZENDESK_URL WORKER_ID LEASE_S BATCH`` — a :class:`~sync.SyncEngine` loop, as one replica
  of ``casesync serve`` on its own machine.  Prints ``ready`` once built, waits for a ``go`` line on stdin
  (so that start-up time stays out of measurements), runs until SIGTERM, then prints ``done {json}`` with
  the HTTP statuses it received.
* ``outbox …`` — the same arguments and protocol, running only the outbox worker's loop (for benchmarks:
  no inbox pass and no polls, whose cost does not depend on the number of workers).
* ``hold DB_URL OWNER`` — takes the poller lock (retrying), prints ``held``, keeps it until stdin closes
  or says ``release``.
* ``race DB_URL OWNER SECONDS HOLD_S`` — for SECONDS, keeps trying the poller lock; each time it gets it,
  prints ``acquired T`` and ``released T`` (wall-clock times taken inside the held interval) around a hold
  of HOLD_S; prints ``miss N`` every 10 failed attempts and ``end`` at the end.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from sync.metrics import Metrics

__all__ = ["CountingMetrics", "main"]


class CountingMetrics(Metrics):
    """Metrics that also count HTTP statuses, to report 429s and 5xx per process."""

    def __init__(self) -> None:
        super().__init__()
        self.statuses: Counter[str] = Counter()
        self._guard = threading.Lock()

    def observe_request(self, endpoint: str, status: int | str | None, seconds: float) -> None:
        super().observe_request(endpoint, status, seconds)
        with self._guard:
            self.statuses["network_error" if status is None else str(status)] += 1


def _outbox(db_url: str, zendesk_url: str, worker_id: str, lease_s: str, batch: str) -> None:
    _engine(db_url, zendesk_url, worker_id, lease_s, batch, outbox_only=True)


def _engine(
    db_url: str, zendesk_url: str, worker_id: str, lease_s: str, batch: str, *, outbox_only: bool = False
) -> None:
    from sync import SyncEngine
    from sync.settings import Settings

    settings = Settings(
        zendesk_url=zendesk_url,
        zendesk_email="admin@sandbox.test",
        zendesk_token="sandbox",
        default_assignee_email="admin@sandbox.test",
        database_url=db_url,
        lease_s=float(lease_s),
        outbox_batch_size=int(batch),
        outbox_max_backoff_s=1.0,
        poll_interval_s=1.0,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    metrics = CountingMetrics()
    engine = SyncEngine(settings, worker_id=worker_id, metrics=metrics)
    engine.store.counts()  # connect and check the schema before saying ready
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        pass
    elif outbox_only:
        # The outbox alone (what the benchmark measures): no inbox pass, no polls.
        while not stop.is_set():
            if not engine.outbox.run_once(stop=stop.is_set).delivered:
                stop.wait(0.02)
    else:
        engine.run_forever(stop)
    engine.close()
    print("done " + json.dumps({"worker_id": worker_id, "statuses": dict(metrics.statuses)}), flush=True)


def _sandbox(rate_limits: str, tuning: str) -> None:
    from sync.sandbox import Sandbox
    from sync.testing.fault_counts import count_faults

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sb = Sandbox(rate_limits=rate_limits == "true", **json.loads(tuning))
    count_faults(sb)
    sb.start()
    print(f"ready {sb.url} {sb.agent_email} {sb.agent_token}", flush=True)
    try:
        stop.wait()
    finally:
        sb.stop()


def _store(db_url: str) -> Any:
    from sync.store import open_store

    store = open_store(db_url)
    store.counts()
    return store


def _hold(db_url: str, owner: str) -> None:
    store = _store(db_url)
    while not store.try_lock("poller", owner, 30.0):
        time.sleep(0.02)
    print("held", flush=True)
    for line in sys.stdin:
        if line.strip() == "release":
            break
    store.unlock("poller", owner)
    print("released", flush=True)
    store.close()


def _race(db_url: str, owner: str, seconds: str, hold_s: str) -> None:
    store = _store(db_url)
    print("ready", flush=True)
    misses = 0
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        if store.try_lock("poller", owner, 30.0):
            print(f"acquired {time.time():.6f}", flush=True)
            time.sleep(float(hold_s))  # the work done while holding the role
            print(f"released {time.time():.6f}", flush=True)
            store.unlock("poller", owner)
        else:
            misses += 1
            if misses % 10 == 0:
                print(f"miss {misses}", flush=True)
        time.sleep(0.005)
    print("end", flush=True)
    store.close()


def main(argv: list[str]) -> None:
    modes: dict[str, Callable[..., None]] = {
        "engine": _engine, "outbox": _outbox, "hold": _hold, "race": _race, "sandbox": _sandbox,
    }
    modes[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
