"""``SupportCases.changes(..., wait=...)``: a long poll of the change feed (docs/design.md §8).

The waiter reads the feed; when nothing newer than ``since`` is there it rests on the store's
:class:`~sync.store.feed_signal.FeedSignal` (woken by commits of this process and, on PostgreSQL, by
NOTIFY from any process) for at most the signal's polling interval, then reads again, until an entry
exists or ``wait`` seconds have passed.  It returns the entries as soon as one exists.
"""

from __future__ import annotations

from mappings.models import CaseChange
from sync.store import Store

__all__ = ["MAX_WAIT_S", "wait_for_changes"]

#: The longest a caller may ask ``changes`` to wait.
MAX_WAIT_S = 300.0


def wait_for_changes(
    store: Store, since: int, *, account_id: str | None, limit: int | None, wait: float
) -> list[CaseChange]:
    """Feed entries after ``since`` (at most ``limit``), waiting up to ``wait`` seconds for the first."""
    signal = store.feed_signal
    deadline = signal.monotonic() + wait
    while True:
        generation = signal.generation  # read before the feed: a commit in between still wakes us
        with store.read() as tx:
            found = tx.changes(since, account_id=account_id, limit=limit)
        remaining = deadline - signal.monotonic()
        if found or remaining <= 0:
            return found
        signal.wait(generation, min(remaining, signal.poll_s))
