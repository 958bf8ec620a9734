"""The status table of docs/design.md §3, in both directions.

Inbound maps a ticket's ``status`` field — with custom ticket statuses active Zendesk keeps it equal to the
status category, and ``closed`` stays ``closed`` — so ``custom_status_id`` never decides anything.  A value
outside the table raises :class:`UnknownZendeskStatus` (the ticket is dead-lettered), never a guess.

``deleted`` (seen in the incremental export for soft-deleted tickets) reads as Closed, but it is a close by the
system with the reason "deleted in Zendesk" (:func:`mappings.inbound.decide_ticket` tells it apart).

Outbound: the console only ever moves a ticket by a user's reply (→ ``open``, except that a reply to a New case
leaves the ticket ``new``, i.e. no status is sent) or a user's close (→ ``closed``).  It never sets pending or
solved.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from mappings.errors import TransitionRefused, UnknownZendeskStatus
from mappings.models import CaseStatus

__all__ = [
    "DELETED",
    "INBOUND_STATUS",
    "OUTBOUND_REPLY_STATUS",
    "status_for_user_reply",
    "status_from_zendesk",
]

#: The ``status`` value of a soft-deleted ticket in exports.
DELETED = "deleted"

#: Zendesk ``status`` → console status.  ``hold`` is internal to staff: the user sees Open.
INBOUND_STATUS: Mapping[str, CaseStatus] = MappingProxyType(
    {
        "new": CaseStatus.NEW,
        "open": CaseStatus.OPEN,
        "hold": CaseStatus.OPEN,
        "pending": CaseStatus.PENDING,
        "solved": CaseStatus.SOLVED,
        "closed": CaseStatus.CLOSED,
        DELETED: CaseStatus.CLOSED,
    }
)

#: Console status at the time of a user's reply → the ticket status the reply sets (``None``: send no status).
OUTBOUND_REPLY_STATUS: Mapping[CaseStatus, str | None] = MappingProxyType(
    {
        # Zendesk moves a ticket out of new when an agent takes it; a user's reply must not do it.
        CaseStatus.NEW: None,
        CaseStatus.OPEN: "open",
        CaseStatus.PENDING: "open",
        CaseStatus.SOLVED: "open",
    }
)


def status_from_zendesk(value: str) -> CaseStatus:
    """Map a ticket's ``status`` field to the console status; unknown values raise ``UnknownZendeskStatus``.

    Matching is exact (Zendesk always sends lower case): anything else is not guessed.
    """
    try:
        return INBOUND_STATUS[value]
    except (KeyError, TypeError):
        raise UnknownZendeskStatus(value) from None


def status_for_user_reply(current: CaseStatus) -> str | None:
    """The ticket status a user's reply sends, given the case's status when the user replied.

    ``None`` means the update carries no ``status`` (a reply to a New case leaves the ticket ``new``).
    A reply to a Closed case is refused with ``TransitionRefused(closed=True)``.
    """
    current = CaseStatus(current)
    if current is CaseStatus.CLOSED:
        raise TransitionRefused(
            "a reply to a Closed case is never sent", status=current.value, action="user_reply", closed=True
        )
    return OUTBOUND_REPLY_STATUS[current]
