"""SQL implementation of the store's queues: the outbox and the inbox, with their claims and leases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, case, func, literal, or_, select

from mappings.models import ChangeKind
from sync.store import schema as s
from sync.store._sqlbase import TxBase
from sync.store.types import (
    InboxEntry,
    OutboxEntry,
)

__all__ = ["QueuesMixin"]

_o = s.outbox.c
# The outbox worker looks for earlier entries of a key several times a delivery: built once per filter.
_OUTBOX_ENTRIES = {
    (by_key, by_status): select(s.outbox)
    .where(
        *([_o.ordering_key == bindparam("b_key")] if by_key else []),
        *([_o.status == bindparam("b_status")] if by_status else []),
    )
    .order_by(_o.id)
    .limit(bindparam("b_limit", type_=Integer))
    for by_key in (False, True)
    for by_status in (False, True)
}
_ENQUEUE = s.outbox.insert().returning(_o.id)  # every console write runs it: built once
_i = s.inbox.c


# Run once per delivery: built once with bound parameters (see sql_entities).
_COMPLETE_LEASED = (
    s.outbox.update()
    .where(_o.id == bindparam("b_id"), _o.status == "pending", _o.lease_owner == bindparam("b_owner"))
    .values(status="done", delivered_at=bindparam("b_now"), lease_owner=None, lease_until=None)
)


def _held_by(column: Any, owner: str | None) -> ColumnElement[bool]:
    result: ColumnElement[bool] = column.is_(None) if owner is None else column == owner
    return result


class QueuesMixin(TxBase):
    # -- outbox ------------------------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        ordering_key: str,
        account_id: str | None = None,
        case_id: int | None = None,
        not_before: datetime | None = None,
    ) -> int:
        self._check_writable()
        values = {
            "ordering_key": ordering_key,
            "kind": kind,
            "payload": payload,
            "account_id": account_id,
            "case_id": case_id,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": not_before or self.now,
            "created_at": self.now,
        }
        return int(self.conn.execute(_ENQUEUE, values).scalar_one())

    def outbox_entry(self, entry_id: int) -> OutboxEntry | None:
        row = self.conn.execute(select(s.outbox).where(_o.id == entry_id)).first()
        return self._outbox(row) if row else None

    def outbox_entries(
        self, *, ordering_key: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[OutboxEntry]:
        q = _OUTBOX_ENTRIES[ordering_key is not None, status is not None]
        params = {"b_key": ordering_key, "b_status": status, "b_limit": limit}
        return [self._outbox(r) for r in self.conn.execute(q, params)]

    def _update_held(self, entry: OutboxEntry, **values: Any) -> bool:
        """Update ``entry`` only while it is pending and still leased by the caller."""
        self._check_writable()
        res = self.conn.execute(
            s.outbox.update()
            .where(_o.id == entry.id, _o.status == "pending", _held_by(_o.lease_owner, entry.lease_owner))
            .values(**values)
        )
        return bool(res.rowcount)

    def complete(self, entry: OutboxEntry) -> bool:
        if entry.lease_owner is not None:
            self._check_writable()
            params = {"b_id": entry.id, "b_owner": entry.lease_owner, "b_now": self.now}
            return bool(self.conn.execute(_COMPLETE_LEASED, params).rowcount)
        return self._update_held(entry, status="done", delivered_at=self.now, lease_owner=None, lease_until=None)

    def fail(self, entry: OutboxEntry, error: str, next_attempt_at: datetime) -> bool:
        return self._update_held(
            entry,
            attempts=_o.attempts + 1,
            last_error=error,
            next_attempt_at=next_attempt_at,
            lease_owner=None,
            lease_until=None,
        )

    def dead_letter(self, entry: OutboxEntry, reason: str) -> bool:
        done = self._update_held(
            entry, status="dead", attempts=_o.attempts + 1, last_error=reason, lease_owner=None, lease_until=None
        )
        if done and entry.case_id is not None and entry.account_id is not None:
            self.append_change(entry.account_id, entry.case_id, ChangeKind.DELIVERY_FAILED, f"{entry.kind}: {reason}")
        return done

    def release(self, entry: OutboxEntry) -> bool:
        return self._update_held(entry, lease_owner=None, lease_until=None)

    def renew_lease(self, entry: OutboxEntry, lease_s: float) -> bool:
        return self._update_held(entry, lease_until=self.now + timedelta(seconds=lease_s))

    def amend_payload(self, entry: OutboxEntry, payload: dict[str, Any]) -> bool:
        return self._update_held(entry, payload=payload)

    def replay(self, entry_id: int) -> bool:
        self._check_writable()
        res = self.conn.execute(
            s.outbox.update()
            .where(_o.id == entry_id, _o.status == "dead")
            .values(status="pending", next_attempt_at=self.now, first_attempt_at=None)
        )
        return bool(res.rowcount)

    def discard(self, entry_id: int) -> bool:
        self._check_writable()
        res = self.conn.execute(
            s.outbox.update().where(_o.id == entry_id, _o.status == "dead").values(status="discarded")
        )
        return bool(res.rowcount)

    def claim_outbox_rows(self, worker_id: str, now: datetime, limit: int, lease_s: float) -> list[OutboxEntry]:
        """The claim itself, run by ``SqlStore.claim_outbox`` inside a write transaction."""
        self._check_writable()
        # The head of a key is its oldest entry that is not delivered: a dead head holds the key.
        heads = (
            select(_o.ordering_key, func.min(_o.id).label("head_id"))
            .where(_o.status.in_(("pending", "dead")))
            .group_by(_o.ordering_key)
            .subquery()
        )
        q = (
            select(_o.id)
            .join(heads, heads.c.head_id == _o.id)
            .where(
                _o.status == "pending",
                _o.next_attempt_at <= now,
                or_(_o.lease_until.is_(None), _o.lease_until <= now),
            )
            .order_by(_o.next_attempt_at, _o.id)
            .limit(limit)
        )
        if self.is_pg:
            # Rows another claimer is locking right now are skipped, not waited for; once it commits its
            # lease, the re-check of the WHERE clause excludes them.
            q = q.with_for_update(of=s.outbox, skip_locked=True)
        ids = [r[0] for r in self.conn.execute(q)]
        if not ids:
            return []
        self.conn.execute(
            s.outbox.update()
            .where(_o.id.in_(ids))
            .values(
                lease_owner=worker_id,
                lease_until=now + timedelta(seconds=lease_s),
                first_attempt_at=func.coalesce(_o.first_attempt_at, now),
                # A lease that ran out without a verdict means its worker died mid-delivery: whether its
                # write reached Zendesk is unknown, so it counts as a failed attempt and the next worker
                # looks in Zendesk (external id, comment marker) before writing again.
                attempts=_o.attempts + case((_o.lease_owner.is_not(None), 1), else_=0),
                last_error=case(
                    (_o.lease_owner.is_not(None), literal("lease of ") + _o.lease_owner + literal(" expired")),
                    else_=_o.last_error,
                ),
            )
        )
        rows = self.conn.execute(select(s.outbox).where(_o.id.in_(ids)).order_by(_o.next_attempt_at, _o.id))
        return [self._outbox(r) for r in rows]

    # -- inbox -------------------------------------------------------------------------------------

    def add_inbox(self, ticket_id: int, source: str, dedupe_key: str, payload: dict[str, Any] | None = None) -> bool:
        self._check_writable()
        ins = self._insert(s.inbox).values(
            ticket_id=ticket_id,
            source=source,
            dedupe_key=dedupe_key,
            payload=payload or {},
            status="pending",
            attempts=0,
            next_attempt_at=self.now,
            created_at=self.now,
        )
        stmt = ins.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(_i.id)
        return self.conn.execute(stmt).first() is not None

    def _update_inbox_held(self, entry: InboxEntry, **values: Any) -> bool:
        self._check_writable()
        res = self.conn.execute(
            s.inbox.update()
            .where(_i.id == entry.id, _i.status == "pending", _held_by(_i.lease_owner, entry.lease_owner))
            .values(**values)
        )
        return bool(res.rowcount)

    def complete_inbox(self, entry: InboxEntry) -> bool:
        done = self._update_inbox_held(entry, status="done", done_at=self.now, lease_owner=None, lease_until=None)
        if done and entry.covers:
            self.conn.execute(
                s.inbox.update()
                .where(_i.id.in_(entry.covers), _i.status == "pending", _i.lease_owner.is_(None))
                .values(status="done", done_at=self.now)
            )
        return done

    def fail_inbox(self, entry: InboxEntry, error: str, next_attempt_at: datetime) -> bool:
        return self._update_inbox_held(
            entry,
            attempts=_i.attempts + 1,
            last_error=error,
            next_attempt_at=next_attempt_at,
            lease_owner=None,
            lease_until=None,
        )

    def release_inbox(self, entry: InboxEntry) -> bool:
        return self._update_inbox_held(entry, lease_owner=None, lease_until=None)

    def dead_letter_inbox(self, entry: InboxEntry, reason: str) -> bool:
        return self._update_inbox_held(
            entry, status="dead", attempts=_i.attempts + 1, last_error=reason, lease_owner=None, lease_until=None
        )

    def replay_inbox(self, entry_id: int) -> bool:
        self._check_writable()
        res = self.conn.execute(
            s.inbox.update()
            .where(_i.id == entry_id, _i.status == "dead")
            .values(status="pending", next_attempt_at=self.now)
        )
        return bool(res.rowcount)

    def discard_inbox(self, entry_id: int) -> bool:
        self._check_writable()
        res = self.conn.execute(
            s.inbox.update().where(_i.id == entry_id, _i.status == "dead").values(status="discarded")
        )
        return bool(res.rowcount)

    def claim_inbox_rows(self, worker_id: str, now: datetime, limit: int, lease_s: float) -> list[InboxEntry]:
        """The claim itself, run by ``SqlStore.claim_inbox`` inside a write transaction."""
        self._check_writable()
        heads = (
            select(_i.ticket_id, func.min(_i.id).label("head_id"))
            .where(_i.status == "pending")
            .group_by(_i.ticket_id)
            .subquery()
        )
        held = select(_i.ticket_id).where(_i.status == "pending", _i.lease_until > now)
        q = (
            select(_i.id, _i.ticket_id)
            .join(heads, heads.c.head_id == _i.id)
            .where(
                _i.next_attempt_at <= now,
                or_(_i.lease_until.is_(None), _i.lease_until <= now),
                _i.ticket_id.not_in(held),
            )
            .order_by(_i.next_attempt_at, _i.id)
            .limit(limit)
        )
        if self.is_pg:
            q = q.with_for_update(of=s.inbox, skip_locked=True)
        picked = [(r[0], r[1]) for r in self.conn.execute(q)]
        if not picked:
            return []
        ids = [p[0] for p in picked]
        self.conn.execute(
            s.inbox.update()
            .where(_i.id.in_(ids))
            .values(lease_owner=worker_id, lease_until=now + timedelta(seconds=lease_s))
        )
        covers: dict[int, list[int]] = {}
        others = select(_i.id, _i.ticket_id).where(
            _i.status == "pending", _i.ticket_id.in_([p[1] for p in picked]), _i.id.not_in(ids)
        )
        for oid, tid in self.conn.execute(others.order_by(_i.id)):
            covers.setdefault(tid, []).append(oid)
        rows = self.conn.execute(select(s.inbox).where(_i.id.in_(ids)).order_by(_i.next_attempt_at, _i.id))
        return [self._inbox(r, tuple(covers.get(r._mapping["ticket_id"], ()))) for r in rows]
