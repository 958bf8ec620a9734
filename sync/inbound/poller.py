"""The incremental poller: Zendesk's cursor ticket export plus the ticket-event export, applied in bulk.

One poll reads a page of the cursor-based ticket export (the snapshots of every ticket that changed), then as
many pages of the ticket-event export with ``include=comment_events`` (their comments, in bulk) as it takes to
reach those snapshots' changes — within the export budget.  A ticket's comments come from the event pages and
the comments carried from earlier polls (:mod:`sync.inbound.events`); they are listed for that ticket alone
only when the export cannot prove them complete (a gap marker, an old ticket seen for the first time, a
change without any event in the export).  A comment made private is a ``CommentPrivacyChange`` event of the
export: the message imported from it is withdrawn in the transaction that moves the events cursor past the
event (:mod:`sync.inbound.settle`), whatever becomes of the ticket's snapshot, and without a listing.  The
ticket's latest ``status`` change event (read now, or carried) goes with the snapshot as the evidence of who
closed it (:func:`mappings.closer.who_closed`): a close of a solved ticket by an agent is staff's, the
automation's is the system's.

Rules (docs/design.md §6, "Polling in run_once()"):

* one poller at a time: the store's poller lock (``Store.poller_lock``: a session-level advisory lock on
  PostgreSQL, released by the server when its holder dies; the named lease ``poller`` on SQLite);
* the export budget is counted on Zendesk's clock — the latest ``Date`` header seen plus the local monotonic
  time elapsed since — in the store's kv, so every process sharing the store shares it.  A poll needs
  ``2 + extra event pages``: a pass polls unless the requests dated within the last 60 s already number
  ``10 - 2``, and books each extra page before sending it, under the same rule with 1; no minimum spacing; a
  429 skips the poll (on an extra page: no further pages) and never sleeps;
* ``start_time`` is never later than Zendesk's now minus 60 s; the first run starts at ``settings.poll_start``
  (else ``first_window_s`` before now), and keeps that start until a ticket cursor is stored;
* the ticket cursor is stored only after its page was applied, and not at all while a ticket of the page
  waits for event pages the budget did not allow (that page is read again; its other tickets repeat
  harmlessly); the events cursor, the carried comments and the gap markers are stored in one transaction
  with it; a ticket that fails goes to the inbox as a hint (retried, then dead-lettered on its own) and never
  holds the cursor back.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mappings.cursor import (
    ZendeskClock,
    clamp_start_time,
    decode_after_cursor,
    lag_seconds,
    may_poll,
    prune_request_log,
)
from mappings.errors import InvalidCursor
from mappings.external_ids import try_parse_case_external_id
from mappings.zendesk import ZTicket
from sync.clock import utc_now
from sync.errors import CaseSyncError, RateLimited
from sync.gateway import ZendeskGateway
from sync.gateway.models import TicketPage
from sync.inbound.apply import TicketApplier
from sync.inbound.events import (
    Carried,
    Coverage,
    EventWindow,
    coverage,
    latest_status,
    merge_comments,
    to_change,
    to_comment,
    with_privacy_changes,
)
from sync.inbound.settle import settle_events
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.report import SyncReport
from sync.settings import Settings
from sync.store import Store, StoreTx
from sync.store.kv_keys import CARRIED, COMMENT_GAP, EXPORT_REQUESTS, FIRST_START_TIME

__all__ = [
    "EVENTS_CURSOR",
    "REQUESTS_PER_POLL",
    "TICKETS_CURSOR",
    "InboundPoller",
    "poller_will_read",
    "poller_will_read_in",
]

log = get_logger(__name__)

TICKETS_CURSOR = "zendesk.tickets"
EVENTS_CURSOR = "zendesk.ticket_events"
#: A poll is at least one ticket-export page and one event-export page; further event pages are booked one
#: by one.
REQUESTS_PER_POLL = 2


def poller_will_read(store: Store, ticket: ZTicket) -> bool:
    """Whether the poller has yet to read this snapshot of ``ticket``: its stored ticket cursor lies before the
    snapshot's change (without a cursor, or with one it cannot read, nothing is promised)."""
    if ticket.generated_timestamp is None:
        return False
    with store.read() as tx:
        return poller_will_read_in(tx, ticket)


def poller_will_read_in(tx: StoreTx, ticket: ZTicket) -> bool:
    """:func:`poller_will_read` inside the caller's transaction."""
    if ticket.generated_timestamp is None:
        return False
    cursor = tx.get_cursor(TICKETS_CURSOR)
    if not cursor:
        return False
    try:
        return ticket.generated_timestamp > decode_after_cursor(cursor).timestamp
    except InvalidCursor:
        return False


class _Snapshot:
    """A managed ticket of the page with what its coverage needs from the store."""

    __slots__ = ("carried", "gap", "since", "ticket")

    def __init__(self, ticket: ZTicket, since: int | None, gap: bool, carried: Carried | None) -> None:
        self.ticket, self.since, self.gap, self.carried = ticket, since, gap, carried

    def coverage(self, window: EventWindow) -> Coverage:
        return coverage(self.ticket, self.since, self.gap, self.carried, window)


class InboundPoller:
    """Polls Zendesk's incremental exports and applies what changed.  ``run_once`` is one poll at most."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        owner_id: str | None = None,
        applier: TicketApplier | None = None,
        metrics: Metrics | None = None,
        first_window_s: float = 3600.0,
        per_page: int | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.settings = settings
        self.clock = clock
        self.monotonic = monotonic
        self.owner_id = owner_id or f"poller-{uuid.uuid4().hex[:8]}"
        self.applier = applier or TicketApplier(store, gateway, settings, clock=clock, metrics=metrics)
        self.metrics = metrics
        self.first_window_s = first_window_s
        self.per_page = per_page
        self._zclock: ZendeskClock | None = None
        #: Comment listings the last poll needed ticket by ticket (for benchmarks and tests).
        self.last_fallbacks = 0
        #: Event-export pages the last poll read.
        self.last_event_pages = 0
        #: Tickets the last poll left for the next one because the export budget ran out.
        self.last_held = 0
        #: Whether the last poll reached the end of the ticket export's stream (and applied all of it).
        self.caught_up = False

    # -- Zendesk's clock and the budget --------------------------------------------------------------

    def zendesk_now(self) -> datetime:
        """Zendesk's clock: the latest ``Date`` seen by this poller plus local time since (else the gateway's)."""
        # The gateway's session sees every response's Date (not only the exports'): the later reading wins.
        seen = self.gateway.zendesk_now()
        if self._zclock is not None:
            return max(seen, self._zclock.now(self.monotonic()))
        return seen

    def _observe(self, date: datetime | None) -> None:
        if date is None:
            return
        now = self.monotonic()
        self._zclock = ZendeskClock(date=date, seen_at_monotonic=now) if self._zclock is None else (
            self._zclock.observe(date, now)
        )

    def _reserve_budget(self, requests: int = REQUESTS_PER_POLL) -> bool:
        """Book ``requests`` export requests in the shared log (the caller holds the poller lock); False when
        the requests in the window already number ``10 - requests``."""
        now = self.zendesk_now()
        with self.store.transaction() as tx:
            dates = [datetime.fromtimestamp(float(x), tz=UTC) for x in EXPORT_REQUESTS.get(tx) or []]
            dates = prune_request_log(dates, now)
            # Readings of Zendesk's clock have one-second resolution and come from several processes: a
            # booking that reads as slightly in the future still counts (the window ends at the latest one).
            if not may_poll(dates, max([now, *dates]), requests_per_poll=requests):
                EXPORT_REQUESTS.put(tx, [d.timestamp() for d in dates])
                return False
            dates += [now] * requests
            EXPORT_REQUESTS.put(tx, [d.timestamp() for d in dates])
        return True

    # -- one poll ------------------------------------------------------------------------------------

    def run_once(self) -> SyncReport:
        """Poll once if the lease and the export budget allow; apply what the pages cover; report.

        Never raises for Zendesk or network errors: they are in the report's ``errors``.
        """
        with self.store.poller_lock(self.owner_id, self.settings.lease_s) as held:
            if not held or not self._reserve_budget():
                return SyncReport()
            return self._poll()

    def _start_time(self, stored: str | None) -> int:
        now = self.zendesk_now()
        if stored is not None and stored.isdigit():
            return clamp_start_time(int(stored), now)
        start = self.settings.poll_start or (now - timedelta(seconds=self.first_window_s))
        return clamp_start_time(start if start.tzinfo else start.replace(tzinfo=UTC), now)

    def _fetch(self) -> tuple[TicketPage, EventWindow, int | None] | SyncReport:
        with self.store.read() as tx:
            cursor = tx.get_cursor(TICKETS_CURSOR)
            events_from = tx.get_cursor(EVENTS_CURSOR)
            first_from = FIRST_START_TIME.get(tx)
        # A first page read again (its tickets waited for event pages) starts where it started before.
        first = self._start_time(str(first_from) if first_from is not None else None) if cursor is None else None
        window = EventWindow(start=self._start_time(events_from))
        try:
            if cursor is not None:
                tickets = self.gateway.export_tickets(cursor=cursor, per_page=self.per_page)
            else:
                tickets = self.gateway.export_tickets(start_time=first, per_page=self.per_page)
            self._observe(tickets.server_date)
            events = self.gateway.export_ticket_events(window.start)
            self._observe(events.server_date)
        except RateLimited:
            log.info("poll_skipped_rate_limited")
            return SyncReport()
        except CaseSyncError as exc:
            return SyncReport(errors=[f"poll: {type(exc).__name__}: {exc}"])
        window.add(events)
        return tickets, window, first

    def _extend(self, window: EventWindow, snapshots: list[_Snapshot], errors: list[str]) -> None:
        """Read further event pages while a snapshot's change lies beyond the window and the budget allows."""
        while not window.end_of_stream and any(s.coverage(window) is Coverage.HELD for s in snapshots):
            if not self._reserve_budget(1):
                return
            try:
                page = self.gateway.export_ticket_events(window.end)
            except RateLimited:
                log.info("poll_event_pages_rate_limited", pages=window.pages)
                return
            except CaseSyncError as exc:
                errors.append(f"poll: {type(exc).__name__}: {exc}")
                return
            self._observe(page.server_date)
            if not window.add(page):
                return  # more events share one second than a page holds: list those tickets instead

    def _poll(self) -> SyncReport:
        fetched = self._fetch()
        if isinstance(fetched, SyncReport):
            return fetched
        tickets_page, window, first = fetched
        # Zendesk may repeat a ticket within a page or across a boundary: the last snapshot wins.
        latest: dict[int, ZTicket] = {}
        for ticket in tickets_page.tickets:
            latest[ticket.id] = ticket
        snapshots, unmanaged = self._snapshots(latest)
        errors: list[str] = []
        self._extend(window, snapshots, errors)

        applied, fallbacks, held = 0, 0, 0
        handled: dict[int, int | None] = {}
        for snap in snapshots:
            ticket = snap.ticket
            cover = snap.coverage(window)
            if cover is Coverage.HELD and window.end <= window.start:
                cover = Coverage.LIST  # the export did not move on at all: progress by listing
            if cover is Coverage.HELD:
                held += 1
                continue
            # Who set the snapshot's status, when the export's events tell (a close by staff or by Zendesk).
            carried = snap.carried.status if snap.carried else None
            change = to_change(latest_status(carried, window.status_event(ticket.id)))
            try:
                if cover is Coverage.LIST:
                    fallbacks += 1
                    plan = self.applier.apply(ticket, None, status_change=change)
                else:
                    events = merge_comments(snap.carried.comments if snap.carried else (), window.comments(ticket.id))
                    comments = [to_comment(e) for e in events]
                    made_private = window.made_private(ticket.id)
                    if made_private:
                        when = window.latest_event(ticket.id) or ticket.generated_timestamp or 0
                        comments = with_privacy_changes(comments, made_private, datetime.fromtimestamp(when, tz=UTC))
                    plan = self.applier.apply(ticket, comments, status_change=change)
                applied += len(plan.actions)
                handled[ticket.id] = ticket.generated_timestamp
            except CaseSyncError as exc:
                errors.append(self._defer(ticket, exc))
            except Exception as exc:  # a mapping error (unknown status, missing author): this ticket only
                errors.append(self._defer(ticket, exc))
        self.last_fallbacks, self.last_held, self.last_event_pages = fallbacks, held, window.pages
        self.caught_up = tickets_page.end_of_stream and not held

        if held:
            # The page is read again next time; the events cursor moves to the window's end regardless, its
            # comments carried, so that every poll makes progress on a page needing more than one budget.
            cursor, events_next = None, window.end
        else:
            cursor, events_next = tickets_page.after_cursor, window.end
            if cursor:
                # The event export resumes where the ticket export stands, so that the comments of tickets the
                # ticket export has not reached yet are read again with their snapshots rather than carried.
                with contextlib.suppress(InvalidCursor):
                    events_next = min(events_next, decode_after_cursor(cursor).timestamp)
            events_next = max(window.start, events_next)
        with self.store.transaction() as tx:
            settle_events(tx, window, events_next, applied=handled, ignored=unmanaged, held=bool(held))
            if cursor:
                tx.set_cursor(TICKETS_CURSOR, cursor)
                if first is not None:
                    FIRST_START_TIME.clear(tx)
            elif held and first is not None:
                FIRST_START_TIME.put(tx, first)
            tx.set_cursor(EVENTS_CURSOR, str(events_next))
        if held:
            log.info("poll_tickets_held", tickets=held, event_pages=window.pages)
        if self.metrics is not None:
            self.metrics.mark_poll_success()
            if cursor:
                with contextlib.suppress(InvalidCursor):
                    log.debug("poll_lag", lag_s=lag_seconds(decode_after_cursor(cursor), self.zendesk_now()))
        return SyncReport(inbound_applied=applied, polled=True, errors=errors)

    def _snapshots(self, latest: dict[int, ZTicket]) -> tuple[list[_Snapshot], list[int]]:
        """The page's managed tickets with their watermark, gap marker and carried comments; the others' ids."""
        managed: list[_Snapshot] = []
        unmanaged: list[int] = []
        with self.store.read() as tx:
            for ticket in latest.values():
                linked = tx.case_of_ticket(ticket.id) is not None or (
                    ticket.followup_source_id is not None and tx.case_of_ticket(ticket.followup_source_id) is not None
                )
                # Linked, a follow-up of a linked one, or ours by id: it can concern the console.
                if not linked and try_parse_case_external_id(ticket.external_id) is None:
                    unmanaged.append(ticket.id)
                    continue
                state = tx.ticket_state(ticket.id)
                managed.append(_Snapshot(
                    ticket,
                    state.generated_timestamp if state is not None else None,
                    bool(COMMENT_GAP.get(tx, ticket.id)),
                    CARRIED.get(tx, ticket.id),
                ))
        return managed, unmanaged

    def _defer(self, ticket: ZTicket, exc: Exception) -> str:
        key = f"poll:{ticket.id}:{ticket.generated_timestamp}"
        with self.store.transaction() as tx:
            tx.add_inbox(ticket.id, "poll", key, {"error": str(exc)[:500]})
        log.warning("inbound_ticket_deferred", ticket_id=ticket.id, error=str(exc))
        return f"ticket {ticket.id}: {type(exc).__name__}: {exc}"
