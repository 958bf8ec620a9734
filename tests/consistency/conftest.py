"""A console wired to a Zendesk sandbox, with a support agent, for the consistency tests.

Staff work through the ordinary Zendesk API with an agent's credentials.  ``World.stats()`` reads the
sandbox's request counts, so tests can assert how many requests a change cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from sync.api import SupportCases
from sync.consistency import Reconciler
from sync.gateway import ZendeskGateway
from sync.inbound import InboundPoller, InboxWorker, TicketApplier
from sync.outbound import OutboxWorker
from sync.report import SyncReport
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store, open_store

__all__ = ["Staff", "World"]


def _now() -> datetime:
    return datetime.now(UTC)


def _no_sleep(_: float) -> None:
    return None


class Staff:
    """A support agent working in Zendesk through its API."""

    def __init__(self, zd: Sandbox, email: str = "sam@support.test", name: str = "Sam Agent") -> None:
        self.email, token = zd.create_agent(email, name)
        self.base = zd.url
        self.http = requests.Session()
        self.http.auth = (f"{self.email}/token", token)

    def _ok(self, response: requests.Response) -> dict[str, Any]:
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def update(self, ticket_id: int, **fields: Any) -> dict[str, Any]:
        if fields.get("status") in ("solved", "closed"):
            fields.setdefault("assignee_email", self.email)
        return self._ok(self.http.put(f"{self.base}/api/v2/tickets/{ticket_id}.json", json={"ticket": fields}))

    def reply(self, ticket_id: int, body: str, *, public: bool = True, status: str | None = None) -> int:
        fields: dict[str, Any] = {"comment": {"body": body, "public": public}}
        if status:
            fields["status"] = status
        audit = self.update(ticket_id, **fields)["audit"]
        return int(next(e["id"] for e in audit["events"] if e["type"] == "Comment"))

    def status(self, ticket_id: int, status: str) -> None:
        self.update(ticket_id, status=status)

    def add_cc(self, ticket_id: int, *emails: str) -> None:
        self.update(ticket_id, email_ccs=[{"user_email": e, "action": "put"} for e in emails])

    def remove_cc(self, ticket_id: int, email: str) -> None:
        self.update(ticket_id, email_ccs=[{"user_email": email, "action": "delete"}])

    def merge(self, target: int, sources: list[int]) -> None:
        self._ok(self.http.post(f"{self.base}/api/v2/tickets/{target}/merge.json", json={"ids": sources}))

    def delete(self, ticket_id: int) -> None:
        self._ok(self.http.delete(f"{self.base}/api/v2/tickets/{ticket_id}.json"))

    def make_private(self, ticket_id: int, comment_id: int) -> None:
        self._ok(self.http.put(f"{self.base}/api/v2/tickets/{ticket_id}/comments/{comment_id}/make_private.json"))

    def email_reply(self, ticket_id: int, sender: str, body: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.base}/__sandbox/tickets/{ticket_id}/email_reply", json={"from": sender, "body": body}
        )
        return dict(self._ok(response)["ticket"])

    def create_ticket(self, **fields: Any) -> dict[str, Any]:
        return dict(self._ok(self.http.post(f"{self.base}/api/v2/tickets.json", json={"ticket": fields}))["ticket"])

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return dict(self._ok(self.http.get(f"{self.base}/api/v2/tickets/{ticket_id}.json"))["ticket"])

    def cc_emails(self, ticket_id: int) -> set[str]:
        ids = self.ticket(ticket_id)["email_cc_ids"]
        if not ids:
            return set()
        users = self._ok(self.http.get(f"{self.base}/api/v2/users/show_many.json",
                                       params={"ids": ",".join(map(str, ids))}))["users"]
        return {u["email"] for u in users}


class World:
    """One console (store + SupportCases), its workers, and the sandbox with a staff member."""

    def __init__(self, zd: Sandbox, db_path: Path) -> None:
        self.zd = zd
        self.settings = Settings(
            zendesk_url=zd.url,
            zendesk_email=zd.agent_email,
            zendesk_token=zd.agent_token,  # type: ignore[arg-type]
            database_url=f"sqlite:///{db_path}",
            default_assignee_email=zd.agent_email,
            public_url="https://casesync.example.test",
        )
        self.store: Store = open_store(self.settings.database_url)
        self.gateway = ZendeskGateway(self.settings)
        self.api = SupportCases(self.settings, store=self.store)
        self.outbox = OutboxWorker(self.store, self.gateway, self.settings, worker_id="out", clock=_now,
                                   sleep=_no_sleep)
        self.applier = TicketApplier(self.store, self.gateway, self.settings)
        self.inbox = InboxWorker(self.store, self.gateway, self.applier, self.settings, worker_id="inbox")
        self.poller = InboundPoller(self.store, self.gateway, self.settings, owner_id="poller", applier=self.applier)
        self.staff = Staff(zd)

    def reconciler(self, **kw: Any) -> Reconciler:
        kw.setdefault("grace_s", 0)
        return Reconciler(self.store, self.gateway, self.settings, sleep=_no_sleep, **kw)

    def account(self, account_id: str, *users: tuple[str, str, str]) -> None:
        """An account with users ``(user_id, email, name)``; the first is the admin."""
        self.api.upsert_account(account_id, f"Account {account_id}")
        for i, (user_id, email, name) in enumerate(users):
            self.api.upsert_user(account_id, user_id, email, name, admin=i == 0)

    def submit(self, account_id: str, user_id: str, subject: str = "Help", body: str = "It broke",
               **kw: Any) -> tuple[int, int]:
        case = self.api.submit(account_id, user_id, subject, body, **kw)
        self.deliver()
        ticket_id = self.api.get(account_id, case.id).ticket_id
        assert ticket_id is not None
        return case.id, ticket_id

    def deliver(self) -> int:
        delivered = 0
        for _ in range(50):
            report = self.outbox.run_once()
            delivered += report.delivered
            if not report.delivered:
                break
        return delivered

    def tick(self, seconds: float = 61) -> None:
        self.zd.advance_clock(seconds)
        self.gateway.me()

    def sync(self, *, rounds: int = 12) -> SyncReport:
        """Deliver, drain the inbox and poll until nothing moves."""
        total = SyncReport()
        for _ in range(rounds):
            self.tick()
            report = self.outbox.run_once().merge(self.inbox.run_once()).merge(self.poller.run_once())
            total = total.merge(report)
            if not report.delivered and not report.inbound_applied and self.poller.caught_up:
                break
        return total

    def stats(self) -> dict[str, int]:
        body = requests.get(f"{self.zd.url}/__sandbox/stats", timeout=10).json()
        return {"total": int(body["total"]), **{k: int(v) for k, v in body["requests"].items()}}

    def case(self, account_id: str, case_id: int) -> Any:
        return self.api.get(account_id, case_id)

    def kinds(self, account_id: str | None = None) -> list[str]:
        return [c.kind.value for c in self.api.changes(account_id=account_id)]

    def close(self) -> None:
        self.store.close()


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """Requests made between two ``World.stats()`` readings, by route (zero counts left out)."""
    out = {k: after.get(k, 0) - before.get(k, 0) for k in set(before) | set(after)}
    return {k: v for k, v in out.items() if v}


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limits=False) as zd:
        yield zd


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.reset()
    w = World(sandbox, tmp_path / "console.db")
    w.account("acme", ("alice", "alice@acme.test", "Alice Admin"), ("carol", "carol@acme.test", "Carol Jones"))
    w.account("globex", ("gus", "gus@globex.test", "Gus Grant"))
    w.deliver()
    try:
        yield w
    finally:
        w.close()
