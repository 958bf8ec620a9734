"""The chaos run's harder faults, each switched on by a flag of :mod:`benchmarks.chaos`.

* :class:`TokenRefusal` — an admin rotates the account's API token (``POST /__sandbox/api_token``): every
  request casesync sends is refused with Zendesk's 401 until the token in force is the old one again.  Staff
  go on working with the new token meanwhile.  casesync must pause its connection, hand every refused entry
  back untouched (nothing dead-lettered) and resume by itself once the token is accepted again.
* :class:`DatabaseRestart` — PostgreSQL "restarted" under the workers: every backend of the run's own
  database is terminated (``pg_terminate_backend``) and new connections are refused
  (``ALTER DATABASE … ALLOW_CONNECTIONS false``) for a while, then allowed again.  Only that database is
  touched, so other users of the same server see nothing.
* :class:`WebhookFlood` — thousands of signed deliveries sent straight to the worker's receiver from a second
  thread: distinct events about managed tickets, duplicates of them, and forgeries (signed with another
  secret, or carrying the signature of another body) about the same tickets.  Every distinct valid event
  must be in the inbox once, and no forged one at all.
* :func:`with_spoiled_answers` — 200 answers whose JSON is cut short or has drifted from the schema (the
  sandbox's ``truncate`` and ``drift`` fault rules).  A cut answer is no answer and is retried; a drifted
  one that casesync cannot map (an unknown status, a required field missing) dead-letters that change with
  its reason, as docs/design.md §3 wants, and the run then plays the operator: it replays those dead
  letters once the faults are lifted, and everything must arrive.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from sync.sandbox.staff import Staff
from sync.testing.processes import SandboxProcess

__all__ = ["DatabaseRestart", "TokenRefusal", "WebhookFlood", "with_spoiled_answers"]



def with_spoiled_answers(faults: dict[str, Any], rate: float = 0.01) -> dict[str, Any]:
    """``faults`` with 200 answers spoiled too: any answer's JSON cut short (``truncate``) at ``rate``, and
    a read's body drifted from the schema (``drift``: an unknown status value, a field missing, fields
    added) at ``rate``.  Each rule is split in a GET rule and one for the other methods, the other
    faults' rates unchanged (the first matching rule decides)."""
    rules: list[dict[str, Any]] = []
    for rule in faults.get("rules") or []:
        if rule.get("method"):
            rules.append({**rule, "truncate": rate, **({"drift": rate} if rule["method"] == "GET" else {})})
            continue
        rules.append({**rule, "method": "GET", "truncate": rate, "drift": rate})
        rules.append({**rule, "truncate": rate})
    return {**faults, "rules": rules}


@dataclass
class TokenRefusal:
    """The API token refused for ``seconds`` (see the module docstring); ``refused`` counts the windows."""

    zd: SandboxProcess
    agent: Staff
    seconds: float
    refused: int = 0
    until: float | None = None
    _original: Any = None

    def start(self) -> None:
        new = str(self.zd.control("POST", "api_token", {"token": f"rotated-{random.getrandbits(64):016x}"})["token"])
        self._original = self.agent.http.auth
        self.agent.http.auth = (self._original[0], new)  # staff use the token in force
        self.until = time.monotonic() + self.seconds
        self.refused += 1

    def tick(self) -> None:
        """End the window once its time is up."""
        if self.until is not None and time.monotonic() >= self.until:
            self.stop()

    def stop(self) -> None:
        if self.until is None:
            return
        self.zd.control("POST", "api_token", {"token": None})  # the token casesync holds is accepted again
        self.agent.http.auth = self._original
        self.until = None


@dataclass
class DatabaseRestart:
    """Terminate every backend of database ``name`` and refuse connections for ``seconds``."""

    admin_url: str
    name: str
    seconds: float
    restarts: int = 0
    terminated: int = 0

    @contextlib.contextmanager
    def _admin(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            yield conn

    def run(self) -> None:
        """One restart: connections refused, backends gone, a wait, connections allowed again."""
        with self._admin() as admin:
            admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS false')
            try:
                rows = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (self.name,),
                ).fetchall()
                self.terminated += sum(1 for (ok,) in rows if ok)
                self.restarts += 1
                time.sleep(self.seconds)
            finally:
                admin.execute(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS true')


def _sign(secret: str, timestamp: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()).decode()


@dataclass
class WebhookFlood:
    """Send ``deliveries`` signed deliveries to ``url`` from a thread (see the module docstring).

    Of every 10: 3 distinct valid events, 4 duplicates of earlier ones, 3 forgeries.  ``accepted`` holds the
    valid events the receiver answered 202 at least once, ``forged`` every forged one, for the checker.
    """

    url: str
    secret: str
    tickets: list[int]
    deliveries: int
    seed: int = 1
    sent: int = 0
    #: Deliveries sent again after no answer or a 503.
    retried: int = 0
    answers: dict[int, int] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    forged: set[str] = field(default_factory=set)
    _thread: threading.Thread | None = None

    def _event(self, ticket_id: int, event_id: str, at: str) -> bytes:
        return json.dumps({
            "type": "zen:event-type:ticket.comment_added", "id": event_id, "time": at,
            "subject": f"zen:ticket:{ticket_id}", "detail": {"id": str(ticket_id)},
        }, separators=(",", ":")).encode()

    def _run(self) -> None:
        rng = random.Random(self.seed)
        http = requests.Session()
        originals: list[tuple[str, bytes, str, str]] = []
        for k in range(self.deliveries):
            at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            ticket = rng.choice(self.tickets)
            slot = k % 10
            if slot < 3 or not originals:
                event_id = f"flood-{self.seed}-{k:06d}"
                body = self._event(ticket, event_id, at)
                originals.append((event_id, body, at, _sign(self.secret, at, body)))
                request = originals[-1]
            elif slot < 7:
                request = rng.choice(originals[-50:])  # at least once: a redelivery, soon after
            else:
                event_id = f"forged-{self.seed}-{k:06d}"
                body = self._event(ticket, event_id, at)
                self.forged.add(event_id)
                other = originals[-1][1]
                signature = _sign("not-the-secret", at, body) if slot < 9 else _sign(self.secret, at, other)
                request = (event_id, body, at, signature)
            event_id, body, at, signature = request
            status = self._send(http, body, at, signature)
            self.answers[status] = self.answers.get(status, 0) + 1
            if status == 202 and event_id.startswith("flood-"):
                self.accepted.add(event_id)
            self.sent += 1
        http.close()

    def _send(self, http: requests.Session, body: bytes, at: str, signature: str) -> int:
        """POST one delivery; the last answer's status, 0 when no receiver answered.  As Zendesk does
        (zendesk-api-notes.md §10: timeouts and 503s are retried), a delivery that got no answer (a receiver
        SIGKILLed and starting again) or a 503 (its store unreachable) is sent again, for up to 30 seconds."""
        status = 0
        for _ in range(150):
            try:
                status = http.post(self.url, data=body, timeout=30, headers={
                    "Content-Type": "application/json", "X-Zendesk-Webhook-Signature": signature,
                    "X-Zendesk-Webhook-Signature-Timestamp": at}).status_code
            except requests.RequestException:
                status = 0
            if status not in (0, 503):
                return status
            self.retried += 1
            time.sleep(0.2)
        return status

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="webhook-flood", daemon=True)
        self._thread.start()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

