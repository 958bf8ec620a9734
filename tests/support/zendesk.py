"""What the sandbox tests share: a support agent acting in Zendesk, a movable clock, a console wired to a sandbox.

Import as ``from tests.support.zendesk import …`` (``tests`` is a package; pytest puts the project root on
``sys.path``).

* :class:`Staff` works through the sandbox's ordinary Zendesk API with an agent's credentials (Basic auth
  ``email/token:TOKEN``), as a person in Zendesk would.
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
from functools import cached_property
from pathlib import Path
from typing import Any, Self

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
    """A wall clock that tests can move forward (backoffs become due without waiting)."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(datetime.now(UTC).timestamp() + self.offset_s, UTC)

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


class Staff:
    """A support agent working in Zendesk through its API (Basic auth ``email/token:…``)."""

    def __init__(self, zd: Sandbox, email: str = "sam@support.test", name: str = "Sam Agent") -> None:
        self.email, token = zd.create_agent(email, name)
        self.zd = zd
        self.url = zd.url
        self.http = requests.Session()
        self.http.auth = (f"{self.email}/token", token)

    @cached_property
    def id(self) -> int:
        """The agent's Zendesk user id (asked once, from ``users/me``)."""
        return int(self.get("users/me")["user"]["id"])

    # -- raw API -------------------------------------------------------------------------------------

    def _ok(self, response: requests.Response) -> dict[str, Any]:
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def _api(self, path: str) -> str:
        return f"{self.url}/api/v2/{path}.json"

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """``GET /api/v2/{path}.json`` with query ``params``."""
        return self._ok(self.http.get(self._api(path), params=params, timeout=10))

    def put(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._ok(self.http.put(self._api(path), json=body, timeout=10))

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._ok(self.http.post(self._api(path), json=body, timeout=10))

    # -- tickets ---------------------------------------------------------------------------------------

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return dict(self.get(f"tickets/{ticket_id}")["ticket"])

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        return list(self.get(f"tickets/{ticket_id}/comments")["comments"])

    def create_ticket(self, **fields: Any) -> dict[str, Any]:
        return dict(self.post("tickets", {"ticket": fields})["ticket"])

    def update(self, ticket_id: int, **fields: Any) -> dict[str, Any]:
        if fields.get("status") in ("solved", "closed") and "assignee_id" not in fields:
            fields.setdefault("assignee_email", self.email)  # Zendesk solves only assigned tickets
        return self.put(f"tickets/{ticket_id}", {"ticket": fields})

    def add_membership(self, user_id: int, organization_id: int) -> None:
        """Make the user a member of the organization (nothing when it already is one)."""
        held = self.get(f"users/{user_id}/organization_memberships")["organization_memberships"]
        if organization_id not in {m["organization_id"] for m in held}:
            self.post("organization_memberships",
                      {"organization_membership": {"user_id": user_id, "organization_id": organization_id}})

    def move_to_organization(self, ticket_id: int, organization_id: int, **fields: Any) -> dict[str, Any]:
        """Move a ticket to an organization as Zendesk allows it: a ticket's organization must be one of its
        requester's (OAS ``TicketUpdateInput.organization_id``), so the requester is made a member first."""
        self.add_membership(int(self.ticket(ticket_id)["requester_id"]), organization_id)
        return self.update(ticket_id, organization_id=organization_id, **fields)

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
            self._api("uploads"), params={"filename": filename}, data=data,
            headers={"Content-Type": "application/octet-stream"}, timeout=10,
        )
        return str(self._ok(response)["upload"]["token"])

    def make_private(self, ticket_id: int, comment_id: int) -> None:
        self.put(f"tickets/{ticket_id}/comments/{comment_id}/make_private")

    def merge(self, target: int, sources: list[int]) -> None:
        """Merge and wait for the merge job, as staff watching the agent workspace do."""
        job = self.post(f"tickets/{target}/merge", {"ids": sources})["job_status"]
        self.wait_job(str(job["id"]))

    def wait_job(self, job_id: str) -> dict[str, Any]:
        """Poll a background job to its end, moving Zendesk's clock on a second between polls."""
        for _ in range(60):
            job: dict[str, Any] = self.get(f"job_statuses/{job_id}")["job_status"]
            if job["status"] in ("completed", "failed"):
                return job
            self.zd.advance_clock(1.0)
        raise AssertionError(f"job {job_id} did not finish")

    def delete(self, ticket_id: int) -> None:
        self._ok(self.http.delete(self._api(f"tickets/{ticket_id}"), timeout=10))

    # -- CCs -----------------------------------------------------------------------------------------

    def add_cc(self, ticket_id: int, *emails: str) -> None:
        self.update(ticket_id, email_ccs=[{"user_email": e, "action": "put"} for e in emails])

    def remove_cc(self, ticket_id: int, email: str) -> None:
        self.update(ticket_id, email_ccs=[{"user_email": email, "action": "delete"}])

    def cc_emails(self, ticket_id: int) -> set[str]:
        ids = self.ticket(ticket_id)["email_cc_ids"]
        if not ids:
            return set()
        users = self.get("users/show_many", ids=",".join(map(str, ids)))["users"]
        return {u["email"] for u in users}

    # -- the sandbox's own routes ----------------------------------------------------------------------

    def email_reply(self, ticket_id: int, sender: str, body: str) -> dict[str, Any]:
        """An end user's email reply to the ticket's notification."""
        response = self.http.post(
            f"{self.url}/__sandbox/tickets/{ticket_id}/email_reply", json={"from": sender, "body": body}, timeout=10
        )
        return dict(self._ok(response)["ticket"])

    def tickets(self) -> list[dict[str, Any]]:
        """Every ticket in the sandbox, read from its state dump."""
        state = requests.get(f"{self.url}/__sandbox/state", timeout=10).json()
        found = state.get("tickets", [])
        return list(found.values()) if isinstance(found, dict) else list(found)


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
        self.staff = Staff(zd, *staff)

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
