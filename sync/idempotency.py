"""Idempotency keys for the console's writes (``submit``, ``reply``, ``close``), as Stripe's work.

The first call with a key does its work and stores what it returned under ``(account, key)`` in the same
transaction.  A later call with the same key and the same arguments returns that result and writes
nothing; with other arguments (or another operation) it raises ``InvalidInput``.  Keys are kept at least
:data:`KEY_TTL` and then pruned by :func:`prune_keys`, which the sync engine's passes run through
:class:`KeyPruner` (every ten minutes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from mappings.models import Attachment, Case
from sync.errors import InvalidInput
from sync.report import SyncReport
from sync.store import Store, StoreTx

__all__ = ["KEY_TTL", "KeyPruner", "claim", "fingerprint", "prune_keys", "remember"]

#: How long a key is remembered (at least; pruning runs with the sync engine).
KEY_TTL = timedelta(hours=24)


def fingerprint(operation: str, attachments: Sequence[Attachment] = (), **arguments: Any) -> str:
    """A digest of a call: the operation and its arguments (attachments by name, type and content hash)."""
    files = [[f.filename, f.content_type, hashlib.sha256(f.data).hexdigest()] for f in attachments]
    raw = json.dumps({"op": operation, "args": arguments, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def claim(tx: StoreTx, account_id: str, key: str | None, operation: str, digest: str) -> Case | None:
    """Claim ``key`` for this call (None: go ahead), or the first call's result to return as it is."""
    if key is None:
        return None
    found = tx.claim_idempotency_key(account_id, key, operation, digest)
    if found is None:
        return None
    if found.operation != operation or found.fingerprint != digest or found.result is None:
        raise InvalidInput(
            f"idempotency key {key!r} was already used with other arguments: use a new key for a new request"
        )
    return Case.model_validate(found.result)


def remember(tx: StoreTx, account_id: str, key: str | None, result: Case) -> Case:
    """Store the call's result under its key (same transaction as its writes); returns ``result``."""
    if key is not None:
        tx.save_idempotency_result(account_id, key, result.model_dump(mode="json"))
    return result


def prune_keys(store: Store, now: datetime) -> int:
    """Forget keys older than :data:`KEY_TTL`; returns how many were removed."""
    with store.transaction() as tx:
        return tx.prune_idempotency_keys(now - KEY_TTL)


class KeyPruner:
    """Prunes expired idempotency keys at most every ``every_s`` seconds; the sync engine runs it each pass."""

    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        every_s: float = 600.0,
    ) -> None:
        self.store = store
        self.clock = clock
        self.monotonic = monotonic
        self.every_s = every_s
        self._next: float | None = None

    def run_once(self) -> SyncReport:
        """Prune if due; an empty report (pruning is housekeeping, not sync work)."""
        now = self.monotonic()
        if self._next is None or now >= self._next:
            self._next = now + self.every_s
            prune_keys(self.store, self.clock())
        return SyncReport()
