"""What the invariant checker reports, and Zendesk's state as it reads it (indexed once)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AUTH", "CASE_REF", "CONSOLE_TOKEN", "NOTE_TOKEN", "STATUS", "TRANSIENT", "Report", "Violation",
    "ZendeskState", "expected_status", "is_transient_reason",
]

CONSOLE_TOKEN = re.compile(r"«c\d+»")
NOTE_TOKEN = re.compile(r"«n\d+»")
CASE_REF = re.compile(r"case #(\d+)")
#: docs/design.md §3, inbound column: Zendesk status → console status.
STATUS = {"new": "New", "open": "Open", "hold": "Open", "pending": "Pending", "solved": "Solved",
           "closed": "Closed", "deleted": "Closed"}
# Reasons that mark a transient failure: those must be retried, never dead-lettered (invariant 7).
# The HTTP status as the gateway writes it ("HTTP 503"), never a bare number: a URL such as
# /api/v2/tickets/500.json is not a server error.
TRANSIENT = re.compile(r"\bHTTP (429|5\d\d)\b|\b(timed? ?out|timeout|reset|connection|cut short)\b", re.I)
# A refused credential pauses the connection (docs/design.md §8): it never dead-letters a change.
AUTH = re.compile(r"\bHTTP 401\b|couldn't authenticate|invalid_token", re.I)


def is_transient_reason(reason: str) -> bool:
    """True when a dead letter's reason is a rate limit, a server error or a network failure."""
    return TRANSIENT.search(reason) is not None


def expected_status(zendesk_status: str) -> str | None:
    """The console status a ticket status maps to (None: unknown, a mapping error)."""
    return STATUS.get(zendesk_status)


@dataclass(frozen=True)
class Violation:
    """One broken invariant: ``kind`` (e.g. ``duplicate_ticket``), the §4 number, and what was seen."""

    kind: str
    invariant: int
    detail: str


@dataclass
class Report:
    """What the checker found."""

    violations: list[Violation] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    dead_letters: list[str] = field(default_factory=list)

    def add(self, kind: str, invariant: int, detail: str) -> None:
        self.violations.append(Violation(kind, invariant, detail))

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(v.kind for v in self.violations))

    def summary(self) -> str:
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(self.by_kind().items())) or "none"
        return f"violations={len(self.violations)} ({kinds})"


@dataclass
class ZendeskState:
    """The sandbox's state, indexed."""

    tickets: dict[int, dict[str, Any]]
    comments: dict[int, tuple[int, dict[str, Any]]]  # comment id -> (ticket id, comment)
    emails: dict[int, str]  # user id -> email (lower case)
    org_of_account: dict[str, int]
    token_comments: dict[str, list[tuple[int, int, bool]]]  # console token -> [(ticket, comment, public)]

    @classmethod
    def of(cls, state: dict[str, Any]) -> ZendeskState:
        tickets = {int(t["id"]): t for t in state["tickets"]}
        comments: dict[int, tuple[int, dict[str, Any]]] = {}
        tokens: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
        for tid, items in state["comments"].items():
            for c in items:
                comments[int(c["id"])] = (int(tid), c)
                for token in set(CONSOLE_TOKEN.findall(str(c.get("body") or ""))):
                    tokens[token].append((int(tid), int(c["id"]), bool(c["public"])))
        orgs = {str(o["external_id"]).split(":", 1)[1]: int(o["id"]) for o in state["organizations"]
                if str(o.get("external_id") or "").startswith("console-account:")}
        emails = {int(u["id"]): str(u["email"] or "").lower() for u in state["users"]}
        return cls(tickets, comments, emails, orgs, tokens)
