"""The inbox: durable "ticket N changed" hints (webhooks, failed poll applies, reconcile) and their worker.

A hint is never trusted: :class:`InboxWorker` fetches the ticket's current state and every comment itself, so
a forged, stale, duplicated or reordered delivery can at worst cause one extra read.  Listing every comment
also catches comments made private since they were imported.  The ticket alone does not tell who closed a
solved ticket (an agent, or Zendesk's automation): the worker hands the applier what it knows — the status
change the poller carried, and whether the poller has yet to read this change — and
:func:`mappings.closer.who_closed` leaves such a close to the poller then, as the event export names the updater.

A failure the connection's pause explains (refused credentials, Zendesk unreachable: :mod:`sync.connection`)
is transient whatever its type: the hint waits, is never dead-lettered for it, and the pass ends.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from mappings.closer import StatusChange
from mappings.zendesk import ZTicket
from sync.backoff import Backoff
from sync.clock import utc_now
from sync.errors import RecordNotFound, Remedy, remedy_for
from sync.gateway import ZendeskGateway
from sync.hints import WebhookHint
from sync.inbound.apply import TicketApplier
from sync.inbound.events import to_change
from sync.inbound.poller import poller_will_read_in
from sync.logging import get_logger
from sync.report import SyncReport
from sync.settings import Settings
from sync.store import InboxEntry, Store, StoreTx
from sync.store.kv_keys import CARRIED

if TYPE_CHECKING:
    from sync.connection import ConnectionGuard

__all__ = ["HintNotStored", "InboxWorker", "hint_dedupe_key", "webhook_sink"]

log = get_logger(__name__)

#: First retry delay of a failed hint; doubled per attempt up to ``settings.outbox_max_backoff_s``.
BASE_BACKOFF_S = 2.0


def hint_dedupe_key(hint: WebhookHint, received_at: datetime) -> str:
    """The inbox key of a delivery: Zendesk's event id; else ticket, type and event time.

    A payload with neither id nor time (trigger-style) is keyed by its arrival time: a redelivery is then
    applied twice, which is harmless, while a key without time would swallow every later change.
    """
    if hint.event_id:
        return f"webhook:{hint.event_id}"
    when = (hint.occurred_at or received_at).isoformat()
    return f"webhook:{hint.ticket_id}:{hint.event_type or '-'}:{when}"


def webhook_sink(
    store: Store, *, clock: Callable[[], datetime] = utc_now, max_group: int = 256
) -> Callable[[WebhookHint], bool]:
    """The receiver's sink: stores the hint durably; ``False`` for a duplicate delivery.

    Safe to call from many threads at once, and built for it (group commit): the hints of concurrent callers
    are written by one of them in a single transaction (at most ``max_group``), so a burst of deliveries costs
    one commit instead of one each.  Every call returns only once its own hint is committed; if the commit
    fails, every call of that group raises and none of its hints is stored.  Duplicates are absorbed by the
    inbox's dedupe key exactly as one transaction per hint would, within a group as across groups.
    """
    return _GroupCommit(store, clock, max_group)


class HintNotStored(RuntimeError):
    """The transaction that was to store this hint (and the rest of its group) failed."""


class _Waiter:
    __slots__ = ("dedupe_key", "error", "finished", "fresh", "hint", "lead", "wake")

    def __init__(self, hint: WebhookHint, dedupe_key: str) -> None:
        self.hint = hint
        self.dedupe_key = dedupe_key
        self.wake = threading.Event()
        self.lead = False  # this caller writes the next group
        self.finished = False
        self.fresh = False
        self.error: BaseException | None = None


class _GroupCommit:
    """Leader/follower group commit: whoever finds no writer at work becomes it, writes every hint waiting
    (its own among them), answers them all, and hands the writer's role to the first hint that arrived
    meanwhile.  The writer thus only ever waits for its own group, and no thread sits idle as a writer."""

    def __init__(self, store: Store, clock: Callable[[], datetime], max_group: int) -> None:
        self._store = store
        self._clock = clock
        self._max_group = max_group
        self._lock = threading.Lock()
        self._pending: list[_Waiter] = []
        self._writing = False

    def __call__(self, hint: WebhookHint) -> bool:
        # Keyed at arrival, as before: a trigger-style payload's key is its arrival time.
        waiter = _Waiter(hint, hint_dedupe_key(hint, self._clock()))
        with self._lock:
            self._pending.append(waiter)
            if not self._writing:
                self._writing = True
                waiter.lead = True
        if not waiter.lead:
            waiter.wake.wait()  # answered, or made the writer of the next group
        if not waiter.finished:
            self._write_group()
        if waiter.error is not None:
            raise HintNotStored(f"the inbox could not store the hint: {waiter.error}") from waiter.error
        return waiter.fresh

    def _write_group(self) -> None:
        with self._lock:
            group, self._pending = self._pending[: self._max_group], self._pending[self._max_group :]
        try:
            with self._store.transaction() as tx:
                fresh = [
                    tx.add_inbox(w.hint.ticket_id, "webhook", w.dedupe_key, _hint_payload(w.hint)) for w in group
                ]
        except BaseException as exc:  # every waiter must be answered, whatever went wrong
            for w in group:
                w.error = exc
        else:
            for w, stored in zip(group, fresh, strict=True):
                w.fresh = stored
        with self._lock:
            successor = self._pending[0] if self._pending else None
            if successor is not None:
                successor.lead = True
            else:
                self._writing = False
        for w in group:
            w.finished = True
            w.wake.set()
        if successor is not None:
            successor.wake.set()


def _hint_payload(hint: WebhookHint) -> dict[str, str | None]:
    return {
        "event_type": hint.event_type,
        "occurred_at": hint.occurred_at.isoformat() if hint.occurred_at else None,
    }


class InboxWorker:
    """Claims due hints (one per ticket), re-reads each ticket from Zendesk and applies it."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        applier: TicketApplier,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        worker_id: str | None = None,
        batch: int = 100,
        connection: ConnectionGuard | None = None,
    ) -> None:
        self.store = store
        self.connection = connection
        self.gateway = gateway
        self.applier = applier
        self.settings = settings
        self.clock = clock
        self.worker_id = worker_id or f"inbox-{uuid.uuid4().hex[:8]}"
        self.batch = batch

    def run_once(self, *, stop: Callable[[], bool] = lambda: False) -> SyncReport:
        """Handle every hint due now (claiming again while a claim comes back full); never raises for Zendesk
        errors.

        ``stop`` is asked before each hint: once it says so, the hint in hand is finished and the rest handed
        back for the next start.

        Every entry claimed and not handled (claimed again after a retry made it due within this pass, or left
        when the connection paused) is handed back: the lease heartbeat renews a live worker's leases, so an
        entry kept leased here would wait for this process to die.
        """
        applied, errors = 0, []
        seen: set[int] = set()
        while True:
            claimed = self.store.claim_inbox(
                self.worker_id, self.clock(), limit=self.batch, lease_s=self.settings.lease_s
            )
            entries = [e for e in claimed if e.id not in seen]
            self._release([e for e in claimed if e.id in seen])
            if not entries:
                break
            # A short claim took every hint due: claiming again would only find none (one more write
            # transaction per hint).  A hint stored meanwhile is the next pass's (its sink wakes it).
            last_round = len(claimed) < self.batch
            for index, entry in enumerate(entries):
                seen.add(entry.id)
                done, error = self._handle(entry)
                applied += done
                if error:
                    errors.append(error)
                if stop() or (self.connection is not None and self.connection.paused is not None):
                    self._release(entries[index + 1 :])
                    return SyncReport(inbound_applied=applied, errors=errors)
            if last_round:
                break
        return SyncReport(inbound_applied=applied, errors=errors)

    def _release(self, entries: list[InboxEntry]) -> None:
        if entries:
            with self.store.transaction() as tx:
                for entry in entries:
                    tx.release_inbox(entry)

    def _handle(self, entry: InboxEntry) -> tuple[int, str | None]:
        completed: list[bool] = []

        def complete(tx: StoreTx) -> None:
            # In the apply's own transaction: one commit for the change and the hint it answers.
            completed.append(tx.complete_inbox(entry))

        try:
            try:
                ticket = self.gateway.get_ticket(entry.ticket_id)
            except RecordNotFound:
                # Deleted in Zendesk (or never existed): a linked case closes, anything else is dropped.
                plan = self.applier.apply_deleted(entry.ticket_id, also=complete)
                applied = len(plan.actions) if plan else 0
            else:
                change, pending = self._close_evidence(ticket)
                plan = self.applier.apply(ticket, None, status_change=change, events_pending=pending, also=complete)
                applied = len(plan.actions)
        except Exception as exc:
            # Transient, or explained by the connection's pause: retried for as long as it takes.  Anything
            # else (retrying cannot help, a conflict, a bug): a few attempts, then the dead-letter list.
            if remedy_for(exc) is Remedy.RETRY or (self.connection is not None and self.connection.explains(exc)):
                self._retry(entry, exc)
            else:
                self._give_up_or_retry(entry, exc)
            return 0, f"inbox ticket {entry.ticket_id}: {type(exc).__name__}: {exc}"
        if not completed:  # nothing was written for it (a deleted ticket no case knew)
            with self.store.transaction() as tx:
                tx.complete_inbox(entry)
        return applied, None

    def _close_evidence(self, ticket: ZTicket) -> tuple[StatusChange | None, bool]:
        """What tells who set the ticket's status: the status change the poller passed without applying it
        (kept with the ticket's carried comments), and whether the poller has yet to read this change."""
        with self.store.read() as tx:
            carried = CARRIED.get(tx, ticket.id)
            pending = poller_will_read_in(tx, ticket)
        return to_change(carried.status if carried is not None else None), pending

    def _backoff(self, entry: InboxEntry, exc: Exception) -> datetime:
        delay = Backoff(BASE_BACKOFF_S, self.settings.outbox_max_backoff_s).delay(entry.attempts + 1)
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > delay:
            delay = float(retry_after)
        return self.clock() + timedelta(seconds=delay)

    def _retry(self, entry: InboxEntry, exc: Exception) -> None:
        # Transient: retried for as long as it takes (docs/design.md §4.7), never dead-lettered.
        with self.store.transaction() as tx:
            tx.fail_inbox(entry, f"{type(exc).__name__}: {exc}"[:1000], self._backoff(entry, exc))

    def _give_up_or_retry(self, entry: InboxEntry, exc: Exception) -> None:
        # Not transient (a mapping error, a refused request, an unexpected failure): a few attempts, in case
        # Zendesk's state moves on, then the hint waits in the dead-letter list with its reason.
        reason = f"{type(exc).__name__}: {exc}"[:1000]
        with self.store.transaction() as tx:
            if entry.attempts + 1 >= self.settings.inbound_max_attempts:
                tx.dead_letter_inbox(entry, reason)
                log.warning("inbox_dead_letter", ticket_id=entry.ticket_id, reason=reason)
            else:
                tx.fail_inbox(entry, reason, self._backoff(entry, exc))
