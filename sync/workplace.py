"""What an operator works from on the status page: dead letters, held entries, conflicts, recent errors,
the last hour's throughput and delivery lag, and one case's whereabouts; and the two actions on a dead
letter (replay, discard).  Read from the store alone, like :mod:`sync.status`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from sync.clock import utc_now
from sync.store import ConflictRecord, DeadLetter, OutboxEntry, Store, StoreTx, case_key

__all__ = ["CaseWhereabouts", "Minute", "Workplace", "WorkplaceView"]

#: How far back the charts look, in one-minute buckets.
WINDOW_MIN = 60
#: How many of the most recent errors the page lists.
RECENT_ERRORS = 10
_WAITING = "waiting:"


@dataclass(frozen=True)
class Minute:
    """One minute of the last hour: changes delivered to Zendesk and their mean queue-to-Zendesk delay."""

    start: datetime
    delivered: int
    mean_lag_s: float | None


@dataclass(frozen=True)
class CaseWhereabouts:
    """Where one case stands: its status and ticket, and its outbox entries (oldest first)."""

    case_id: int
    account_id: str
    status: str
    ticket_id: int | None
    entries: list[OutboxEntry]


@dataclass(frozen=True)
class WorkplaceView:
    """Everything the operator's part of the page shows, read in one snapshot."""

    dead_letters: list[DeadLetter]
    held: list[tuple[OutboxEntry, str]]
    conflicts: list[ConflictRecord]
    recent_errors: list[OutboxEntry]
    minutes: list[Minute]
    case: CaseWhereabouts | None = None
    case_missing: int | None = None
    notes: list[str] = field(default_factory=list)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)



def _delivered_since(tx: StoreTx, since: datetime) -> list[tuple[datetime, datetime]]:
    """(queued, delivered) times of the outbox entries delivered since ``since``, from the SQL table.

    The store's interface lists entries by key and status only; the charts need a time range, so it is read
    from the table the interface writes (as :mod:`sync.status` does).  A store without SQL tables has none.
    """
    conn = getattr(tx, "conn", None)
    if conn is None:
        return []
    from sqlalchemy import select

    from sync.store import schema

    outbox = schema.outbox
    rows = conn.execute(
        select(outbox.c.created_at, outbox.c.delivered_at).where(
            outbox.c.status == "done", outbox.c.delivered_at >= since
        )
    ).all()
    return [(r[0], r[1]) for r in rows if r[1] is not None]


class Workplace:
    """Reads the operator's view from ``store``; replays and discards dead letters."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.store = store
        self.clock = clock

    def view(self, *, case_id: int | None = None) -> WorkplaceView:
        """The current view; with ``case_id``, that case's whereabouts too (any account: operators see all)."""
        now = _aware(self.clock())
        with self.store.read() as tx:
            dead = tx.dead_letters()
            dead_keys = {e.ordering_key for e in tx.outbox_entries(status="dead", limit=2000)}
            pending = tx.outbox_entries(status="pending", limit=2000)
            conflicts = tx.conflicts(open_only=True)
            recent = _delivered_since(tx, now - timedelta(minutes=WINDOW_MIN))
            found = tx.case(case_id) if case_id is not None else None
            entries = tx.outbox_entries(ordering_key=case_key(case_id), limit=200) if case_id is not None else []
        held: list[tuple[OutboxEntry, str]] = []
        errors: list[OutboxEntry] = []
        for entry in pending:
            if entry.ordering_key in dead_keys:
                held.append((entry, f"behind a dead letter of {entry.ordering_key}"))
            elif entry.last_error and entry.last_error.startswith(_WAITING):
                held.append((entry, entry.last_error[len(_WAITING) :].strip()))
            elif entry.last_error:
                errors.append(entry)
        errors.sort(key=lambda e: _aware(e.next_attempt_at), reverse=True)
        case = None
        if found is not None:
            case = CaseWhereabouts(
                case_id=found.id,
                account_id=found.account_id,
                status=found.status.value,
                ticket_id=found.ticket_id,
                entries=entries,
            )
        return WorkplaceView(
            dead_letters=dead,
            held=held,
            conflicts=conflicts,
            recent_errors=errors[:RECENT_ERRORS],
            minutes=self._minutes(recent, now),
            case=case,
            case_missing=case_id if case_id is not None and found is None else None,
        )

    def act(self, queue: Literal["outbox", "inbox"], entry_id: int, action: Literal["replay", "discard"]) -> bool:
        """Replay or discard one dead letter; False when it is no dead letter (any more)."""
        with self.store.transaction() as tx:
            if queue == "outbox":
                return tx.replay(entry_id) if action == "replay" else tx.discard(entry_id)
            return tx.replay_inbox(entry_id) if action == "replay" else tx.discard_inbox(entry_id)

    @staticmethod
    def _minutes(done: list[tuple[datetime, datetime]], now: datetime) -> list[Minute]:
        start = (now - timedelta(minutes=WINDOW_MIN - 1)).replace(second=0, microsecond=0)
        counts = [0] * WINDOW_MIN
        lags: list[list[float]] = [[] for _ in range(WINDOW_MIN)]
        for created, delivered_at in done:
            delivered = _aware(delivered_at)
            index = int((delivered - start).total_seconds() // 60)
            if 0 <= index < WINDOW_MIN:
                counts[index] += 1
                lags[index].append(max(0.0, (delivered - _aware(created)).total_seconds()))
        return [
            Minute(
                start=start + timedelta(minutes=i),
                delivered=counts[i],
                mean_lag_s=sum(lags[i]) / len(lags[i]) if lags[i] else None,
            )
            for i in range(WINDOW_MIN)
        ]
