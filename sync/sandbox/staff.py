"""A support agent in the sandbox's Zendesk, working through Zendesk's ordinary API.

The other side of the sync, shared by the tests, the benchmarks, the demo and anyone trying casesync by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import Any, ParamSpec, TypeVar

import requests

from .sandbox import Sandbox

__all__ = ["TRANSIENT_STATUSES", "Staff", "StaffRequestFailed"]

P = ParamSpec("P")
T = TypeVar("T")

#: The statuses a person meets by clicking again: rate limited, or Zendesk failing for a moment.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503})


class StaffRequestFailed(AssertionError):
    """Zendesk refused a staff request (an expectation of the scenario that did not hold)."""


class Staff:
    """A support agent working in Zendesk through its ordinary API (Basic auth ``email/token:…``), as a person
    in the agent workspace would: the other side of the sync for tests, benchmarks, the demo and the Support page.

    A request Zendesk refuses raises :class:`StaffRequestFailed` with Zendesk's answer; :meth:`tolerant` and
    :meth:`call` turn that into None, for workloads where a refusal is part of the game (a closed ticket).

    ``retries``: how many times a request is sent again after a transient fault (a status of
    :data:`TRANSIENT_STATUSES`, a reset connection, an answer cut short), as a person clicks again; 0 for
    tests, where a fault is a finding.  ``advance_clock`` moves Zendesk's clock while :meth:`wait_job` waits;
    ``sleep`` is the pause between two tries.  :meth:`create` makes a new agent in an in-process sandbox.
    """

    def __init__(
        self,
        url: str,
        email: str,
        token: str,
        *,
        advance_clock: Callable[[float], object] | None = None,
        retries: int = 0,
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self.email = email
        self.http = requests.Session()
        self.http.auth = (f"{email}/token", token)
        self.retries = retries
        self.timeout_s = timeout_s
        self.failures = 0
        self._advance_clock = advance_clock
        self._sleep = sleep

    @classmethod
    def create(cls, zd: Sandbox, email: str = "sam@support.test", name: str = "Sam Agent", **options: Any) -> Staff:
        """A new agent ``name`` in the sandbox ``zd``, signed in (``options`` as for the constructor)."""
        email, token = zd.create_agent(email, name)
        return cls(zd.url, email, token, advance_clock=zd.advance_clock, **options)

    @cached_property
    def id(self) -> int:
        """The agent's Zendesk user id (asked once, from ``users/me``)."""
        return int(self.get("users/me")["user"]["id"])

    # -- raw API -------------------------------------------------------------------------------------

    def _ok(self, response: requests.Response) -> dict[str, Any]:
        if response.status_code >= 300:
            request = f"{response.request.method} {response.url}"
            raise StaffRequestFailed(f"{request}: {response.status_code} {response.text}")
        return response.json() if response.content else {}

    def _api(self, path: str) -> str:
        return f"{self.url}/api/v2/{path}.json"

    def send(self, method: str, url: str, *, retries: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """One request to ``url`` (``kwargs`` as for :meth:`requests.Session.request`) and Zendesk's JSON
        answer, sent again up to ``retries`` times (default: the constructor's) after a transient fault."""
        left = self.retries if retries is None else retries
        for attempt in range(left + 1):
            last = attempt == left
            try:
                response = self.http.request(method, url, timeout=self.timeout_s, **kwargs)
            except requests.RequestException:
                if last:
                    raise
                self._sleep(0.05 * (attempt + 1))
                continue
            if response.status_code in TRANSIENT_STATUSES and not last:
                self._sleep(min(float(response.headers.get("Retry-After") or 0.05), 1.0))
                continue
            try:
                return self._ok(response)
            except ValueError:  # an answer cut short on the way: look again, as a person reloads the page
                if last:
                    raise
                self._sleep(0.05)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def tolerant(self, request: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
        """``request(*args, **kwargs)``, or None when Zendesk refused it or kept failing (counted in
        :attr:`failures`): a person who gives up on a click that did not work and goes on."""
        try:
            return request(*args, **kwargs)
        except (StaffRequestFailed, requests.RequestException, ValueError):
            self.failures += 1
            return None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, retries: int | None = None) -> Any:
        """The JSON answer of ``/api/v2/{path}`` (the path as given, a query string included), or None when
        Zendesk refused the request or kept failing (see :meth:`tolerant`).  Typed ``Any``, as the JSON of a
        workload that reads whichever field it needs: the strict methods above return ``dict``."""
        return self.tolerant(self.send, method, f"{self.url}/api/v2/{path}", json=body, retries=retries)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """``GET /api/v2/{path}.json`` with query ``params``."""
        return self.send("GET", self._api(path), params=params)

    def put(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.send("PUT", self._api(path), json=body)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.send("POST", self._api(path), json=body)

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
        """Upload a file; returns the token a comment's ``uploads`` takes."""
        return str(self.attach(filename, data)["token"])

    def attach(self, filename: str, data: bytes) -> dict[str, Any]:
        """Upload a file; returns Zendesk's ``upload`` object (its token and its attachment)."""
        answer = self.send("POST", self._api("uploads"), params={"filename": filename}, data=data,
                           headers={"Content-Type": "application/octet-stream"})
        return dict(answer["upload"])

    def redact(self, ticket_id: int, comment_id: int, text: str) -> None:
        """Redact ``text`` from a comment (Zendesk's comment redaction)."""
        self.put(f"tickets/{ticket_id}/comments/{comment_id}/redact", {"text": text})

    def email_of(self, user_id: int) -> str:
        return str(self.get(f"users/{user_id}")["user"]["email"])

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
            if self._advance_clock is not None:
                self._advance_clock(1.0)
            else:
                self._sleep(1.0)
        raise AssertionError(f"job {job_id} did not finish")

    def delete(self, ticket_id: int) -> None:
        self.send("DELETE", self._api(f"tickets/{ticket_id}"))

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
        answer = self.send("POST", f"{self.url}/__sandbox/tickets/{ticket_id}/email_reply",
                           json={"from": sender, "body": body})
        return dict(answer["ticket"])

    def tickets(self) -> list[dict[str, Any]]:
        """Every ticket in the sandbox, read from its state dump."""
        state = requests.get(f"{self.url}/__sandbox/state", timeout=10).json()
        found = state.get("tickets", [])
        return list(found.values()) if isinstance(found, dict) else list(found)
