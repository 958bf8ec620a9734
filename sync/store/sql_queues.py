"""SQL implementation of the store's queues and engine state: outbox, inbox, feed, conflicts, cursors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, text

from mappings.models import CaseChange, ChangeKind
from sync.store import schema as s
from sync.store._sqlbase import TxBase
from sync.store.types import (
    ConflictRecord,
    DeadLetter,
    InboxEntry,
    OutboxEntry,
    StoreCounts,
)

__all__ = ["QueuesMixin"]

# Feed appends on PostgreSQL take this transaction-scoped advisory lock, so seqs commit in the order
# they were handed out: a reader that has seen seq N can never later find a smaller seq appear.
_PG_FEED_LOCK = 0x6361_7365_6665_6564

_o = s.outbox.c
_i = s.inbox.c


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
        return int(
            self.conn.execute(
                s.outbox.insert()
                .values(
                    ordering_key=ordering_key,
                    kind=kind,
                    payload=payload,
                    account_id=account_id,
                    case_id=case_id,
                    status="pending",
                    attempts=0,
                    next_attempt_at=not_before or self.now,
                    created_at=self.now,
                )
                .returning(_o.id)
            ).scalar_one()
        )

    def outbox_entry(self, entry_id: int) -> OutboxEntry | None:
        row = self.conn.execute(select(s.outbox).where(_o.id == entry_id)).first()
        return self._outbox(row) if row else None

    def outbox_entries(
        self, *, ordering_key: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[OutboxEntry]:
        q = select(s.outbox).order_by(_o.id).limit(limit)
        if ordering_key is not None:
            q = q.where(_o.ordering_key == ordering_key)
        if status is not None:
            q = q.where(_o.status == status)
        return [self._outbox(r) for r in self.conn.execute(q)]

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

    # -- cursors, kv, named leases -----------------------------------------------------------------

    def get_cursor(self, name: str) -> str | None:
        return self.conn.execute(select(s.cursors.c.value).where(s.cursors.c.name == name)).scalar()

    def set_cursor(self, name: str, value: str) -> None:
        self._check_writable()
        ins = self._insert(s.cursors).values(name=name, value=value, updated_at=self.now)
        self.conn.execute(
            ins.on_conflict_do_update(index_elements=["name"], set_={"value": value, "updated_at": self.now})
        )

    def kv_get(self, key: str, default: Any = None) -> Any:
        row = self.conn.execute(select(s.kv.c.value).where(s.kv.c.key == key)).first()
        return default if row is None else row[0]

    def kv_set(self, key: str, value: Any) -> None:
        self._check_writable()
        ins = self._insert(s.kv).values(key=key, value=value, updated_at=self.now)
        self.conn.execute(
            ins.on_conflict_do_update(index_elements=["key"], set_={"value": value, "updated_at": self.now})
        )

    def acquire_lease(self, name: str, owner: str, ttl_s: float) -> bool:
        self._check_writable()
        until = self.now + timedelta(seconds=ttl_s)
        ins = self._insert(s.leases).values(name=name, owner=owner, until=until)
        # RETURNING, not rowcount: drivers disagree on the rowcount of an INSERT … ON CONFLICT.
        stmt = ins.on_conflict_do_update(
            index_elements=["name"],
            set_={"owner": owner, "until": until},
            where=or_(s.leases.c.owner == owner, s.leases.c.until <= self.now),
        ).returning(s.leases.c.owner)
        return self.conn.execute(stmt).first() is not None

    def release_named_lease(self, name: str, owner: str) -> None:
        self._check_writable()
        self.conn.execute(s.leases.delete().where(s.leases.c.name == name, s.leases.c.owner == owner))

    # -- feed and conflicts ------------------------------------------------------------------------

    def append_change(
        self, account_id: str, case_id: int, kind: ChangeKind, detail: str, *, at: datetime | None = None
    ) -> int:
        self._check_writable()
        if self.is_pg:
            self.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_FEED_LOCK})
        return int(
            self.conn.execute(
                s.feed.insert()
                .values(account_id=account_id, case_id=case_id, kind=kind.value, at=at or self.now, detail=detail)
                .returning(s.feed.c.seq)
            ).scalar_one()
        )

    def changes(self, since: int = 0, *, account_id: str | None = None, limit: int | None = None) -> list[CaseChange]:
        f = s.feed.c
        q = select(s.feed).where(f.seq > since).order_by(f.seq)
        if account_id is not None:
            q = q.where(f.account_id == account_id)
        if limit is not None:
            q = q.limit(limit)
        return [
            CaseChange(
                seq=m["seq"],
                account_id=m["account_id"],
                case_id=m["case_id"],
                kind=ChangeKind(m["kind"]),
                at=m["at"],
                detail=m["detail"],
            )
            for m in (r._mapping for r in self.conn.execute(q))
        ]

    def record_conflict(
        self,
        kind: str,
        detail: str,
        *,
        account_id: str | None = None,
        case_id: int | None = None,
        ticket_id: int | None = None,
    ) -> int:
        self._check_writable()
        if case_id is not None and account_id is None:
            account_id = self.conn.execute(select(s.cases.c.account_id).where(s.cases.c.id == case_id)).scalar()
        conflict_id = int(
            self.conn.execute(
                s.conflicts.insert()
                .values(
                    kind=kind,
                    detail=detail,
                    account_id=account_id,
                    case_id=case_id,
                    ticket_id=ticket_id,
                    created_at=self.now,
                )
                .returning(s.conflicts.c.id)
            ).scalar_one()
        )
        if case_id is not None and account_id is not None:
            self.append_change(account_id, case_id, ChangeKind.CONFLICT, f"{kind}: {detail}")
        return conflict_id

    def conflicts(self, *, open_only: bool = True) -> list[ConflictRecord]:
        c = s.conflicts.c
        q = select(s.conflicts).order_by(c.id)
        if open_only:
            q = q.where(c.resolved_at.is_(None))
        return [
            ConflictRecord(
                m["id"],
                m["kind"],
                m["detail"],
                m["account_id"],
                m["case_id"],
                m["ticket_id"],
                m["created_at"],
                m["resolved_at"],
            )
            for m in (r._mapping for r in self.conn.execute(q))
        ]

    def resolve_conflict(self, conflict_id: int) -> bool:
        self._check_writable()
        c = s.conflicts.c
        res = self.conn.execute(
            s.conflicts.update().where(c.id == conflict_id, c.resolved_at.is_(None)).values(resolved_at=self.now)
        )
        return bool(res.rowcount)

    # -- operators ---------------------------------------------------------------------------------

    def dead_letters(self) -> list[DeadLetter]:
        out = [
            DeadLetter(
                "outbox",
                e.id,
                e.kind,
                e.account_id,
                e.case_id,
                None,
                e.attempts,
                e.last_error or "",
                e.created_at,
                e.payload,
            )
            for e in (self._outbox(r) for r in self.conn.execute(select(s.outbox).where(_o.status == "dead")))
        ]
        for r in self.conn.execute(select(s.inbox).where(_i.status == "dead")):
            e = self._inbox(r)
            case_id = self.conn.execute(
                select(s.ticket_links.c.case_id).where(s.ticket_links.c.ticket_id == e.ticket_id)
            ).scalar()
            out.append(
                DeadLetter(
                    "inbox",
                    e.id,
                    e.source,
                    None,
                    case_id,
                    e.ticket_id,
                    e.attempts,
                    e.last_error or "",
                    e.created_at,
                    e.payload,
                )
            )
        return sorted(out, key=lambda d: (d.created_at, d.queue, d.id))

    def counts(self) -> StoreCounts:
        def count(table: Any, *where: Any) -> int:
            return int(
                self.conn.execute(select(func.count()).select_from(table).where(and_(True, *where))).scalar_one()
            )

        by_kind = {
            k: int(n)
            for k, n in self.conn.execute(select(_o.kind, func.count()).where(_o.status == "pending").group_by(_o.kind))
        }
        oldest = self.conn.execute(select(func.min(_o.created_at)).where(_o.status == "pending")).scalar()
        return StoreCounts(
            outbox_pending=count(s.outbox, _o.status == "pending"),
            outbox_dead=count(s.outbox, _o.status == "dead"),
            outbox_done=count(s.outbox, _o.status == "done"),
            inbox_pending=count(s.inbox, _i.status == "pending"),
            inbox_dead=count(s.inbox, _i.status == "dead"),
            conflicts_open=count(s.conflicts, s.conflicts.c.resolved_at.is_(None)),
            cases=count(s.cases),
            linked_cases=count(s.ticket_links),
            oldest_pending_at=oldest,
            by_kind=by_kind,
        )
