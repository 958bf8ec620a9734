"""The models of the values the store's key-value table holds, one per key family of :mod:`sync.store.kv_keys`.

Each model reads its stored JSON back with ``load`` (``None`` for an absent or unreadable value: a reader
treats it as nothing stored) and writes it with ``dump``; the stored forms are those earlier releases wrote,
so a store keeps its state across an upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from mappings.zendesk import CommentEvent, StatusEvent

__all__ = [
    "CREDENTIALS_REFUSED",
    "UNREACHABLE",
    "BackfillCheckpoint",
    "Carried",
    "DeliveryState",
    "Pause",
    "ReconcileSummary",
    "TicketFacts",
]

#: The causes of a :class:`Pause` (see :mod:`sync.connection`).
CREDENTIALS_REFUSED = "credentials_refused"
UNREACHABLE = "unreachable"


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _datetime(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Pause:
    """Why and since when the connection is paused; ``detail`` is the last refusal, without secrets."""

    cause: str
    since: datetime
    detail: str

    def describe(self) -> str:
        """One line for ``/readyz``, ``casesync status`` and the logs."""
        what = "Zendesk refuses the credentials" if self.cause == CREDENTIALS_REFUSED else "Zendesk is unreachable"
        return f"zendesk connection paused: {what} (since {self.since.isoformat(timespec='seconds')}): {self.detail}"

    def to_json(self) -> dict[str, str]:
        """The stored form."""
        return {"cause": self.cause, "since": self.since.isoformat(), "detail": self.detail}

    @classmethod
    def from_json(cls, value: Any) -> Pause | None:
        """The stored form read back; ``None`` for anything else (no pause)."""
        if not isinstance(value, dict) or not isinstance(value.get("cause"), str):
            return None
        since = _datetime(value.get("since"))
        if since is None:
            return None
        return cls(cause=value["cause"], since=since, detail=str(value.get("detail") or ""))


@dataclass(frozen=True)
class DeliveryState:
    """Console webhook delivery's failure bookkeeping.

    ``failures``: consecutive failed deliveries (0 after a success); times are ISO-8601 strings.
    """

    failures: int = 0
    next_attempt_at: str | None = None
    last_error: str | None = None
    last_failure_at: str | None = None
    last_success_at: str | None = None
    delivered_total: int = 0

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or datetime.fromisoformat(self.next_attempt_at) <= now

    @classmethod
    def load(cls, value: Any) -> DeliveryState | None:
        """The stored form read back (unknown fields are left out); ``None`` for anything else."""
        if not isinstance(value, dict):
            return None
        return cls(**{k: v for k, v in value.items() if k in cls.__dataclass_fields__})

    def dump(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class TicketFacts:
    """The assignee and ``updated_at`` of the newest snapshot of a ticket seen (see :mod:`sync.ticket_facts`)."""

    assignee_id: int | None
    updated_at: datetime

    @property
    def stamp(self) -> str:
        """``updated_at`` as Zendesk writes it, for ``updated_stamp``."""
        return self.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")

    @classmethod
    def load(cls, value: Any) -> TicketFacts | None:
        if not isinstance(value, dict) or "updated_at" not in value:
            return None
        assignee = value.get("assignee_id")
        return cls(
            assignee_id=int(assignee) if isinstance(assignee, int) else None,
            updated_at=datetime.fromisoformat(str(value["updated_at"])),
        )

    def dump(self) -> dict[str, Any]:
        return {"assignee_id": self.assignee_id, "updated_at": self.updated_at.isoformat()}


@dataclass(frozen=True)
class ReconcileSummary:
    """What the last reconciler run found (``casesync status`` shows it)."""

    at: datetime
    drift: int
    repaired: int | None = None

    @classmethod
    def load(cls, value: Any) -> ReconcileSummary | None:
        if not isinstance(value, dict):
            return None
        at, drift, repaired = _datetime(value.get("at")), value.get("drift"), value.get("repaired")
        if at is None or not isinstance(drift, int | float):
            return None
        return cls(at=at, drift=int(drift), repaired=int(repaired) if isinstance(repaired, int | float) else None)

    def dump(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "drift": self.drift, "repaired": self.repaired}


@dataclass(frozen=True)
class BackfillCheckpoint:
    """Where an interrupted backfill stands: it resumes from here when run again with the same ``since``.

    ``cursor``: the ticket export's next page; ``events``: the event export's; ``pending_refs``: case id →
    source ticket not imported yet; the counts are the run's so far (see ``BackfillResult``).
    """

    since: int
    cursor: str
    events: int
    pending_refs: dict[str, int] = field(default_factory=dict)
    imported: int = 0
    already_linked: int = 0
    not_console: int = 0
    unknown_requesters: dict[str, int] = field(default_factory=dict)
    created_users: tuple[str, ...] = ()

    @classmethod
    def load(cls, value: Any) -> BackfillCheckpoint | None:
        if not isinstance(value, dict) or _int(value.get("since")) is None or not value.get("cursor"):
            return None
        since = int(value["since"])
        return cls(
            since=since,
            cursor=str(value["cursor"]),
            events=int(value.get("events") or since),
            pending_refs={str(k): int(v) for k, v in (value.get("pending_refs") or {}).items()},
            imported=int(value.get("imported") or 0),
            already_linked=int(value.get("already_linked") or 0),
            not_console=int(value.get("not_console") or 0),
            unknown_requesters=dict(value.get("unknown_requesters") or {}),
            created_users=tuple(value.get("created_users") or ()),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "since": self.since, "cursor": self.cursor, "events": self.events, "pending_refs": self.pending_refs,
            "imported": self.imported, "already_linked": self.already_linked, "not_console": self.not_console,
            "unknown_requesters": self.unknown_requesters, "created_users": list(self.created_users),
        }


@dataclass(frozen=True)
class Carried:
    """Comments of one ticket that the events cursor has passed but no applied snapshot has taken yet.

    ``start``: the events cursor when carrying began — every comment of the ticket before it was applied
    (or gap-marked).  ``seen``: the time of the ticket's latest event of any kind read so far, so that an
    audit-less change is still told apart once the cursor has passed the audits.  ``status``: the ticket's
    latest status change passed and not applied yet, so that who made it (a close by staff or by Zendesk's
    automation) is still known when its snapshot is applied.
    """

    start: int
    seen: int | None = None
    comments: tuple[CommentEvent, ...] = ()
    status: StatusEvent | None = None

    @classmethod
    def load(cls, value: Any) -> Carried | None:
        """The record stored as ``value`` (``None``, or unreadable: no record)."""
        if not isinstance(value, Mapping) or not isinstance(value.get("start"), int):
            return None
        try:
            comments = tuple(CommentEvent.model_validate(c) for c in value.get("comments") or ())
            status = StatusEvent.model_validate(value["status"]) if value.get("status") else None
        except ValidationError:
            return None
        seen = value.get("seen")
        return cls(start=value["start"], seen=seen if isinstance(seen, int) else None, comments=comments,
                   status=status)

    def dump(self) -> dict[str, Any]:
        """A JSON-compatible value for the kv."""
        out: dict[str, Any] = {
            "start": self.start, "seen": self.seen, "comments": [c.model_dump(mode="json") for c in self.comments]
        }
        if self.status is not None:
            out["status"] = self.status.model_dump(mode="json")
        return out
