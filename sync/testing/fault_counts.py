"""How often each fault fired: the sandbox records only the fault *rules*; the chaos run reports the faults
it actually met.

:func:`count_faults` wraps a sandbox's fault decisions to count them and adds the control endpoint
``GET /__sandbox/fault_counts`` that reports the counts (and the webhook deliveries sent twice).
"""

from __future__ import annotations

import collections
from typing import Any

from sync.sandbox import Sandbox
from sync.sandbox.routing import Resp

__all__ = ["count_faults"]


def count_faults(sb: Sandbox) -> None:
    """Count every fault ``sb`` injects from now on; serve the counts at ``GET /__sandbox/fault_counts``."""
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
        hooks = sb.webhook_deliveries()
        ids = [d["body"].get("id") for d in hooks]
        out = dict(counts)
        out["webhook_duplicate"] = len(ids) - len(set(ids))
        for kind in ("truncate", "drift"):
            if n := sum(1 for d in spoiled if getattr(d, kind)):
                out[kind] = n
        return Resp(200, {"counts": out})

    sb.app.control.add("GET", "/__sandbox/fault_counts", fault_counts)
