"""Fixtures for running casesync as an operator would: a sandbox over real HTTP, a store, a wired engine.

``engine_for`` builds a :class:`~sync.engine.SyncEngine` against a Zendesk URL (the sandbox, or a proxy in
front of it) with a clock and a monotonic time the test moves, and no real sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.metrics import Metrics
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store, open_store
from tests.support.zendesk import Clock, no_sleep, sandbox, zd

__all__ = ["Monotonic", "sandbox", "zd"]


class Monotonic:
    """A monotonic clock that only moves when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    st = open_store(f"sqlite:///{tmp_path / 'casesync.db'}", clock=clock)
    yield st
    st.close()


@pytest.fixture
def support(store: Store) -> SupportCases:
    return SupportCases(store=store)


EngineFor = Callable[..., SyncEngine]


@pytest.fixture
def engine_for(zd: Sandbox, store: Store, clock: Clock, monotonic: Monotonic, tmp_path: Path) -> EngineFor:
    token = zd.agent_token  # what casesync was configured with, whatever the sandbox rotates to later

    def build(url: str | None = None, **kwargs: object) -> SyncEngine:
        settings = Settings(
            zendesk_url=url or zd.url,
            zendesk_email=zd.agent_email,
            zendesk_token=token,
            database_url=f"sqlite:///{tmp_path / 'casesync.db'}",
            default_assignee_email=zd.agent_email,
            poll_interval_s=0,
            request_timeout_s=2.0,
        )
        return SyncEngine(
            settings, store=store, metrics=Metrics(), clock=clock, sleep=no_sleep, monotonic=monotonic,
            **kwargs,  # type: ignore[arg-type]
        )

    return build
