"""Console calls raced from several threads, each with a store of its own (its own connections)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from mappings.models import Case
from sync.api import SupportCases
from sync.store import open_store

__all__ = ["race"]


def race(store_url: str, clock: Any, call: Callable[[SupportCases], Case]) -> list[Case]:
    """``call`` in eight threads released together, each with its own store: every answer (none may fail)."""
    stores = [open_store(store_url, clock=clock) for _ in range(8)]
    results: list[Case] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(stores))

    def run(support: SupportCases) -> None:
        start.wait()
        try:
            results.append(call(support))
        except BaseException as exc:  # collected: a failure in a thread must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(SupportCases(store=s),)) for s in stores]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for s in stores:
            s.close()
    assert errors == []
    assert len(results) == 8
    return results
