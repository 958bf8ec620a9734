"""Run every benchmark and print one table.

    .venv/bin/python -m benchmarks.run_all [--quick]

Each benchmark runs in its own process (so one's sandbox, threads and memory never skew another's), with a
deadline.  Scripts of this package end with a ``RESULT {json}`` line that becomes a row; other scripts in
``benchmarks/`` (sandbox throughput, recipients, reconcile, workers) are included when present, with their
last output line as the figure.  ``--quick`` uses small sizes (a smoke run, not the published figures).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# (name, command, quick command, target)
_MODULES: list[tuple[str, list[str], list[str], str]] = [
    ("outbound requests and overhead", ["-m", "benchmarks.outbound"], ["-m", "benchmarks.outbound", "--cases", "30"],
     "<= 1.05 req/op; worker <= 1.2x bare zenpy"),
    ("inbound requests per change", ["-m", "benchmarks.inbound", "requests"],
     ["-m", "benchmarks.inbound", "requests", "--tickets", "50", "--changes", "500"], "<= 0.02 per change"),
    ("inbound latency (webhooks)", ["-m", "benchmarks.inbound", "latency"],
     ["-m", "benchmarks.inbound", "latency", "--replies", "30"], "feed p95 <= 50 ms; console webhook p95 <= 100 ms"),
    ("poll cycle vs cases in store", ["-m", "benchmarks.poll_scale"],
     ["-m", "benchmarks.poll_scale", "--sizes", "1000,3000", "--changed", "20"], "flat in the number of cases"),
    ("drain after an outage at the rate limit", ["-m", "benchmarks.drain"],
     ["-m", "benchmarks.drain", "--operations", "300", "--cases", "60", "--rpm", "200"],
     ">= 0.95 of the limit, 429s <= 1%, order kept"),
    ("webhook receiver under load", ["-m", "benchmarks.webhook_load"],
     ["-m", "benchmarks.webhook_load", "--seconds", "3", "--deliveries", "500"], "0 lost, 0 forged accepted"),
    ("bulk backfill requests per ticket", ["-m", "benchmarks.backfill"],
     ["-m", "benchmarks.backfill", "--tickets", "200"], "<= 0.05 req/ticket"),
    ("console API under 16 threads", ["-m", "benchmarks.console_api"],
     ["-m", "benchmarks.console_api", "--sizes", "1000,10000", "--ops", "5"],
     "write p95 <= 3x floor; browse at 100k <= 1.5x at 1k"),
    ("soak: worker memory over 30 minutes", ["-m", "benchmarks.soak", "--minutes", "30"],
     ["-m", "benchmarks.soak", "--minutes", "2", "--baseline-minutes", "1"], "rss_growth <= 0.10, 0 violations"),
]
# Benchmarks that run longer than ``--timeout`` by design: their own deadline (seconds).
_LONG = {"benchmarks.soak": 45 * 60.0}
_SCRIPTS: list[tuple[str, str, list[str], str]] = [
    ("sandbox throughput", "sandbox_throughput.py", ["--seconds", "2"], "-"),
    ("recipient fan-out", "recipients.py", ["--tickets", "100"], "bulk, not per ticket"),
    ("reconcile", "reconcile.py", ["--cases", "1000"], "-"),
    ("throughput by workers", "workers.py", ["--cases", "8"], "grows with workers"),
]


def _figure(result: dict[str, Any]) -> str:
    kind = result.get("benchmark")
    if kind == "outbound":
        return (f"{result['requests_per_operation']:.3f} req/op (x{result['ratio_to_minimum']:.2f} of minimum);"
                f" worker {result['worker_s']:.2f}s vs zenpy {result['bare_zenpy_s']:.2f}s"
                f" = {result['worker_to_bare']:.2f}x; bookkeeping {result['bookkeeping_ms_per_operation']:.2f} ms/op")
    if kind == "inbound_requests":
        return (f"{result['bulk_per_change']:.4f} req/change bulk ({result['bulk_requests']} for"
                f" {result['changes']}); per-ticket {result['per_ticket_per_change']:.3f}")
    if kind == "inbound_latency":
        return (f"feed: median {result['median_s'] * 1000:.0f} ms, p95 {result['p95_s'] * 1000:.0f} ms"
                f" ({result['arrived']}/{result['replies']}); console webhook:"
                f" p95 {result['console_webhook_p95_s'] * 1000:.0f} ms ({result['console_webhook_arrived']})")
    if kind == "poll_scale":
        return "; ".join(f"{r['cases']}: {r['seconds']:.2f}s {r['peak_mib']:.1f}MiB" for r in result["rows"])
    if kind == "drain":
        return (f"{result['operations']} ops: {result['achieved_to_limit']:.3f} of {result['rpm']}/min,"
                f" 429s {result['errors_429']}/{result['requests']}, order kept {result['order_kept']}")
    if kind == "webhook_load":
        return (f"{result['deliveries_per_s']:.0f} deliveries/s vs bare Starlette {result['bare_per_s']:.0f}/s"
                f" = {result['ratio_to_bare']:.2f}x; lost {result['lost']},"
                f" forged accepted {result['forged_accepted']}")
    if kind == "backfill":
        return (f"{result['requests_per_ticket']:.4f} req/ticket ({result['requests']} for {result['tickets']}"
                f" tickets, {result['comment_listings']} comment listings); {result['downloads']} attachment"
                " downloads, one per public attachment")
    if kind == "console_api":
        rows = "; ".join(
            f"{r['backend']} {r['cases']}: "
            + ", ".join(f"{k} {r[k]['p95_ms']:.0f}" for k in ("floor", "submit", "reply", "browse") if k in r)
            + " ms p95"
            + "".join(f", {k} {r[k]}" for k in ("submit_p95_to_floor", "reply_p95_to_floor") if k in r)
            for r in result["rows"]
        )
        ratios = ", ".join(f"{k}={v}" for k, v in result.items() if k.endswith("_to_smallest"))
        return f"{rows}; browse largest/smallest {ratios}"
    if kind == "soak":
        return (f"worker rss {result['rss_baseline_mib']} MiB after {result['baseline_minutes']:g} min ->"
                f" {result['rss_end_mib']} MiB after {result['minutes']:g} min: rss_growth {result['rss_growth']:.3f}"
                f" ({result['operations']} ops); violations {result['violations']}")
    return json.dumps(result)


def _run(args: list[str], timeout_s: float) -> tuple[str, float]:
    started = time.monotonic()
    try:
        done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
        out = done.stdout if done.returncode == 0 else done.stdout + f"\nexit {done.returncode}: {done.stderr[-300:]}"
    except subprocess.TimeoutExpired:
        out = f"timed out after {timeout_s:.0f}s"  # subprocess.run kills the child on timeout
    return out, time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--timeout", type=float, default=1200.0, help="seconds per benchmark")
    args = ap.parse_args(argv)
    rows: list[tuple[str, str, str, str]] = []
    for name, full, quick, target in _MODULES:
        command = quick if args.quick else full
        out, seconds = _run(command, max(args.timeout, _LONG.get(command[1], 0.0)))
        results = [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
        figure = _figure(results[-1]) if results else out.strip().splitlines()[-1] if out.strip() else "no output"
        rows.append((name, figure, target, f"python {' '.join(command)} ({seconds:.0f}s)"))
        print(f"  done: {name}", file=sys.stderr, flush=True)
    for name, script, quick_args, target in _SCRIPTS:
        if not (HERE / script).exists():
            continue
        command = [f"benchmarks/{script}", *(quick_args if args.quick else [])]
        out, seconds = _run(command, args.timeout)
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        rows.append((name, " | ".join(lines[-2:]) if lines else "no output", target,
                     f"python {' '.join(command)} ({seconds:.0f}s)"))
        print(f"  done: {name}", file=sys.stderr, flush=True)
    widths = [max(len(r[i]) for r in [("benchmark", "figure", "target", "command"), *rows]) for i in range(4)]
    header = ("benchmark", "figure", "target", "command")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
