"""What the sandbox tests share: a support agent acting in Zendesk, a movable clock, a console wired to a sandbox.

Import as ``from tests.support.zendesk import …`` (``tests`` is a package; pytest puts the project root on
``sys.path``).

* :class:`Staff` (``sync.sandbox.staff``, shared with the demo and the benchmarks) works through the
  sandbox's ordinary Zendesk API with an agent's credentials (Basic auth ``email/token:TOKEN``), as a person
  in Zendesk would.
* :class:`Clock` is the wall clock moved forward on demand, so backoffs become due without waiting.
* :class:`Console` is one console (store + :class:`~sync.api.SupportCases`) with its outbox and inbox workers
  and poller, talking to the sandbox, plus a :class:`Staff` member.  The inbound and consistency worlds build
  on it.
* The fixtures ``sandbox`` (one per session, without rate limits) and ``zd`` (that sandbox, reset) are
  imported by the conftests that use them: each directory gets its own sandbox, as pytest registers an
  imported fixture once per conftest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import pytest

from sync.api import SupportCases
from sync.gateway import ZendeskGateway
from sync.inbound import InboundPoller, InboxWorker, TicketApplier
from sync.outbound import OutboxWorker
from sync.report import SyncReport
from sync.retry import RetryPolicy
from sync.sandbox import Sandbox
from sync.sandbox.staff import Staff
from sync.settings import Settings
from sync.store import Store, open_store

__all__ = ["Clock", "Console", "Staff", "no_sleep", "sandbox", "zd"]


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    """A sandbox over real HTTP without rate limits, for the whole session."""
    with Sandbox(rate_limits=False) as zd:
        yield zd


@pytest.fixture
def zd(sandbox: Sandbox) -> Sandbox:
    """The session's sandbox, reset: no tickets, users or faults left from an earlier test."""
    sandbox.reset()
    return sandbox


def no_sleep(_: float) -> None:
    """A ``sleep`` that returns at once: tests decide time."""
    return None


class Clock:
    """A wall clock that tests can move forward (backoffs become due without waiting).

    ``frozen``: the clock stands at its creation time until moved, for tests that compare one backoff with
    the next (real time passing between the steps of a loaded machine would blur them).
    """

    def __init__(self, *, frozen: bool = False) -> None:
        self.offset_s = 0.0
        self._frozen_at = datetime.now(UTC).timestamp() if frozen else None

    def __call__(self) -> datetime:
        base = self._frozen_at if self._frozen_at is not None else datetime.now(UTC).timestamp()
        return datetime.fromtimestamp(base + self.offset_s, UTC)

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


class Console:
    """One console (store + SupportCases), its workers, and the sandbox with a staff member.

    ``staff`` is the agent's ``(email, name)``; ``settings`` are extra :class:`~sync.settings.Settings`
    fields; ``policy`` is the gateway's retry policy; ``sleep`` is the outbox worker's, which reads
    :attr:`clock` (a :class:`Clock`); by default it moves Zendesk's clock on instead of waiting, so a bulk
    job the worker waits for runs as it would while a real worker slept.  A context manager: leaving it
    closes the store.
    """

    #: The most outbox rounds :meth:`deliver` runs.
    deliver_rounds = 20

    def __init__(
        self,
        zd: Sandbox,
        db_path: Path,
        *,
        staff: tuple[str, str] = ("sam@support.test", "Sam Agent"),
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        per_page: int | None = None,
        **settings: Any,
    ) -> None:
        self.zd = zd
        self.settings = Settings(
            zendesk_url=zd.url,
            zendesk_email=zd.agent_email,
            zendesk_token=zd.agent_token,
            database_url=f"sqlite:///{db_path}",
            default_assignee_email=zd.agent_email,
            **settings,
        )
        self.store: Store = open_store(self.settings.database_url)
        self.gateway = ZendeskGateway(self.settings, policy=policy)
        self.api = SupportCases(self.settings, store=self.store)
        self.clock = Clock()
        def advance(seconds: float) -> None:  # a retry's wait passes on the sandbox's clock, not the wall's
            zd.advance_clock(seconds)

        self.outbox = OutboxWorker(self.store, self.gateway, self.settings, worker_id="out", clock=self.clock,
                                   sleep=sleep or advance)
        self.applier = TicketApplier(self.store, self.gateway, self.settings)
        self.inbox = InboxWorker(self.store, self.gateway, self.applier, self.settings, worker_id="inbox")
        self.poller = InboundPoller(self.store, self.gateway, self.settings, owner_id="poller",
                                    applier=self.applier, per_page=per_page)
        self.staff = Staff.create(zd, *staff)

    # -- console setup ---------------------------------------------------------------------------

    def account(self, account_id: str, *users: tuple[str, str, str]) -> None:
        """An account with users ``(user_id, email, name)``; the first is the admin."""
        self.api.upsert_account(account_id, f"Account {account_id}")
        for i, (user_id, email, name) in enumerate(users):
            self.api.upsert_user(account_id, user_id, email, name, admin=i == 0)

    def populate(self, alice: str) -> None:
        """The usual accounts, delivered: acme (admin ``alice``, named ``alice``, and carol) and globex (gus)."""
        self.account("acme", ("alice", "alice@acme.test", alice), ("carol", "carol@acme.test", "Carol Jones"))
        self.account("globex", ("gus", "gus@globex.test", "Gus Grant"))
        self.deliver()

    def submit(self, account_id: str, user_id: str, subject: str = "Help", body: str = "It broke",
               **kw: Any) -> tuple[int, int]:
        """Submit a case and deliver it; returns (case id, ticket id)."""
        case = self.api.submit(account_id, user_id, subject, body, **kw)
        self.deliver()
        ticket_id = self.api.get(account_id, case.id).ticket_id
        assert ticket_id is not None
        return case.id, ticket_id

    # -- running -----------------------------------------------------------------------------------

    def deliver(self) -> int:
        delivered = 0
        for _ in range(self.deliver_rounds):
            report = self.outbox.run_once()
            delivered += report.delivered
            if not report.delivered:
                break
        return delivered

    def tick(self, seconds: float = 61) -> None:
        """Move Zendesk's clock past the export's excluded minute (and the poll budget's window)."""
        self.zd.advance_clock(seconds)
        self.gateway.me()  # a response carries the new Date: Zendesk's clock as casesync sees it

    def poll(self) -> SyncReport:
        """Move Zendesk's clock on, then one poller pass."""
        self.tick()
        return self.poller.run_once()

    def step(self) -> SyncReport:
        """One pass of every worker: deliver, drain the inbox, poll."""
        return self.outbox.run_once().merge(self.inbox.run_once()).merge(self.poll())

    def sync(self, *, rounds: int = 12) -> SyncReport:
        """Run :meth:`step` until nothing moves (nothing delivered or applied, the poller caught up)."""
        total = SyncReport()
        for _ in range(rounds):
            report = self.step()
            total = total.merge(report)
            if not report.delivered and not report.inbound_applied and self.poller.caught_up:
                break
        return total

    # -- reading -----------------------------------------------------------------------------------

    def case(self, account_id: str, case_id: int) -> Any:
        return self.api.get(account_id, case_id)

    def kinds(self, account_id: str | None = None) -> list[str]:
        return [c.kind.value for c in self.api.changes(account_id=account_id)]

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
