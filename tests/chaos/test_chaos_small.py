"""A small chaos run for CI: the whole scenario (faults, SIGKILLed worker, staff actions), zero violations.

The full run (1,000 cases, 5,000 messages) is ``python -m benchmarks.chaos``; see docs/benchmarks.md.
"""

from __future__ import annotations

import pytest

from benchmarks.chaos import run_chaos


@pytest.mark.timeout(300)
def test_small_chaos_run_keeps_every_invariant() -> None:
    result = run_chaos(cases=30, messages=150, kills=2, seed=7, timeout_s=60, settle_s=150)
    details = "\n".join(f"[{v.invariant}] {v.kind}: {v.detail}" for v in result.report.violations)
    assert not result.report.violations, f"{result.line}\n{details}"
    assert result.kills == 2
    assert result.cases >= 30 and result.messages >= 150
    assert sum(result.faults.values()) > 0, "no fault was injected"
    assert result.report.checked["messages"] >= 150
    assert not result.notes
