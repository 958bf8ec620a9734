"""The ticket-event export read as one window of consecutive pages, and the comments carried between polls.

A poll reads the event export from the events cursor ``E`` onwards, page after page (:class:`EventWindow`).
Whether a ticket snapshot's comments are all known without listing them is :func:`coverage`'s decision.

**Carried comments.**  When the events cursor moves past comments whose ticket is not applied in the same poll
(its snapshot is on a later ticket page, its page ran out of export budget, its apply failed), they are kept
in the store's kv as a :class:`Carried` record (``sync.store.kv_keys.CARRIED``), in the transaction that moves the
cursor.  The invariant every poll keeps, per ticket ``t``:

    every comment of ``t`` created before ``E`` was applied with a snapshot of ``t`` (the ticket's watermark
    is at or after it), or ``t`` has a comment-gap marker (its comments are then listed in full), or the
    comment is in ``t``'s carried record, which holds every unapplied comment of ``t`` created in
    ``[Carried.start, E)``.

So a snapshot newer than the ticket's watermark is covered when the carried record and the window together
reach from the watermark to the snapshot's time.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from mappings.closer import StatusChange
from mappings.zendesk import ZComment, ZTicket
from sync.gateway.models import CommentEvent, EventPage, StatusEvent
from sync.store.kv_values import Carried

__all__ = ["CARRY_LIMIT", "Carried", "Coverage", "EventWindow", "coverage", "latest_status", "merge_comments",
           "to_change", "to_comment", "with_privacy_changes"]

#: Comments carried for one ticket at most; beyond, the ticket is gap-marked and its comments listed once
#: (the kv is not a comment archive).
CARRY_LIMIT = 500


def to_comment(event: CommentEvent) -> ZComment:
    """The comment an event of the export describes, as the applier takes it."""
    return ZComment(
        id=event.comment_id,
        author_id=event.author_id,
        body=event.body,
        html_body=event.html_body,
        public=event.public,
        created_at=event.created_at,
        attachments=list(event.attachments),
        custom=dict(event.custom),
        via_channel=event.via_channel,
    )


def latest_status(*events: StatusEvent | None) -> StatusEvent | None:
    """The latest of ``events`` (the last one given wins a tie: pass them in the order they were read)."""
    out: StatusEvent | None = None
    for event in events:
        if event is not None and (out is None or event.at >= out.at):
            out = event
    return out


def to_change(event: StatusEvent | None) -> StatusChange | None:
    """The status change an event of the export describes, as the evidence of who closed a ticket."""
    if event is None:
        return None
    return StatusChange(status=event.status, updater_id=event.updater_id, via_channel=event.via_channel)


def merge_comments(*groups: Iterable[CommentEvent]) -> list[CommentEvent]:
    """The events of ``groups`` once each (by comment id, the first wins), in the order they were made."""
    seen: dict[int, CommentEvent] = {}
    for group in groups:
        for event in group:
            seen.setdefault(event.comment_id, event)
    return sorted(seen.values(), key=lambda e: (e.created_at, e.comment_id))


@dataclass
class EventWindow:
    """Consecutive pages of the ticket-event export from ``start`` (inclusive) to ``end`` (exclusive).

    Pages overlap at their boundary second (the next page starts at ``end_time``): comments are kept once.
    """

    start: int
    end: int = -1
    end_of_stream: bool = False
    pages: int = 0
    _comments: dict[int, dict[int, CommentEvent]] = field(default_factory=dict)
    _times: dict[int, int] = field(default_factory=dict)
    _private: dict[int, dict[int, None]] = field(default_factory=dict)
    _status: dict[int, StatusEvent] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.end < 0:
            self.end = self.start

    def add(self, page: EventPage) -> bool:
        """Add the next page (read from :attr:`end`); ``False`` when it did not move the window on."""
        for event in page.comment_events:
            self._comments.setdefault(event.ticket_id, {}).setdefault(event.comment_id, event)
        for ticket_id, when in page.ticket_event_times.items():
            self._times[ticket_id] = max(self._times.get(ticket_id, when), when)
        for ticket_id, comment_ids in page.privacy_changes.items():
            self._private.setdefault(ticket_id, {}).update(dict.fromkeys(comment_ids))
        for status in page.status_events:
            latest = latest_status(self._status.get(status.ticket_id), status)
            if latest is not None:
                self._status[status.ticket_id] = latest
        self.pages += 1
        self.end_of_stream = page.end_of_stream
        end = page.end_time if page.end_time is not None else self.end
        if not page.end_of_stream and end <= self.end:
            # Every event of the page is in the second it started at: the export puts all the events that
            # share a page's last second on that page, so this page holds the whole second — the next one
            # starts after it (starting at ``end_time`` would return this page again).
            end = self.end + 1
        moved = end > self.end or page.end_of_stream
        self.end = max(self.end, end)
        return moved

    def comments(self, ticket_id: int) -> list[CommentEvent]:
        """The ticket's comment events in the window."""
        return list(self._comments.get(ticket_id, {}).values())

    def latest_event(self, ticket_id: int) -> int | None:
        """The time of the ticket's latest event (of any kind) in the window."""
        return self._times.get(ticket_id)

    def made_private(self, ticket_id: int) -> list[int]:
        """The ticket's comments made private in the window (``CommentPrivacyChange`` events)."""
        return list(self._private.get(ticket_id, {}))

    def status_event(self, ticket_id: int) -> StatusEvent | None:
        """The ticket's latest status change in the window."""
        return self._status.get(ticket_id)

    def ticket_ids(self) -> set[int]:
        """Every ticket with an event in the window."""
        return set(self._comments) | set(self._times) | set(self._private) | set(self._status)

    def forget(self, ticket_ids: Iterable[int]) -> None:
        """Drop what the window holds of ``ticket_ids`` (they were dealt with): a long read keeps only the
        tickets still to come.  A forgotten ticket met again has no events here, so it is not covered."""
        for ticket_id in ticket_ids:
            for held in (self._comments, self._times, self._private, self._status):
                held.pop(ticket_id, None)


def with_privacy_changes(
    comments: Iterable[ZComment], made_private: Iterable[int], at: datetime
) -> list[ZComment]:
    """``comments`` with those of ``made_private`` as private, for the applier to withdraw what it imported.

    A comment made private whose content is not at hand (created before the window) is added as a private
    stand-in with its id alone: the applier withdraws a private comment it imported, and never imports one, so
    only the id and the privacy speak (``at``, the change's time at the latest, orders it; no author needed).
    """
    private = dict.fromkeys(made_private)
    out: list[ZComment] = []
    for comment in comments:
        if comment.id in private:
            private.pop(comment.id)
            comment = comment.model_copy(update={"public": False})
        out.append(comment)
    out.extend(ZComment(id=comment_id, author_id=-1, public=False, created_at=at) for comment_id in private)
    return out


class Coverage(enum.Enum):
    """What a poll does with a ticket snapshot's comments."""

    #: Everything since the watermark is in the carried record and the window: apply with them.
    COVERED = "covered"
    #: The window stops before the snapshot's latest change: wait for more event pages.
    HELD = "held"
    #: The export cannot prove the comments complete (gap marker, first sight of an old ticket, a change
    #: without an audit): list the ticket's comments.
    LIST = "list"


def coverage(
    ticket: ZTicket, since: int | None, gap: bool, carried: Carried | None, window: EventWindow
) -> Coverage:
    """Whether the carried record and the window hold every comment ``ticket`` got after ``since``.

    ``since`` is the generated timestamp of the snapshot last applied (``None``: never applied); ``gap``
    whether the ticket is gap-marked.
    """
    if ticket.status == "deleted":
        return Coverage.COVERED  # its comments cannot be listed, and no longer matter
    if gap:
        return Coverage.LIST
    changed_at = ticket.generated_timestamp
    if changed_at is None:
        return Coverage.LIST
    if since is not None and changed_at <= since:
        return Coverage.COVERED  # nothing new since the last apply (a repeat at a page boundary)
    start = carried.start if carried is not None else window.start
    if since is None and (ticket.created_at is None or ticket.created_at.timestamp() < start):
        return Coverage.LIST  # never applied: every comment since its creation must be known
    # Comments before ``start`` were applied (invariant above); from ``start`` to the window they are carried.
    if not window.end_of_stream and changed_at >= window.end:
        # The boundary second may continue on the next page: only a change before ``end`` is surely read.
        return Coverage.HELD
    # A change later than the ticket's latest event had no event in the export (whatever Zendesk changes
    # without an audit): list them.  A comment made private has its event (``CommentPrivacyChange``).
    times = [t for t in (window.latest_event(ticket.id), carried.seen if carried else None) if t is not None]
    return Coverage.COVERED if times and max(times) >= changed_at else Coverage.LIST
