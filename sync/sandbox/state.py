"""In-memory state of one sandbox account.

Records are plain dicts (the JSON they render to is built by :mod:`sync.sandbox.render`); everything is
mutated under :attr:`State.lock`, one lock for the whole account, which keeps the rules simple and is
fast enough (see ``benchmarks/sandbox_throughput.py``).
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock

__all__ = ["Config", "Record", "State"]

Record = dict[str, Any]


@dataclass
class Config:
    """Tuning knobs of a sandbox (constructor kwargs of :class:`sync.sandbox.Sandbox`)."""

    rate_limits: bool = True
    requests_per_minute: int = 700
    export_requests_per_minute: int = 10
    ticket_updates_per_window: int = 30
    ticket_update_window_s: int = 600
    auto_close_hours: float = 96.0
    upload_ttl_s: int = 3600
    idempotency_ttl_s: int = 7200
    agent_email: str = "admin@sandbox.test"
    agent_token: str = "sandbox"
    agent_name: str = "Sandbox Admin"
    account_id: int = 1000001
    webhook_retries: int = 4
    webhook_timeout_s: float = 5.0
    max_email_ccs: int = 48
    max_comments: int = 5000
    #: Sandbox seconds from a job's acceptance to its completion (it starts halfway): see ``job_runner``.
    job_delay_s: float = 2.0


@dataclass
class State:
    """Every record of the emulated account, keyed by id."""

    config: Config
    clock: Clock
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[int, Record] = field(default_factory=dict)
    identities: dict[int, Record] = field(default_factory=dict)
    organizations: dict[int, Record] = field(default_factory=dict)
    memberships: dict[int, Record] = field(default_factory=dict)
    tickets: dict[int, Record] = field(default_factory=dict)
    comments: dict[int, list[Record]] = field(default_factory=dict)
    audits: dict[int, list[Record]] = field(default_factory=dict)
    audit_log: list[Record] = field(default_factory=list)
    uploads: dict[str, Record] = field(default_factory=dict)
    attachments: dict[int, Record] = field(default_factory=dict)
    attachment_by_token: dict[str, int] = field(default_factory=dict)
    ticket_fields: dict[int, Record] = field(default_factory=dict)
    custom_statuses: dict[int, Record] = field(default_factory=dict)  # seeded by custom_statuses.py
    idempotency: dict[str, Record] = field(default_factory=dict)
    jobs: dict[str, Record] = field(default_factory=dict)
    webhooks: dict[str, Record] = field(default_factory=dict)
    oauth_clients: dict[int, Record] = field(default_factory=dict)
    oauth_tokens: dict[str, Record] = field(default_factory=dict)
    emails: list[Record] = field(default_factory=list)
    #: Suspended tickets by id (``sync.sandbox.suspended``).
    suspended: dict[int, Record] = field(default_factory=dict)
    solved: set[int] = field(default_factory=set)
    settings: Record = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    total_requests: int = 0
    admin_id: int = 0
    on_event: Callable[[str, Record, dict[str, Any], int | None], None] | None = None
    _ids: dict[str, itertools.count[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything but the configuration, then create the admin agent again."""
        with self.lock:
            for name in (
                "users", "identities", "organizations", "memberships", "tickets", "comments", "audits",
                "uploads", "attachments", "attachment_by_token", "ticket_fields", "custom_statuses", "idempotency",
                "jobs", "webhooks", "oauth_clients", "oauth_tokens", "stats", "suspended",
            ):
                getattr(self, name).clear()
            self.audit_log.clear()
            self.emails.clear()
            self.solved.clear()
            self.total_requests = 0
            # Distinct id ranges per kind: a client that caches by id (zenpy does) can never mix up
            # a ticket and a user that happen to share a number.
            self._ids = {
                "ticket": itertools.count(1),
                "user": itertools.count(10_001),
                "identity": itertools.count(20_001),
                "organization": itertools.count(30_001),
                "membership": itertools.count(40_001),
                "field": itertools.count(50_001),
                "event": itertools.count(1_000_000_001),
                "attachment": itertools.count(5_000_000_001),
                "oauth": itertools.count(60_001),
            }
            self.settings = {
                "tickets": {
                    "collaboration": True,
                    "follower_and_email_cc_collaborations": True,
                    "comments_public_by_default": True,
                    "email_comments_public_by_default": True,
                    "agent_ticket_deletion": True,
                },
                "active_features": {"email_ccs": True, "followers": True},
            }
            now = self.clock.now()
            admin: Record = {
                "id": self.next_id("user"),
                "name": self.config.agent_name,
                "email": self.config.agent_email.lower(),
                "role": "admin",
                "external_id": None,
                "organization_id": None,
                "verified": True,
                "created_at": now,
                "updated_at": now,
                "tags": [],
                "active": True,
                "suspended": False,
                "phone": None,
                "user_fields": {},
                "notes": None,
                "details": None,
            }
            self.users[admin["id"]] = admin
            self.admin_id = admin["id"]
            self.add_identity(admin, admin["email"], verified=True, primary=True)

    def next_id(self, kind: str) -> int:
        """Next id of a record kind."""
        return next(self._ids[kind])

    @staticmethod
    def token(n: int = 18) -> str:
        """Random url-safe token (upload tokens, secrets, job ids)."""
        return secrets.token_urlsafe(n).replace("-", "x").replace("_", "y")

    # ----- users -------------------------------------------------------------------------------

    def add_identity(self, user: Record, email: str, *, verified: bool, primary: bool) -> Record:
        """Attach an email identity to ``user``; the user's ``email`` follows the primary one."""
        now = self.clock.now()
        ident: Record = {
            "id": self.next_id("identity"),
            "user_id": user["id"],
            "type": "email",
            "value": email.lower(),
            "verified": verified,
            "primary": primary,
            "created_at": now,
            "updated_at": now,
        }
        if primary:
            for other in self.identities.values():
                if other["user_id"] == user["id"]:
                    other["primary"] = False
            user["email"] = ident["value"]
        self.identities[ident["id"]] = ident
        return ident

    def user_by_email(self, email: str | None) -> Record | None:
        """The user owning an email identity (case-insensitive), primary or not."""
        if not email:
            return None
        wanted = email.strip().lower()
        for ident in self.identities.values():
            if ident["type"] == "email" and ident["value"] == wanted:
                return self.users.get(ident["user_id"])
        return None

    def user_by_external_id(self, external_id: str | None) -> Record | None:
        """The user with an external id (Zendesk compares them case-insensitively)."""
        if external_id is None:
            return None
        wanted = str(external_id).lower()
        for user in self.users.values():
            if user["external_id"] is not None and str(user["external_id"]).lower() == wanted:
                return user
        return None

    def new_user(self, name: str | None, email: str | None, *, role: str = "end-user",
                 external_id: str | None = None, verified: bool = False) -> Record:
        """Create a user (and its primary email identity when an email is given)."""
        now = self.clock.now()
        user: Record = {
            "id": self.next_id("user"),
            "name": name or (email.split("@")[0] if email else "Unknown"),
            "email": None,
            "role": role,
            "external_id": external_id,
            "organization_id": None,
            "verified": verified,
            "created_at": now,
            "updated_at": now,
            "tags": [],
            "active": True,
            "suspended": False,
            "phone": None,
            "user_fields": {},
            "notes": None,
            "details": None,
        }
        self.users[user["id"]] = user
        if email:
            self.add_identity(user, email, verified=verified, primary=True)
        return user

    def is_staff(self, user: Record | None) -> bool:
        """Agents and admins."""
        return user is not None and user["role"] in ("agent", "admin")
