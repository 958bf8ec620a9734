"""``run_forever``'s inbox loop: a stored hint is applied at once, whatever the delivery loop is doing, and the
hints survive a stop (the inbox is durable; a wake-up is only a hint)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mappings.models import ChangeKind
from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.hints import WebhookHint
from sync.report import SyncReport
from sync.sandbox import Sandbox
from sync.sandbox.staff import Staff
from sync.settings import Settings
from tests.support.zendesk import sandbox, zd

__all__ = ["sandbox", "zd"]


@pytest.fixture
def engine(zd: Sandbox, tmp_path: Path) -> Iterator[SyncEngine]:
    settings = Settings(
        zendesk_url=zd.url,
        zendesk_email=zd.agent_email,
        zendesk_token=zd.agent_token,
        database_url=f"sqlite:///{tmp_path / 'casesync.db'}",
        default_assignee_email=zd.agent_email,
        poll_interval_s=3600,  # the poller stays out of the way: only the hint can bring the reply
    )
    engine = SyncEngine(settings)
    yield engine
    engine.close()


def _linked_case(engine: SyncEngine) -> tuple[SupportCases, int, int]:
    support = SupportCases(store=engine.store)
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "bob", "bob@acme.test", "Bob")
    case = support.submit("acme", "bob", "Printer", "It jams")
    engine.outbox.run_once()
    ticket_id = support.get("acme", case.id).ticket_id
    assert ticket_id is not None
    return support, case.id, ticket_id


def _hold(run_once: Callable[..., SyncReport]) -> tuple[Callable[..., SyncReport], threading.Event, threading.Event]:
    """``run_once`` that blocks on its first call until released (a long drain of the outbox)."""
    entered, release = threading.Event(), threading.Event()

    def held(**kw: Any) -> SyncReport:
        entered.set()
        release.wait(60)
        return run_once(**kw)

    return held, entered, release


@pytest.mark.timeout(120)
def test_a_stored_hint_reaches_the_feed_while_the_delivery_loop_is_busy(zd: Sandbox, engine: SyncEngine) -> None:
    support, case_id, ticket_id = _linked_case(engine)
    Staff.create(zd).reply(ticket_id, "Try the other tray")
    seq = max((c.seq for c in support.changes()), default=0)
    engine.outbox.run_once, entered, release = _hold(engine.outbox.run_once)  # type: ignore[method-assign]
    stop = threading.Event()
    loop = threading.Thread(target=engine.run_forever, args=(stop,))
    loop.start()
    try:
        assert entered.wait(60)
        assert engine.webhook_sink(WebhookHint(ticket_id=ticket_id, event_id="e-1"))
        new = support.changes(seq, wait=60)
        assert [c.kind for c in new] == [ChangeKind.STAFF_MESSAGE]
        assert not release.is_set()  # the delivery loop was still in its outbox pass
    finally:
        release.set()
        stop.set()
        loop.join(60)
    assert [m.body for m in support.get("acme", case_id).messages][-1] == "Try the other tray"


@pytest.mark.timeout(120)
def test_hints_stored_while_the_engine_is_stopped_are_applied_when_it_starts(zd: Sandbox, engine: SyncEngine) -> None:
    support, _case, ticket_id = _linked_case(engine)
    Staff.create(zd).reply(ticket_id, "Try the other tray")
    seq = max((c.seq for c in support.changes()), default=0)
    assert engine.webhook_sink(WebhookHint(ticket_id=ticket_id, event_id="e-1"))  # nobody running: no wake-up
    stop = threading.Event()
    loop = threading.Thread(target=engine.run_forever, args=(stop,))
    loop.start()
    try:
        new = support.changes(seq, wait=60)
        assert [c.kind for c in new] == [ChangeKind.STAFF_MESSAGE]
    finally:
        stop.set()
        loop.join(60)
    assert engine.store.counts().inbox_pending == 0
