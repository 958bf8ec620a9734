"""A world to try casesync in: a console synced with a Zendesk sandbox by one :class:`~sync.SyncEngine`, and
a support agent working in Zendesk.

The demo plays the support process in it; tests build their scenarios on it.  Zendesk's incremental export
leaves out its most recent minute, so :meth:`World.sync` moves the sandbox's clock past it instead of
waiting, and :meth:`World.check` compares the store with Zendesk through the invariant checker.
"""

from __future__ import annotations

from typing import Any, Self

from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.report import SyncReport
from sync.sandbox import Sandbox
from sync.sandbox.staff import Staff
from sync.settings import Settings
from sync.store import Store
from sync.testing.invariants import Report, check

__all__ = ["World"]


class World:
    """A console (:attr:`support`, on :attr:`engine`'s store) synced with the sandbox ``zd``, and :attr:`staff`.

    ``database_url``: the store (e.g. ``sqlite:///…`` in a temporary directory); ``staff``: the ``(email,
    name)`` of the agent created in the sandbox; ``settings``: further :class:`~sync.settings.Settings`
    fields.  The engine polls on every pass (``poll_interval_s=0``).  A context manager: leaving it closes
    the engine.
    """

    def __init__(
        self, zd: Sandbox, database_url: str, *, staff: tuple[str, str] = ("sam@support.test", "Sam Agent"),
        **settings: Any,
    ) -> None:
        self.zd = zd
        self.settings = Settings(
            zendesk_url=zd.url, zendesk_email=zd.agent_email, zendesk_token=zd.agent_token,
            database_url=database_url, default_assignee_email=zd.agent_email,
            **{"poll_interval_s": 0, **settings},
        )
        self.engine = SyncEngine(self.settings)
        self.support = SupportCases(store=self.engine.store)
        self.staff = Staff.create(zd, *staff)

    @property
    def store(self) -> Store:
        return self.engine.store

    def sync(self, rounds: int = 5, *, until_idle: bool = True) -> SyncReport:
        """Up to ``rounds`` engine passes, each after moving Zendesk's clock past the export's excluded minute.

        ``until_idle``: stop after a pass that delivered and applied nothing and left nothing pending;
        otherwise run every round (for scenarios that count on a number of polls).
        """
        total = SyncReport()
        for _ in range(rounds):
            self.zd.advance_clock(61)
            report = self.engine.run_once()
            total = total.merge(report)
            if until_idle and not (report.delivered or report.inbound_applied) and report.pending == 0:
                break
        return total

    def state(self) -> dict[str, Any]:
        """The sandbox's whole state (``GET /__sandbox/state``), as the invariant checker reads it."""
        state: dict[str, Any] = self.staff.http.get(f"{self.zd.url}/__sandbox/state", timeout=10).json()
        return state

    def check(self, **options: Any) -> Report:
        """The invariant checker's report on the store against Zendesk's state now (``options`` as for
        :func:`sync.testing.invariants.check`)."""
        return check(self.store, self.state(), **options)

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
