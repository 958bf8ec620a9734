"""SQL implementation of the store's engine state: cursors, key-value state, named leases, the change feed,
conflicts, and the operators' views (dead letters, counts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Insert, and_, bindparam, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from mappings.models import CaseChange, ChangeKind
from sync.store import schema as s
from sync.store._sqlbase import TxBase
from sync.store.feed_signal import PG_CHANNEL
from sync.store.types import ConflictRecord, DeadLetter, StoreCounts

__all__ = ["StateMixin"]

# Feed appends on PostgreSQL take this transaction-scoped advisory lock, so seqs commit in the order
# they were handed out: a reader that has seen seq N can never later find a smaller seq appear.
_PG_FEED_LOCK = 0x6361_7365_6665_6564

_o = s.outbox.c
_i = s.inbox.c


def _kv_upsert(ins: Any) -> Insert:
    stmt: Insert = ins.on_conflict_do_update(
        index_elements=["key"], set_={"value": ins.excluded.value, "updated_at": ins.excluded.updated_at}
    )
    return stmt


# Read and written for every delivery: built once with bound parameters (see sql_entities).
_KV_GET = select(s.kv.c.value).where(s.kv.c.key == bindparam("key"))
_KV_SET = {"postgresql": _kv_upsert(postgresql.insert(s.kv)), "sqlite": _kv_upsert(sqlite.insert(s.kv))}


class StateMixin(TxBase):
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
        row = self.conn.execute(_KV_GET, {"key": key}).first()
        return default if row is None else row[0]

    def kv_set(self, key: str, value: Any) -> None:
        self._check_writable()
        self.conn.execute(_KV_SET[self.conn.dialect.name], {"key": key, "value": value, "updated_at": self.now})

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
            if not self.feed_appended:  # delivered at commit, to every process waiting (sync.feed_wait)
                self.conn.execute(text(f"SELECT pg_notify('{PG_CHANNEL}', '')"))
        self.feed_appended = True
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
