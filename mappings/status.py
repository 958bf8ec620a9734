"""The status table of DESIGN.md §3, in both directions.

Inbound maps a ticket's ``status`` field — with custom ticket statuses active Zendesk keeps it equal to the
status category, and ``closed`` stays ``closed`` — so ``custom_status_id`` never decides anything.  A value
outside the table raises :class:`UnknownZendeskStatus` (the ticket is dead-lettered), never a guess.

``deleted`` (seen in the incremental export for soft-deleted tickets) reads as Closed, but it is a close by the
system with the reason "deleted in Zendesk": use :func:`system_close_reason` to tell it apart.

Outbound: the console only ever moves a ticket by a user's reply (→ ``open``, except that a reply to a New case
leaves the ticket ``new``, i.e. no status is sent) or a user's close (→ ``closed``).  It never sets pending or
solved.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from mappings.errors import TransitionRefused, UnknownZendeskStatus
from mappings.lifecycle import SystemCloseReason
from mappings.models import CaseStatus

__all__ = [
    "DELETED",
    "INBOUND_STATUS",
    "OUTBOUND_REPLY_STATUS",
    "ConsoleEvent",
    "outbound_status",
    "status_for_user_close",
    "status_for_user_reply",
    "status_from_zendesk",
    "system_close_reason",
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


class ConsoleEvent(StrEnum):
    """The console events that can change a ticket's status."""

    SUBMIT = "submit"
    USER_REPLY = "user_reply"
    USER_CLOSE = "user_close"


def status_from_zendesk(value: str) -> CaseStatus:
    """Map a ticket's ``status`` field to the console status; unknown values raise ``UnknownZendeskStatus``.

    Matching is exact (Zendesk always sends lower case): anything else is not guessed.
    """
    try:
        return INBOUND_STATUS[value]
    except (KeyError, TypeError):
        raise UnknownZendeskStatus(value) from None


def system_close_reason(value: str) -> str | None:
    """The reason of a close that Zendesk made by itself and the status alone reveals (only ``deleted``)."""
    return SystemCloseReason.DELETED.value if value == DELETED else None


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


def status_for_user_close(current: CaseStatus) -> str:
    """The ticket status a user's close sends: always ``closed`` (refused when the case is already Closed)."""
    current = CaseStatus(current)
    if current is CaseStatus.CLOSED:
        raise TransitionRefused("the case is already Closed", status=current.value, action="user_close", closed=True)
    return "closed"


def outbound_status(event: ConsoleEvent, current: CaseStatus) -> str | None:
    """The ticket status a console event sets (``None``: no status field is sent).

    ``submit`` creates the ticket without a status so Zendesk gives it ``new``.
    """
    event = ConsoleEvent(event)
    if event is ConsoleEvent.SUBMIT:
        return None
    if event is ConsoleEvent.USER_REPLY:
        return status_for_user_reply(current)
    return status_for_user_close(current)
