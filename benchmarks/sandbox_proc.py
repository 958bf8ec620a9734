"""A sandbox in its own process, counting the faults it injects (``python -m benchmarks.sandbox_proc``).

The chaos run and the benchmarks talk to Zendesk over real HTTP across processes, as casesync does in
production.  This entry point adds one control endpoint, ``GET /__sandbox/fault_counts``, because the
sandbox itself only records the fault *rules*, not how often each one fired.
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import threading
from typing import Any

from sync.sandbox import Sandbox

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Serve until SIGTERM; print ``READY <url> <agent_email> <agent_token>`` once listening."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--rate-limits", action="store_true", help="keep Zendesk's 700/min limit on")
    ap.add_argument("--requests-per-minute", type=int, default=700)
    args = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sb = Sandbox(rate_limits=args.rate_limits, port=args.port, requests_per_minute=args.requests_per_minute)
    counts: collections.Counter[str] = collections.Counter()
    spoiled: list[Any] = []
    decide = sb.faults.decide

    def counting(method: str, path: str) -> Any:
        d = decide(method, path)
        if d.reset:
            counts["reset"] += 1
        elif d.status is not None:
            counts[str(d.status)] += 1
        elif d.drop_after_commit:
            counts["drop_after_commit"] += 1
        if d.latency_ms:
            counts["latency"] += 1
        if d.truncate or d.drift:
            spoiled.append(d)  # counted once answered: a 404 or a 401 is left alone
        return d

    sb.faults.decide = counting  # type: ignore[method-assign]

    def fault_counts(st: Any, ctx: Any, _: dict[str, str]) -> Any:
        from sync.sandbox.routing import Resp

        hooks = sb.webhook_deliveries()
        ids = [d["body"].get("id") for d in hooks]
        out = dict(counts)
        out["webhook_duplicate"] = len(ids) - len(set(ids))
        for kind in ("truncate", "drift"):
            if n := sum(1 for d in spoiled if getattr(d, kind)):
                out[kind] = n
        return Resp(200, {"counts": out})

    sb.app.control.add("GET", "/__sandbox/fault_counts", fault_counts)
    sb.start()
    print(f"READY {sb.url} {sb.agent_email} {sb.agent_token}", flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        sb.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
