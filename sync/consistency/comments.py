"""Public comment ids per ticket, read from the ticket-event export (a few requests for thousands of tickets).

The reconciler compares them with the comment ids the store's messages carry.  The export is the cheap way
to see every ticket's comments at once: one request returns up to 1,000 audits with their comments, where
listing comments costs one request per ticket.  The export has its own budget (10 requests a minute on
Zendesk): a 429 is waited out with ``sleep`` a few times before the check is given up for this run.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from mappings.inbound import MARKER_KEY
from mappings.redaction import REDACTED_FILENAME, marks
from sync.errors import RetriableError
from sync.gateway import EventPage, ZendeskGateway
from sync.retry import BudgetWait
from sync.store import MessageRecord

__all__ = ["CommentCensus", "ExportBudgetExhausted", "comment_census", "redaction_drift"]

_MAX_WAITS = 6
_MAX_PAGES = 100_000


class ExportBudgetExhausted(Exception):
    """The export stayed rate-limited: comments could not be checked in this run."""


@dataclass
class CommentCensus:
    """For each ticket asked about: the ids of its public comments and of its private ones.

    Comments carrying casesync's marker (its own writes) are left out: they are matched to console messages
    by the outbox, not by the reconciler.
    """

    public: dict[int, set[int]] = field(default_factory=dict)
    private: dict[int, set[int]] = field(default_factory=dict)
    requests: int = 0
    #: Comment id → how many redacted characters (``▇``) its body and HTML hold now, and the Zendesk ids of its
    #: attachments now redacted (``redacted.txt``): compared with the console's copy to find redactions.
    redaction_marks: dict[int, int] = field(default_factory=dict)
    redacted_files: dict[int, set[int]] = field(default_factory=dict)


def comment_census(
    gateway: ZendeskGateway,
    tickets: Collection[int],
    start_time: int,
    *,
    sleep: Callable[[float], None],
) -> CommentCensus:
    """Walk the ticket-event export from ``start_time`` to its end, collecting the comments of ``tickets``.

    Raises :class:`ExportBudgetExhausted` when the export stays rate-limited.
    """
    census = CommentCensus()
    wanted = set(tickets)
    start = start_time
    for _ in range(_MAX_PAGES):
        page = _fetch(gateway, start, sleep)
        census.requests += 1
        for event in page.comment_events:
            if event.ticket_id not in wanted or MARKER_KEY in event.custom:
                continue
            target = census.public if event.public else census.private
            target.setdefault(event.ticket_id, set()).add(event.comment_id)
            census.redaction_marks[event.comment_id] = marks(event.body) + marks(event.html_body)
            gone = {a.id for a in event.attachments if a.file_name == REDACTED_FILENAME}
            if gone:
                census.redacted_files[event.comment_id] = gone
        if page.end_of_stream or page.end_time is None:
            break
        # A page holds every event of its last second, so a page ending in the second it started in is
        # followed by the next second (start_time=end_time would return the same page again).
        start = page.end_time if page.end_time > start else start + 1
    # A comment is in one state at a time: the export shows each comment as it is now.
    for ticket_id, private in census.private.items():
        census.public.get(ticket_id, set()).difference_update(private)
    return census


def _fetch(gateway: ZendeskGateway, start: int, sleep: Callable[[float], None]) -> EventPage:
    try:
        return BudgetWait(_MAX_WAITS, sleep).call(lambda: gateway.export_ticket_events(start))
    except RetriableError as exc:
        raise ExportBudgetExhausted(f"the ticket-event export stayed unavailable: {exc}") from exc


def redaction_drift(messages: Iterable[MessageRecord], census: CommentCensus) -> str | None:
    """What the census shows redacted that the console's copies still show (``None``: nothing).

    Cheap: only counts are compared (``▇`` characters, redacted files); the inbox then re-reads the ticket's
    comments and applies the redaction itself (``sync.inbound.redactions``).
    """
    texts = files = 0
    for m in messages:
        if m.zendesk_comment_id is None:
            continue
        if census.redaction_marks.get(m.zendesk_comment_id, 0) > marks(m.body) + marks(m.html):
            texts += 1
        gone = census.redacted_files.get(m.zendesk_comment_id, set())
        files += sum(1 for a in m.attachments if a.zendesk_attachment_id in gone)
    if not texts and not files:
        return None
    return f"{texts} message(s) and {files} attachment(s) redacted in Zendesk still shown"
