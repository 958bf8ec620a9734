"""A console wired to a Zendesk sandbox, with a support agent, for the consistency tests.

Staff work through the ordinary Zendesk API with an agent's credentials.  ``World.stats()`` reads the
sandbox's request counts, so tests can assert how many requests a change cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from sync.consistency import Reconciler
from sync.report import SyncReport
from sync.sandbox import Sandbox
from tests.support.zendesk import Console, Staff, no_sleep, sandbox, zd

__all__ = ["Staff", "World", "delta", "sandbox", "zd"]


class World(Console):
    """One console (store + SupportCases), its workers, and the sandbox with a staff member (Sam)."""

    deliver_rounds = 50

    def __init__(self, zd: Sandbox, db_path: Path) -> None:
        super().__init__(zd, db_path, public_url="https://casesync.example.test")

    def reconciler(self, **kw: Any) -> Reconciler:
        kw.setdefault("grace_s", 0)
        return Reconciler(self.store, self.gateway, self.settings, sleep=no_sleep, **kw)

    def step(self) -> SyncReport:
        """Move Zendesk's clock on first, then deliver, drain the inbox and poll."""
        self.tick()
        return self.outbox.run_once().merge(self.inbox.run_once()).merge(self.poller.run_once())

    def stats(self) -> dict[str, int]:
        body = requests.get(f"{self.zd.url}/__sandbox/stats", timeout=10).json()
        return {"total": int(body["total"]), **{k: int(v) for k, v in body["requests"].items()}}


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Requests made between two ``World.stats()`` readings, by route (zero counts left out)."""
    out = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    return {k: v for k, v in out.items() if v}


@pytest.fixture
def world(zd: Sandbox, tmp_path: Path) -> Iterator[World]:
    with World(zd, tmp_path / "console.db") as w:
        w.populate(alice="Alice Admin")
        yield w
