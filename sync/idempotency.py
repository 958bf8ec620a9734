"""Idempotency keys for the console's writes (``submit``, ``reply``, ``close``), as Stripe's work.

The first call with a key does its work and stores what it returned under ``(account, key)`` in the same
transaction (by its last statement, with the outbox entry; its first read checked the key).  A later call
with the same key and the same arguments returns that result and writes nothing; with other arguments (or
another operation) it raises ``InvalidInput``.  Keys are kept at least
:data:`KEY_TTL` and then pruned by :func:`prune_keys`, which the sync engine's passes run through
:class:`KeyPruner` (every ten minutes).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from mappings.models import Attachment, Case
from sync.errors import CaseSyncError, InvalidInput
from sync.report import SyncReport
from sync.store import Store, StoreTx
from sync.store.console_types import IdempotencyRecord

__all__ = ["KEY_TTL", "KeyPruner", "KeyTaken", "fingerprint", "prune_keys", "record", "refusals", "replay", "run_keyed"]

#: How long a key is remembered (at least; pruning runs with the sync engine).
KEY_TTL = timedelta(hours=24)


def fingerprint(operation: str, attachments: Sequence[Attachment] = (), **arguments: Any) -> str:
    """A digest of a call: the operation and its arguments (attachments by name, type and content hash)."""
    files = [[f.filename, f.content_type, hashlib.sha256(f.data).hexdigest()] for f in attachments]
    raw = json.dumps({"op": operation, "args": arguments, "files": files}, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


class KeyTaken(Exception):
    """Another call stored this key while this one ran (PostgreSQL): roll back and run again, to replay it."""


#: How often a keyed call runs again after :class:`KeyTaken` (once is enough: the key is then committed).
_RUNS = 3


def run_keyed(call: Callable[[], Case]) -> Case:
    """Run ``call`` (one transaction), again when it lost its key to a simultaneous call (:class:`KeyTaken`).

    The key is stored with the call's result by the transaction's last statement; a call that finds it
    stored by another one that committed meanwhile rolls back everything it wrote, and its second run
    reads the key and returns the first call's result.  So two simultaneous calls never both write.
    """
    for _ in range(_RUNS - 1):
        try:
            return call()
        except KeyTaken:
            continue
    return call()


def replay(found: IdempotencyRecord | None, key: str | None, operation: str, digest: str) -> Case | None:
    """The first call's result when ``key`` was used by the same call (None: go ahead); ``InvalidInput`` when
    it was used with other arguments or for another operation."""
    if key is None or found is None:
        return None
    if found.operation != operation or found.fingerprint != digest or found.result is None:
        raise InvalidInput(
            f"idempotency key {key!r} was already used with other arguments: use a new key for a new request"
        )
    return Case.model_validate(found.result)


@contextmanager
def refusals(tx: StoreTx, account_id: str, user_id: str, key: str | None) -> Iterator[None]:
    """Checks of a keyed call: a refusal (a typed error) raised while another call stored the key is
    :class:`KeyTaken` instead, so the call replays that call's result.

    On PostgreSQL a call that waited for a simultaneous one's lock reads the case as that call left it,
    but not the key it stored (the read's snapshot predates it): a retried ``close`` would find its own
    first call's Closed case.  Read again, the key is there.
    """
    try:
        yield
    except CaseSyncError:
        if key is not None and tx.console_write_context(account_id, user_id, key=key).key is not None:
            raise KeyTaken(key) from None
        raise


def record(
    account_id: str, key: str | None, operation: str, digest: str, now: datetime, result: Case
) -> IdempotencyRecord | None:
    """The key's record to store with the call's writes (None without a key)."""
    if key is None:
        return None
    return IdempotencyRecord(account_id, key, operation, digest, result.model_dump(mode="json"), now)


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
