"""The comments of a backfill's tickets, read in bulk from the ticket-event export.

Zendesk's incremental ticket-event export with the ``comment_events`` sideload lists every comment of every
ticket update as a ``Comment`` child event — ``id``, ``author_id``, ``body``, ``html_body``, ``public``,
``attachments``, ``created_at`` (OAS ``IncrementalTicketEvents``, "Sideloading"; the notes in
``docs/sandbox-conformance.md``) — up to 1,000 events a page, under the incremental exports' budget of 10
requests a minute (https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/).
So one event page carries the comments of hundreds of tickets, where the comment listing costs a request per
ticket.  The export is read with the inbound poller's gateway call and window (:mod:`sync.inbound.events`),
from the backfill's start over the same range as the ticket export, a ticket page at a time.

A ticket's comments are taken from the export only when it proves them complete, else the ticket's comments
are listed (``None`` from :meth:`BulkComments.comments_for`):

* the ticket was created before the window starts (updated since the backfill's date but older, or a run
  resumed past its first comments): earlier comments are not in the window;
* its latest change has no event in the window (whatever Zendesk changes without an audit), as the poller's
  :func:`~sync.inbound.events.coverage` decides;
* a public comment comes without ``html_body`` (the message's HTML is made from it), or its HTML shows an
  image (``<img``): the comment listing is asked for inline images (``include_inline_images=true``); whether
  the export lists inline attachments is not documented, so such a ticket is listed rather than imported
  without its pasted screenshots.

A comment made private later (a ``CommentPrivacyChange`` event in the window) is private here too, so it is
never imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial

from mappings.zendesk import ZComment, ZTicket
from sync.gateway import EventPage, ZendeskGateway
from sync.inbound.events import Coverage, EventWindow, coverage, merge_comments, to_comment, with_privacy_changes

__all__ = ["BulkComments"]


class BulkComments:
    """The ticket-event export read forwards from ``start``, a window shared by the whole run.

    ``budgeted`` runs one export read, waiting out the export's budget (the backfill's
    :class:`~sync.retry.BudgetWait`).  :attr:`cursor` is the next page's ``start_time``, stored with the
    ticket cursor so that a resumed run reads on from there.
    """

    def __init__(self, gateway: ZendeskGateway, start: int, budgeted: Callable[[Callable[[], EventPage]], EventPage]
                 ) -> None:
        self.gateway = gateway
        self.budgeted = budgeted
        self.window = EventWindow(start=start)
        self.listed = 0  # tickets whose comments the export could not prove complete

    @property
    def cursor(self) -> int:
        """Where the next event page starts (epoch seconds)."""
        return self.window.end

    @property
    def pages(self) -> int:
        """Event pages read by this run."""
        return self.window.pages

    def comments_for(self, tickets: Iterable[ZTicket]) -> dict[int, list[ZComment] | None]:
        """Ticket id → its comments, every one (internal notes too), oldest first; ``None``: list them."""
        tickets = list(tickets)
        while not self.window.end_of_stream and any(self._coverage(t) is Coverage.HELD for t in tickets):
            page = self.budgeted(partial(self.gateway.export_ticket_events, self.window.end))
            if not self.window.add(page):
                break  # the export did not move on: the held tickets are listed
        out: dict[int, list[ZComment] | None] = {}
        for ticket in tickets:
            comments = self._comments(ticket) if self._coverage(ticket) is Coverage.COVERED else None
            out[ticket.id] = comments
            self.listed += comments is None
        return out

    def forget(self, tickets: Iterable[ZTicket]) -> None:
        """The backfill is done with ``tickets`` (their page is stored): their events are dropped, so the
        window holds only tickets still to come.  One seen again later is listed, or skipped as linked."""
        self.window.forget(t.id for t in tickets)

    def _coverage(self, ticket: ZTicket) -> Coverage:
        return coverage(ticket, None, False, None, self.window)

    def _comments(self, ticket: ZTicket) -> list[ZComment] | None:
        events = merge_comments(self.window.comments(ticket.id))
        # A covered ticket has a creation time (coverage lists one without); a privacy change is no later
        # than the ticket's last update.
        at = ticket.updated_at or ticket.created_at
        comments = [to_comment(e) for e in events]
        if at is not None:
            comments = with_privacy_changes(comments, self.window.made_private(ticket.id), at)
        for comment in comments:
            if comment.public and (comment.html_body is None or "<img" in comment.html_body):
                return None  # the listing has what the message needs (see the module's docstring)
        return sorted(comments, key=lambda c: (c.created_at, c.id))
