"""A console and a Zendesk sandbox wired together for inbound tests, plus a support agent acting in Zendesk.

Outbound delivery (tickets, comments, CCs) goes through the real :class:`~sync.outbound.OutboxWorker`; staff
work through the ordinary Zendesk API with an agent's credentials, as a person in Zendesk would.  Exports
leave out the most recent minute, so :meth:`World.tick` moves the sandbox clock instead of sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from sync.api import SupportCases
from sync.gateway import ZendeskGateway
from sync.inbound import InboundPoller, InboxWorker, TicketApplier
from sync.outbound import OutboxWorker
from sync.report import SyncReport
from sync.retry import RetryPolicy
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store, open_store

__all__ = ["Staff", "World"]


def _now() -> datetime:
    return datetime.now(UTC)


class Staff:
    """A support agent working in Zendesk through its API (Basic auth ``email/token:…``)."""

    def __init__(self, zd: Sandbox, email: str = "bob@support.test", name: str = "Bob Builder") -> None:
        self.email, token = zd.create_agent(email, name)
        self.base = zd.url
        self.http = requests.Session()
        self.http.auth = (f"{self.email}/token", token)

    def _ok(self, response: requests.Response) -> dict[str, Any]:
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def update(self, ticket_id: int, **fields: Any) -> dict[str, Any]:
        if fields.get("status") in ("solved", "closed"):
            fields.setdefault("assignee_email", self.email)  # Zendesk solves only assigned tickets
        return self._ok(self.http.put(f"{self.base}/api/v2/tickets/{ticket_id}.json", json={"ticket": fields}))

    def reply(self, ticket_id: int, body: str, *, status: str | None = None, uploads: list[str] | None = None,
              public: bool = True) -> int:
        """A comment (public reply or internal note); returns the comment id."""
        comment: dict[str, Any] = {"body": body, "public": public}
        if uploads:
            comment["uploads"] = uploads
        fields: dict[str, Any] = {"comment": comment}
        if status:
            fields["status"] = status
        audit = self.update(ticket_id, **fields)["audit"]
        return int(next(e["id"] for e in audit["events"] if e["type"] == "Comment"))

    def note(self, ticket_id: int, body: str, *, uploads: list[str] | None = None) -> int:
        return self.reply(ticket_id, body, uploads=uploads, public=False)

    def status(self, ticket_id: int, status: str) -> None:
        self.update(ticket_id, status=status)

    def upload(self, filename: str, data: bytes) -> str:
        response = self.http.post(
            f"{self.base}/api/v2/uploads.json", params={"filename": filename}, data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        return str(self._ok(response)["upload"]["token"])

    def make_private(self, ticket_id: int, comment_id: int) -> None:
        self._ok(self.http.put(f"{self.base}/api/v2/tickets/{ticket_id}/comments/{comment_id}/make_private.json"))

    def merge(self, target: int, sources: list[int]) -> None:
        self._ok(self.http.post(f"{self.base}/api/v2/tickets/{target}/merge.json", json={"ids": sources}))

    def delete(self, ticket_id: int) -> None:
        self._ok(self.http.delete(f"{self.base}/api/v2/tickets/{ticket_id}.json"))

    def add_cc(self, ticket_id: int, email: str) -> None:
        self.update(ticket_id, email_ccs=[{"user_email": email, "action": "put"}])

    def email_reply(self, ticket_id: int, sender: str, body: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.base}/__sandbox/tickets/{ticket_id}/email_reply", json={"from": sender, "body": body}
        )
        return self._ok(response)["ticket"]

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        return list(self._ok(self.http.get(f"{self.base}/api/v2/tickets/{ticket_id}/comments.json"))["comments"])

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return dict(self._ok(self.http.get(f"{self.base}/api/v2/tickets/{ticket_id}.json"))["ticket"])


class World:
    """One console (store + SupportCases), its workers, and the sandbox with a staff member."""

    def __init__(self, zd: Sandbox, db_path: Path, *, per_page: int | None = None, **settings: Any) -> None:
        self.zd = zd
        self.settings = Settings(
            zendesk_url=zd.url,
            zendesk_email=zd.agent_email,
            zendesk_token=zd.agent_token,  # type: ignore[arg-type]
            database_url=f"sqlite:///{db_path}",
            default_assignee_email=zd.agent_email,
            **settings,
        )
        self.store: Store = open_store(self.settings.database_url)
        # Retries without real waiting: tests decide time.
        self.gateway = ZendeskGateway(self.settings, policy=RetryPolicy(sleep=lambda _s: None, max_attempts=3))
        self.api = SupportCases(self.settings, store=self.store)
        self.outbox = OutboxWorker(self.store, self.gateway, self.settings, worker_id="out", clock=_now,
                                   sleep=time.sleep)
        self.applier = TicketApplier(self.store, self.gateway, self.settings)
        self.inbox = InboxWorker(self.store, self.gateway, self.applier, self.settings, worker_id="inbox")
        self.poller = InboundPoller(self.store, self.gateway, self.settings, owner_id="poller",
                                    applier=self.applier, per_page=per_page)
        self.staff = Staff(zd)

    # -- console setup ---------------------------------------------------------------------------

    def account(self, account_id: str, *users: tuple[str, str, str]) -> None:
        """An account with users ``(user_id, email, name)``; the first is the admin."""
        self.api.upsert_account(account_id, f"Account {account_id}")
        for i, (user_id, email, name) in enumerate(users):
            self.api.upsert_user(account_id, user_id, email, name, admin=i == 0)

    def submit(self, account_id: str, user_id: str, subject: str = "Help", body: str = "It broke") -> tuple[int, int]:
        """Submit a case and deliver it; returns (case id, ticket id)."""
        case = self.api.submit(account_id, user_id, subject, body)
        self.deliver()
        ticket_id = self.api.get(account_id, case.id).ticket_id
        assert ticket_id is not None
        return case.id, ticket_id

    # -- running -----------------------------------------------------------------------------------

    def deliver(self) -> int:
        delivered = 0
        for _ in range(20):
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
        self.tick()
        return self.poller.run_once()

    def sync(self, *, rounds: int = 12) -> SyncReport:
        """Deliver, poll and drain the inbox until nothing moves."""
        total = SyncReport()
        for _ in range(rounds):
            report = self.outbox.run_once().merge(self.inbox.run_once()).merge(self.poll())
            total = total.merge(report)
            if not report.delivered and not report.inbound_applied and self.poller.caught_up:
                break
        return total

    def case(self, account_id: str, case_id: int) -> Any:
        return self.api.get(account_id, case_id)

    def kinds(self, account_id: str | None = None) -> list[str]:
        return [c.kind.value for c in self.api.changes(account_id=account_id)]

    def close(self) -> None:
        self.store.close()


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limits=False) as zd:
        yield zd


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.reset()
    w = World(sandbox, tmp_path / "console.db")
    w.account("acme", ("alice", "alice@acme.test", "Alice Liddell"), ("carol", "carol@acme.test", "Carol Jones"))
    w.account("globex", ("gus", "gus@globex.test", "Gus Grant"))
    w.deliver()
    try:
        yield w
    finally:
        w.close()
