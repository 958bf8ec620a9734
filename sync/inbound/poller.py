"""The incremental poller: Zendesk's cursor ticket export plus the ticket-event export, applied in bulk.

One poll is two export requests: a page of the cursor-based ticket export (the snapshots of every ticket that
changed) and a page of the ticket-event export with ``include=comment_events`` (their comments, in bulk).
A ticket's comments are taken from the event page when that page provably holds every comment the ticket got
since it was last applied; otherwise — a ticket seen for the first time, one whose comments an earlier event
page showed before its snapshot arrived, one that changed without an audit (a comment made private) — they
are listed for that ticket alone.

Rules (DESIGN.md §6, "Polling in run_once()"):

* one poller at a time: the store's poller lock (``Store.poller_lock``: a session-level advisory lock on
  PostgreSQL, released by the server when its holder dies; the named lease ``poller`` on SQLite);
* the export budget is counted on Zendesk's clock — the latest ``Date`` header seen plus the local monotonic
  time elapsed since — in the store's kv, so every process sharing the store shares it: a pass polls unless
  the requests dated within the last 60 s already number ``10 - 2``; no minimum spacing; a 429 skips the
  poll and never sleeps;
* ``start_time`` is never later than Zendesk's now minus 60 s; the first run starts at ``settings.poll_start``
  (else ``first_window_s`` before now);
* the ticket cursor is stored only after its page was applied; a ticket that fails goes to the inbox as a
  hint (retried, then dead-lettered on its own) and never holds the cursor back.
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
from mappings.zendesk import ZComment, ZTicket
from sync.errors import CaseSyncError, RateLimited
from sync.gateway import ZendeskGateway
from sync.gateway.models import CommentEvent, EventPage, TicketPage
from sync.inbound.apply import TicketApplier, gap_key
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.report import SyncReport
from sync.settings import Settings
from sync.store import Store

__all__ = ["EVENTS_CURSOR", "REQUESTS_PER_POLL", "REQUEST_LOG_KEY", "TICKETS_CURSOR", "InboundPoller"]

log = get_logger(__name__)

TICKETS_CURSOR = "zendesk.tickets"
EVENTS_CURSOR = "zendesk.ticket_events"
#: kv key: Zendesk-clock epoch times of recent export requests (shared by every process of the store).
REQUEST_LOG_KEY = "inbound.export_requests"
#: A poll is one ticket-export page and one event-export page.
REQUESTS_PER_POLL = 2


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _to_comment(event: CommentEvent) -> ZComment:
    return ZComment(
        id=event.comment_id,
        author_id=event.author_id,
        body=event.body,
        public=event.public,
        created_at=event.created_at,
        attachments=list(event.attachments),
        custom=dict(event.custom),
        via_channel=event.via_channel,
    )


class InboundPoller:
    """Polls Zendesk's incremental exports and applies what changed.  ``run_once`` is one poll at most."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = _utcnow,
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
        #: Whether the last poll reached the end of the ticket export's stream.
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

    def _reserve_budget(self) -> bool:
        """Book this poll's requests in the shared log (the caller holds the poller lock); False when it
        may not poll."""
        now = self.zendesk_now()
        with self.store.transaction() as tx:
            dates = [datetime.fromtimestamp(float(x), tz=UTC) for x in tx.kv_get(REQUEST_LOG_KEY, []) or []]
            dates = prune_request_log(dates, now)
            # Readings of Zendesk's clock have one-second resolution and come from several processes: a
            # booking that reads as slightly in the future still counts (the window ends at the latest one).
            if not may_poll(dates, max([now, *dates]), requests_per_poll=REQUESTS_PER_POLL):
                tx.kv_set(REQUEST_LOG_KEY, [d.timestamp() for d in dates])
                return False
            dates += [now] * REQUESTS_PER_POLL
            tx.kv_set(REQUEST_LOG_KEY, [d.timestamp() for d in dates])
        return True

    # -- one poll ------------------------------------------------------------------------------------

    def run_once(self) -> SyncReport:
        """Poll once if the lease and the export budget allow; apply the page; report.

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

    def _fetch(self) -> tuple[TicketPage, EventPage, int] | SyncReport:
        with self.store.read() as tx:
            cursor = tx.get_cursor(TICKETS_CURSOR)
            events_from = tx.get_cursor(EVENTS_CURSOR)
        first = self._start_time(None) if cursor is None else None
        events_start = self._start_time(events_from) if events_from is not None else self._start_time(None)
        try:
            if cursor is not None:
                tickets = self.gateway.export_tickets(cursor=cursor, per_page=self.per_page)
            else:
                tickets = self.gateway.export_tickets(start_time=first, per_page=self.per_page)
            self._observe(tickets.server_date)
            events = self.gateway.export_ticket_events(events_start)
            self._observe(events.server_date)
        except RateLimited:
            log.info("poll_skipped_rate_limited")
            return SyncReport()
        except CaseSyncError as exc:
            return SyncReport(errors=[f"poll: {type(exc).__name__}: {exc}"])
        return tickets, events, events_start

    def _poll(self) -> SyncReport:
        fetched = self._fetch()
        if isinstance(fetched, SyncReport):
            return fetched
        tickets_page, events, events_start = fetched
        by_ticket: dict[int, list[ZComment]] = {}
        for event in events.comment_events:
            by_ticket.setdefault(event.ticket_id, []).append(_to_comment(event))
        # Zendesk may repeat a ticket within a page or across a boundary: the last snapshot wins.
        snapshots: dict[int, ZTicket] = {}
        for ticket in tickets_page.tickets:
            snapshots[ticket.id] = ticket
        events_end = events.end_time if events.end_time is not None else events_start

        applied, errors, fallbacks = 0, [], 0
        for ticket in snapshots.values():
            if not self._managed(ticket):
                continue
            try:
                comments: list[ZComment] | None = by_ticket.get(ticket.id, [])
                complete = False
                # A deleted ticket's comments cannot be listed, and no longer matter.
                if ticket.status != "deleted" and not self._events_cover(ticket, events, events_start, events_end):
                    comments, complete = None, True
                    fallbacks += 1
                plan = self.applier.apply(ticket, comments, complete=complete)
                applied += len(plan.actions)
            except CaseSyncError as exc:
                errors.append(self._defer(ticket, exc))
            except Exception as exc:  # a mapping error (unknown status, missing author): this ticket only
                errors.append(self._defer(ticket, exc))
        self.last_fallbacks = fallbacks
        self.caught_up = tickets_page.end_of_stream

        # The event export resumes where the ticket export stands, so that the comments of tickets the ticket
        # export has not reached yet are read again with their snapshots rather than listed one by one.
        events_next = events_end
        if tickets_page.after_cursor:
            with contextlib.suppress(InvalidCursor):
                events_next = min(events_end, decode_after_cursor(tickets_page.after_cursor).timestamp)
        events_next = max(events_start, events_next)
        with self.store.transaction() as tx:
            for ticket_id, comments_seen in by_ticket.items():
                if ticket_id in snapshots:
                    continue
                state = tx.ticket_state(ticket_id)
                applied_at = state.generated_timestamp if state is not None else None
                if any(
                    c.created_at.timestamp() < events_next
                    and (applied_at is None or int(c.created_at.timestamp()) > applied_at)
                    for c in comments_seen
                ):
                    # Comments newer than the ticket's last apply, passed before its snapshot arrived: list
                    # them in full when it does.
                    tx.kv_set(gap_key(ticket_id), True)
            if tickets_page.after_cursor:
                tx.set_cursor(TICKETS_CURSOR, tickets_page.after_cursor)
            tx.set_cursor(EVENTS_CURSOR, str(events_next))
        if self.metrics is not None:
            self.metrics.mark_poll_success()
            if tickets_page.after_cursor:
                try:
                    position = decode_after_cursor(tickets_page.after_cursor)
                    log.debug("poll_lag", lag_s=lag_seconds(position, self.zendesk_now()))
                except InvalidCursor:
                    pass
        return SyncReport(inbound_applied=applied, polled=True, errors=errors)

    def _managed(self, ticket: ZTicket) -> bool:
        """Whether the ticket can concern the console: linked, a follow-up of a linked one, or ours by id."""
        with self.store.read() as tx:
            if tx.case_of_ticket(ticket.id) is not None:
                return True
            if ticket.followup_source_id is not None and tx.case_of_ticket(ticket.followup_source_id) is not None:
                return True
        return try_parse_case_external_id(ticket.external_id) is not None

    def _events_cover(self, ticket: ZTicket, events: EventPage, start: int, end: int) -> bool:
        """Whether the event page holds every comment ``ticket`` got since it was last applied."""
        with self.store.read() as tx:
            if tx.kv_get(gap_key(ticket.id)):
                return False
            state = tx.ticket_state(ticket.id)
        since = state.generated_timestamp if state is not None else None
        changed_at = ticket.generated_timestamp
        if changed_at is None:
            return False
        if since is not None and changed_at <= since:
            return True  # nothing new since the last apply (a repeat at a page boundary)
        if since is None and (ticket.created_at is None or ticket.created_at.timestamp() < start):
            return False  # never applied: every comment since its creation must be on the page
        # Comments between the last apply and the page's start were applied with an earlier page, or left a
        # gap marker (checked above) when their ticket's snapshot was not on that page.
        if not events.end_of_stream and changed_at > end:
            return False  # the page stops before the ticket's latest change
        # A change later than the ticket's latest audit had no audit (a comment made private): list them.
        latest_event = events.ticket_event_times.get(ticket.id)
        return latest_event is not None and latest_event >= changed_at

    def _defer(self, ticket: ZTicket, exc: Exception) -> str:
        key = f"poll:{ticket.id}:{ticket.generated_timestamp}"
        with self.store.transaction() as tx:
            tx.add_inbox(ticket.id, "poll", key, {"error": str(exc)[:500]})
        log.warning("inbound_ticket_deferred", ticket_id=ticket.id, error=str(exc))
        return f"ticket {ticket.id}: {type(exc).__name__}: {exc}"
