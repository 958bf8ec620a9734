"""A console and a Zendesk sandbox wired together for inbound tests, plus a support agent acting in Zendesk.

Outbound delivery (tickets, comments, CCs) goes through the real :class:`~sync.outbound.OutboxWorker`; staff
work through the ordinary Zendesk API with an agent's credentials, as a person in Zendesk would.  Exports
leave out the most recent minute, so :meth:`World.tick` moves the sandbox clock instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.retry import RetryPolicy
from sync.sandbox import Sandbox
from tests.support.zendesk import Console, Staff, no_sleep, sandbox, zd

__all__ = ["Staff", "World", "sandbox", "zd"]


class World(Console):
    """One console (store + SupportCases), its workers, and the sandbox with a staff member (Bob)."""

    def __init__(self, zd: Sandbox, db_path: Path, *, per_page: int | None = None, **settings: Any) -> None:
        super().__init__(
            zd, db_path, staff=("bob@support.test", "Bob Builder"),
            # Retries without real waiting: tests decide time.
            policy=RetryPolicy(sleep=no_sleep, max_attempts=3), sleep=time.sleep, per_page=per_page, **settings,
        )


@pytest.fixture
def world(zd: Sandbox, tmp_path: Path) -> Iterator[World]:
    with World(zd, tmp_path / "console.db") as w:
        w.populate(alice="Alice Liddell")
        yield w
