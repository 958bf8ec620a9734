"""Suspended emails: a console user's reply that Zendesk held back instead of adding it (docs/design.md §8).

Zendesk suspends an email from an end user who is neither the ticket's requester nor one of its CCs (cause
``other_user_update``, "End user only allowed to update their own tickets"), among other causes.  Staff see it
in Zendesk's suspended tickets view; the console user would see nothing.  So each suspended email from a user
of the ticket's account is surfaced on the case once (feed kind ``suspended_message``); when staff recover it,
Zendesk adds it to the ticket as that user's public comment, which is imported like any other comment — once.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

__all__ = ["SuspendedNotice", "ZSuspendedTicket", "notice_detail", "notice_for"]


class ZSuspendedTicket(BaseModel):
    """A suspended ticket as ``GET /api/v2/suspended_tickets`` lists it (the fields casesync reads)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: int
    ticket_id: int | None = None
    author_email: str | None = None
    cause: str = ""
    cause_id: int | None = None
    created_at: datetime | None = None


class SuspendedNotice(BaseModel):
    """Surface a suspended email on a case: one ``suspended_message`` feed entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    suspended_id: int
    account_id: str
    case_id: int
    user_id: str
    cause: str


def notice_for(
    item: ZSuspendedTicket,
    *,
    case: tuple[str, int] | None,
    member_user_id: str | None,
    already_noticed: bool,
) -> SuspendedNotice | None:
    """Whether ``item`` is to be surfaced: it answers a ticket linked to ``case`` (account, case id), its sender
    is ``member_user_id`` — a user **of that account** (anyone else's email is never shown there) — and it
    was not surfaced before."""
    if already_noticed or case is None or member_user_id is None:
        return None
    account_id, case_id = case
    return SuspendedNotice(
        suspended_id=item.id,
        account_id=account_id,
        case_id=case_id,
        user_id=member_user_id,
        cause=item.cause or "suspended",
    )


def notice_detail(notice: SuspendedNotice) -> str:
    """The feed entry's detail: who, why, and what staff can do (never the email's content)."""
    return (
        f"an email from user {notice.user_id} was suspended by Zendesk ({notice.cause}); "
        f"support staff can recover it (suspended ticket {notice.suspended_id})"
    )
