"""The outbox worker: claims due entries and delivers them to Zendesk, per case in order.

Each claimed entry ends in exactly one of four ways:

* delivered — marked done;
* deferred (:class:`~sync.outbound.outcomes.Deferred`) or a conflict (re-read, decide again) — due again soon;
* a transient failure (429, 5xx, timeouts, resets) — due again after a backoff capped by
  ``outbox_max_backoff_s`` (a 429's ``Retry-After`` wins), never dead-lettered within ``retry_window_s``
  (a week by default);
* a permanent failure (a 4xx re-reading cannot fix, a mapping error, an agent's email) — dead-lettered
  with its reason, holding the later entries of its case until an operator replays or discards it.

``run_once`` never raises for Zendesk or network errors: they are counted in the :class:`SyncReport`.
A failure that pauses the connection (refused credentials, Zendesk unreachable: :mod:`sync.connection`) is
none of these: the entry goes back to the queue untouched and the pass ends.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sync.backoff import Backoff
from sync.errors import PermanentError, Remedy, remedy_for
from sync.gateway import ZendeskGateway
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.outbound.accounts import REPAIR_CCS, AccountDelivery
from sync.outbound.cases import CaseDelivery
from sync.outbound.directory import Directory
from sync.outbound.erasure import ErasureDelivery
from sync.outbound.outcomes import Deferred, Finish, Recorded
from sync.report import SyncReport
from sync.settings import Settings
from sync.store import OutboxEntry, OutboxKind, Store
from sync.ticket_facts import remember_tickets

if TYPE_CHECKING:
    from sync.connection import ConnectionGuard

__all__ = ["OutboxWorker"]

log = get_logger(__name__)

_CONFLICT_DELAY_S = 1.0
_MAX_CONFLICTS = 20
_MAX_ROUNDS = 50
#: How many deliveries share one completion commit (bounded so a crash re-checks only a few), and how long
#: the oldest of them may wait for it (so the console sees slow deliveries land one by one).
_COMPLETE_EVERY = 25
_COMPLETE_WITHIN_S = 0.25


@dataclass(frozen=True)
class _Delivered:
    finish: Finish | None


@dataclass(frozen=True)
class _Paused:
    """The connection paused under this entry: it was handed back; nothing more is sent this pass."""

    reason: str


class OutboxWorker:
    """Delivers the outbox.  Side effects (clock, sleep, randomness) are constructor arguments."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        settings: Settings,
        *,
        worker_id: str,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        connection: ConnectionGuard | None = None,
    ) -> None:
        self.store = store
        self.connection = connection
        self.settings = settings
        self.worker_id = worker_id
        self.clock = clock
        self.monotonic = monotonic
        self.rng = rng or random.Random()
        self.metrics = metrics
        directory = Directory(store, gateway)
        # Delivered in this claim round, completion not yet committed: entries waiting for them go on.
        self._delivered_ids: set[int] = set()
        cases = CaseDelivery(store, gateway, directory, settings, settled=self._delivered_ids.__contains__)
        accounts = AccountDelivery(store, gateway, directory, sleep, settled=self._delivered_ids.__contains__)
        self._record_sent_ccs = cases.record_sent_ccs
        self._handlers: dict[str, Callable[[OutboxEntry], Finish | None]] = {
            OutboxKind.UPSERT_ACCOUNT: accounts.upsert_account,
            OutboxKind.UPSERT_USER: accounts.upsert_user,
            OutboxKind.RECIPIENTS_CHANGED: accounts.recipients_changed,
            OutboxKind.SUBMIT: cases.submit,
            OutboxKind.REPLY: cases.reply,
            OutboxKind.CLOSE: cases.close,
            REPAIR_CCS: accounts.repair_ccs,
            OutboxKind.ERASE_USER: ErasureDelivery(gateway).erase_user,
        }

    def run_once(self, *, stop: Callable[[], bool] = lambda: False) -> SyncReport:
        """Deliver every entry due now (claiming again as keys free up); report what happened."""
        delivered = 0
        errors: list[str] = []
        for _ in range(_MAX_ROUNDS):
            entries = self.store.claim_outbox(
                self.worker_id, self.clock(), limit=self.settings.outbox_batch_size, lease_s=self.settings.lease_s
            )
            if not entries:
                break
            try:
                entries = self._record_sent_ccs(entries)
            except Exception as exc:
                # Nothing is lost: each submit then records its own addresses before its request leaves.
                log.warning("outbox_batch_sent_ccs_not_recorded", error=f"{type(exc).__name__}: {exc}")
            self._delivered_ids.clear()
            done: list[tuple[OutboxEntry, Finish | None]] = []
            since = self.monotonic()
            for index, entry in enumerate(entries):
                if stop():
                    # Shutting down: record what was delivered, hand the rest back untouched.
                    delivered += self._complete(done)
                    for rest in entries[index:]:
                        self.store.release(rest)
                    return self._report(delivered, errors)
                outcome = self._deliver(entry)
                if isinstance(outcome, _Paused):
                    delivered += self._complete(done)
                    for rest in entries[index + 1 :]:
                        self.store.release(rest)
                    return self._report(delivered, [*errors, outcome.reason])
                if isinstance(outcome, str):
                    errors.append(outcome)
                elif outcome is not None:
                    done.append((entry, outcome.finish))
                    self._delivered_ids.add(entry.id)
                if len(done) >= _COMPLETE_EVERY or (done and self.monotonic() - since >= _COMPLETE_WITHIN_S):
                    delivered += self._complete(done)
                    done = []
                if not done:
                    since = self.monotonic()
            delivered += self._complete(done)
        return self._report(delivered, errors)

    def _complete(self, done: list[tuple[OutboxEntry, Finish | None]]) -> int:
        """Record delivered entries (and what their handlers left to write) in one transaction.

        Several deliveries share one commit: were the process to die before it, their entries are claimed
        again and each handler finds its write in Zendesk (external id, marker) instead of repeating it.
        """
        if not done:
            return 0
        with self.store.transaction() as tx:
            # What the deliveries recorded in bulk form is written together: one statement per kind of
            # write for the whole batch rather than a few per delivery.
            comments: dict[int, int] = {}
            tickets = []
            for _entry, finish in done:
                if isinstance(finish, Recorded):
                    if finish.then is not None:
                        finish.then(tx)
                    comments.update(finish.comments)
                    if finish.ticket is not None:
                        tickets.append(finish.ticket)
                elif finish is not None:
                    finish(tx)
            tx.set_message_comments(comments)
            remember_tickets(tx, tickets)
            tx.complete_all(entry for entry, _ in done)
        if self.metrics is not None:
            # One increment per kind for the batch, not one per entry.
            for kind, n in Counter(entry.kind for entry, _ in done).items():
                self.metrics.count_outbox_delivered(kind, n)
        for entry, _ in done:
            log.info(
                "outbox_delivered",
                entry_id=entry.id,
                kind=entry.kind,
                case_id=entry.case_id,
                attempts=entry.attempts + 1,
            )
        return len(done)

    # -- one entry ----------------------------------------------------------------------------------

    def _deliver(self, entry: OutboxEntry) -> _Delivered | _Paused | str | None:
        """Run the entry's handler; its completion is left to :meth:`_complete`.

        A string is an error line for the report; ``None`` an entry put off quietly (waiting for another).
        """
        handler = self._handlers.get(entry.kind)
        try:
            if handler is None:
                raise PermanentError(f"unknown outbox entry kind {entry.kind!r}")
            return _Delivered(handler(entry))
        except Deferred as exc:
            self.store.fail(entry, f"waiting: {exc.reason}", self.clock() + timedelta(seconds=exc.delay_s))
            return None if entry.attempts < 3 else f"entry {entry.id} ({entry.kind}) {exc.reason}"
        except Exception as exc:
            remedy = remedy_for(exc)
            if remedy is Remedy.REREAD:
                if entry.attempts + 1 >= _MAX_CONFLICTS:
                    return self._dead(entry, f"conflicted {entry.attempts + 1} times: {exc}")
                self.store.fail(entry, f"conflict: {exc}", self.clock() + timedelta(seconds=_CONFLICT_DELAY_S))
                return f"entry {entry.id} ({entry.kind}): conflict, will re-read: {exc}"
            if remedy is Remedy.RETRY:
                return self._paused(entry, exc) or self._retry(entry, exc)
            if remedy is Remedy.GIVE_UP:
                return self._paused(entry, exc) or self._dead(entry, str(exc))
            # A bug must not stop the queue: retry with backoff and say so loudly.  Bound here, not before
            # every delivery: only a crash logs with the entry's context.
            log.bind(
                entry_id=entry.id, kind=entry.kind, case_id=entry.case_id, account_id=entry.account_id
            ).exception("outbox_entry_crashed")
            return self._retry(entry, exc)

    def _paused(self, entry: OutboxEntry, exc: BaseException) -> _Paused | None:
        """Hand ``entry`` back untouched when the connection's pause explains its failure."""
        if self.connection is None or not self.connection.explains(exc):
            return None
        self.store.release(entry)
        pause = self.connection.paused
        return _Paused(pause.describe() if pause is not None else str(exc))

    def _retry(self, entry: OutboxEntry, exc: BaseException) -> str:
        now = self.clock()
        first = entry.first_attempt_at or now
        if (now - first).total_seconds() > self.settings.retry_window_s:
            return self._dead(
                entry, f"still failing after {entry.attempts + 1} attempts since {first:%Y-%m-%d %H:%M}: {exc}"
            )
        delay = self.backoff(entry.attempts, getattr(exc, "retry_after", None))
        self.store.fail(entry, f"{type(exc).__name__}: {exc}", now + timedelta(seconds=delay))
        log.warning("outbox_retry", entry_id=entry.id, kind=entry.kind, delay_s=round(delay, 2), error=str(exc))
        return f"entry {entry.id} ({entry.kind}): {type(exc).__name__}: {exc} (retry in {delay:.1f}s)"

    def backoff(self, attempts: int, retry_after: float | None) -> float:
        """Seconds until the next attempt: Zendesk's ``Retry-After`` if given, else capped full-jitter backoff."""
        cap = self.settings.outbox_max_backoff_s
        if retry_after is not None:
            return min(max(retry_after, 0.0), max(cap, retry_after))
        # One second doubling per attempt, between half and all of it: entries failed together spread out.
        return Backoff(1.0, cap, jitter=0.5).delay(attempts + 1, self.rng.random)

    def _dead(self, entry: OutboxEntry, reason: str) -> str:
        self.store.dead_letter(entry, reason)
        log.error("outbox_dead_letter", entry_id=entry.id, kind=entry.kind, case_id=entry.case_id, reason=reason)
        return f"entry {entry.id} ({entry.kind}) dead-lettered: {reason}"

    def _report(self, delivered: int, errors: list[str]) -> SyncReport:
        counts = self.store.counts()
        if self.metrics is not None:
            age = (self.clock() - counts.oldest_pending_at).total_seconds() if counts.oldest_pending_at else 0.0
            self.metrics.set_outbox(counts.outbox_pending, age)
            self.metrics.set_dead_letters(counts.outbox_dead + counts.inbox_dead)
        return SyncReport(
            delivered=delivered,
            pending=counts.outbox_pending,
            dead_letters=counts.outbox_dead + counts.inbox_dead,
            errors=errors,
        )
