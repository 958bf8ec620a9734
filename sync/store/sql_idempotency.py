"""SQL implementation of idempotency keys: stored with the console write's outbox entry, pruned when old.

A console write stores its key, with its result, in the statement that queues its outbox entry
(:meth:`IdempotencyMixin.enqueue_keyed`); a concurrent call with the same key finds the stored row once the
first call has committed (its write context reads it), or stores the key itself if the first rolled back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from sync.store import schema as s
from sync.store._sqlbase import TxBase
from sync.store.console_types import IdempotencyRecord

__all__ = ["IdempotencyMixin"]

_k = s.idempotency_keys.c

# -- the outbox entry and the idempotency key ------------------------------------------------------------

_ENTRY_COLUMNS = ["ordering_key", "kind", "payload", "account_id", "case_id", "status", "attempts",
                  "next_attempt_at", "created_at"]
_KEY_COLUMN_NAMES = ["account_id", "key", "operation", "fingerprint", "result", "created_at"]
_KEY_INSERT = {
    pg: (postgresql.insert if pg else sqlite.insert)(s.idempotency_keys)
    .values({n: bindparam(f"k_{n}", type_=_k[n].type) for n in _KEY_COLUMN_NAMES})
    .on_conflict_do_nothing()
    .returning(_k.key)
    for pg in (False, True)
}
_o = s.outbox.c
_ENQUEUE = s.outbox.insert().values({n: bindparam(f"q_{n}", type_=_o[n].type) for n in _ENTRY_COLUMNS}).returning(
    _o.id
)
_PG_ENTRY = _ENQUEUE.cte("entry")
_PG_KEY = _KEY_INSERT[True].cte("claimed")
_PG_ENQUEUE_KEYED = select(
    select(_PG_ENTRY.c.id).scalar_subquery().label("entry_id"),
    select(func.count()).select_from(_PG_KEY).scalar_subquery().label("claimed"),
)


class IdempotencyMixin(TxBase):
    """Idempotency keys stored with their call's outbox entry, and pruned."""

    def prune_idempotency_keys(self, older_than: datetime) -> int:
        self._check_writable()
        return int(self.conn.execute(s.idempotency_keys.delete().where(_k.created_at < older_than)).rowcount or 0)

    def enqueue_keyed(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        ordering_key: str,
        account_id: str,
        case_id: int,
        key: IdempotencyRecord | None,
    ) -> int | None:
        self._check_writable()
        entry = {
            "q_ordering_key": ordering_key, "q_kind": kind, "q_payload": payload, "q_account_id": account_id,
            "q_case_id": case_id, "q_status": "pending", "q_attempts": 0, "q_next_attempt_at": self.now,
            "q_created_at": self.now,
        }
        if key is None:
            return int(self.conn.execute(_ENQUEUE, entry).scalar_one())
        claim = {
            "k_account_id": key.account_id, "k_key": key.key, "k_operation": key.operation,
            "k_fingerprint": key.fingerprint, "k_result": key.result, "k_created_at": key.created_at,
        }
        if self.is_pg:
            row = self.conn.execute(_PG_ENQUEUE_KEYED, {**entry, **claim}).one()
            return int(row.entry_id) if row.claimed else None
        entry_id = int(self.conn.execute(_ENQUEUE, entry).scalar_one())
        claimed = self.conn.execute(_KEY_INSERT[False], claim).first()
        return entry_id if claimed is not None else None

