"""SQL implementation of idempotency keys: the first call's result, per account and key.

A key is claimed by inserting its row in the caller's write transaction, before anything else is
written.  A concurrent call with the same key then waits for the first one's transaction (PostgreSQL:
the primary key's row lock; SQLite: the single writer) and finds the row once it has committed, or
claims the key itself if the first call rolled back.  So two simultaneous calls never both write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from sync.store import schema as s
from sync.store._sqlbase import TxBase
from sync.store.console_types import IdempotencyRecord

__all__ = ["IdempotencyMixin"]

_k = s.idempotency_keys.c
# Every keyed console write runs these: built once, with the values as parameters.
_CLAIM = {
    pg: (postgresql.insert if pg else sqlite.insert)(s.idempotency_keys).on_conflict_do_nothing().returning(_k.key)
    for pg in (False, True)
}
_SAVE_RESULT = s.idempotency_keys.update().where(
    _k.account_id == bindparam("b_account_id"), _k.key == bindparam("b_key")
)


class IdempotencyMixin(TxBase):
    def claim_idempotency_key(
        self, account_id: str, key: str, operation: str, fingerprint: str
    ) -> IdempotencyRecord | None:
        self._check_writable()
        values = {
            "account_id": account_id,
            "key": key,
            "operation": operation,
            "fingerprint": fingerprint,
            "result": None,
            "created_at": self.now,
        }
        claimed = self.conn.execute(_CLAIM[self.is_pg], values).first()
        if claimed is not None:
            return None
        row = self.conn.execute(select(s.idempotency_keys).where(_k.account_id == account_id, _k.key == key)).first()
        assert row is not None  # the conflicting row has committed: keys are deleted only by pruning
        m = row._mapping
        return IdempotencyRecord(
            m["account_id"], m["key"], m["operation"], m["fingerprint"], m["result"], m["created_at"]
        )

    def save_idempotency_result(self, account_id: str, key: str, result: dict[str, Any]) -> None:
        self._check_writable()
        self.conn.execute(_SAVE_RESULT, {"b_account_id": account_id, "b_key": key, "result": result})

    def prune_idempotency_keys(self, older_than: datetime) -> int:
        self._check_writable()
        return int(self.conn.execute(s.idempotency_keys.delete().where(_k.created_at < older_than)).rowcount or 0)
