"""SQL implementation of idempotency keys' upkeep: keys older than the retention are pruned.

A key is stored with its call's result and outbox entry by the console write itself
(:meth:`sync.store.sql_console_writes.ConsoleWritesMixin.enqueue_keyed`); a concurrent call with the same
key finds the stored row once the first call has committed, or stores the key itself if it rolled back.
"""

from __future__ import annotations

from datetime import datetime

from sync.store import schema as s
from sync.store._sqlbase import TxBase

__all__ = ["IdempotencyMixin"]

_k = s.idempotency_keys.c


class IdempotencyMixin(TxBase):
    """Pruning of stored idempotency keys."""

    def prune_idempotency_keys(self, older_than: datetime) -> int:
        self._check_writable()
        return int(self.conn.execute(s.idempotency_keys.delete().where(_k.created_at < older_than)).rowcount or 0)
