"""Fixtures for outbound sync: a sandbox over real HTTP, a fresh SQLite store, the API and the worker.

:class:`~tests.support.zendesk.Staff` (an agent in Zendesk) and :class:`~tests.support.zendesk.Clock` (a wall
clock tests move forward) come from ``tests/support/zendesk.py``; the test modules import them from here.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.api import SupportCases
from sync.gateway import GatewaySession, ZendeskGateway
from sync.outbound import OutboxWorker
from sync.report import SyncReport
from sync.retry import Pacer, RetryPolicy
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store, open_store
from tests.support.zendesk import Clock, Staff, sandbox, zd

__all__ = ["Clock", "Drain", "Staff", "make_gateway", "sandbox", "ticket_of_case", "zd"]


def ticket_of_case(store: Store, case_id: int) -> int:
    """The Zendesk ticket linked to ``case_id``; fails the test when there is none."""
    with store.read() as tx:
        ticket = tx.ticket_of(case_id)
    assert ticket is not None, f"case {case_id} has no ticket"
    return ticket


@pytest.fixture
def staff(zd: Sandbox) -> Staff:
    return Staff.create(zd, "agent@sandbox.test")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    st = open_store(f"sqlite:///{tmp_path / 'casesync.db'}", clock=clock)
    yield st
    st.close()


@pytest.fixture
def settings(zd: Sandbox, tmp_path: Path) -> Settings:
    return Settings(
        zendesk_url=zd.url,
        zendesk_email=zd.agent_email,
        zendesk_token=zd.agent_token,
        database_url=f"sqlite:///{tmp_path / 'casesync.db'}",
        default_assignee_email=zd.agent_email,
    )


@pytest.fixture
def support(store: Store) -> SupportCases:
    return SupportCases(store=store)


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make_gateway(zd: Sandbox, sleeps: list[float], **credentials: Any) -> ZendeskGateway:
    policy = RetryPolicy(sleep=sleeps.append, random_source=lambda: 0.5, max_attempts=4, max_elapsed_s=None)
    session = GatewaySession(pacer=Pacer(sleep=sleeps.append))
    creds = credentials or {"email": zd.agent_email, "token": zd.agent_token}
    return ZendeskGateway(url=zd.url, session=session, policy=policy, **creds)


@pytest.fixture
def gateway(zd: Sandbox, sleeps: list[float]) -> ZendeskGateway:
    return make_gateway(zd, sleeps)


_ids = itertools.count(1)


@pytest.fixture
def worker(
    store: Store, gateway: ZendeskGateway, settings: Settings, clock: Clock, sleeps: list[float]
) -> OutboxWorker:
    return OutboxWorker(
        store, gateway, settings, worker_id=f"w{next(_ids)}", clock=clock, sleep=sleeps.append, rng=random.Random(7)
    )


Drain = Callable[..., SyncReport]


@pytest.fixture
def drain(worker: OutboxWorker, clock: Clock) -> Drain:
    """Run the worker until nothing is pending, moving the clock past every backoff."""

    def run(max_rounds: int = 60, w: OutboxWorker | None = None) -> SyncReport:
        total = SyncReport()
        for _ in range(max_rounds):
            report = (w or worker).run_once()
            total = total.merge(report)
            if report.pending == 0:
                return total
            clock.advance(400)
        raise AssertionError(f"outbox did not drain: {total}")

    return run


@pytest.fixture
def account(support: SupportCases) -> str:
    support.upsert_account("acme", "Acme Corp")
    support.upsert_user("acme", "ann", "ann@acme.test", "Ann Admin", admin=True)
    support.upsert_user("acme", "bob", "bob@acme.test", "Bob User")
    support.add_recipient("acme", "ops@acme.test")
    return "acme"
