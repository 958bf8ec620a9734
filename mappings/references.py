"""Case references: quoted ticket numbers in staff text, and the rules of ``refers_to`` (DESIGN.md §3).

Staff quote tickets as ``#5678``, ``ticket 5678``, ``ticket #5678`` or by URL
(``https://acme.zendesk.com/agent/tickets/5678``, ``…/api/v2/tickets/5678.json``, ``…/hc/requests/5678``).
The console user knows case numbers, not ticket numbers, so each quote of a ticket that belongs to a case **of
the same account** is rewritten as ``case #<number>``.  Everything else — unknown tickets, other accounts'
tickets, other hosts' URLs — is left exactly as written: the translation only ever uses the mapping it is given,
which the caller restricts to the account, so another account's case number cannot appear.

The rewritten form ``case #N`` is never matched again (a ``#N`` right after ``case`` is already a console case
number, e.g. one that staff copied from the "Console case" field), which makes the translation idempotent.
User text goes to Zendesk unchanged: nothing here is used outbound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from mappings.models import CaseStatus

__all__ = [
    "ReferenceRefusal",
    "ReferredCase",
    "check_refers_to",
    "find_ticket_references",
    "refusal_message",
    "translate_references",
]

_HOST = r"https?://(?P<host>[A-Za-z0-9.-]+(?::\d+)?)"
# The id ends the URL: a longer path, a query or a fragment means a different page, left untouched (a sentence's
# full stop is fine).
_END = r"(?![\w/?#]|\.\w)"
_PATTERN = re.compile(
    rf"""
    (?P<url>{_HOST}/
        (?:agent/tickets/(?P<agent>\d+)
          |api/v2/tickets/(?P<api>\d+)(?:\.json)?
          |hc/(?:[A-Za-z]{{2,3}}(?:-[A-Za-z0-9]{{2,8}})*/)?requests/(?P<hc>\d+)
        ){_END}
    )
    |(?P<word>\bticket\s*\#?\s?(?P<wid>\d+)\b)
    |(?<![\w/&#])(?<!case\ )\#(?P<hid>\d+)\b
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _ticket_id(match: re.Match[str]) -> int:
    for group in ("agent", "api", "hc", "wid", "hid"):
        value = match.group(group)
        if value is not None:
            return int(value)
    raise AssertionError("pattern matched without an id")  # pragma: no cover


def _host_ok(match: re.Match[str], zendesk_host: str | None) -> bool:
    if match.group("url") is None or zendesk_host is None:
        return True
    return match.group("host").lower() == zendesk_host.lower()


def find_ticket_references(text: str, *, zendesk_host: str | None = None) -> list[int]:
    """The ticket ids quoted in ``text``, in order of first appearance, without duplicates.

    The I/O layer uses it to look up which of them belong to cases of the ticket's account.
    """
    found: dict[int, None] = {}
    for match in _PATTERN.finditer(text):
        if _host_ok(match, zendesk_host):
            found.setdefault(_ticket_id(match), None)
    return list(found)


def translate_references(text: str, ticket_cases: Mapping[int, int], *, zendesk_host: str | None = None) -> str:
    """Rewrite quotes of tickets in ``ticket_cases`` (ticket id → case number, **restricted to the account**)
    as ``case #<number>``; leave every other character untouched.

    With ``zendesk_host`` (e.g. ``"acme.zendesk.com"``) only URLs on that host are translated.
    """

    def replace(match: re.Match[str]) -> str:
        case_number = ticket_cases.get(_ticket_id(match))
        if case_number is None or not _host_ok(match, zendesk_host):
            return match.group(0)
        return f"case #{case_number}"

    return _PATTERN.sub(replace, text)


class ReferenceRefusal(StrEnum):
    """Why ``refers_to`` is refused.  Another account's case reads as ``not_found`` (never revealed)."""

    NOT_FOUND = "not_found"
    NOT_CLOSED = "not_closed"


class ReferredCase(BaseModel):
    """What the store knows of the case that ``refers_to`` names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    case_id: int
    status: CaseStatus


def check_refers_to(account_id: str, referred: ReferredCase | None) -> ReferenceRefusal | None:
    """``None`` when a new case of ``account_id`` may refer to ``referred``; otherwise why not.

    The referred case must exist in the same account and be Closed (continuing an open case is a reply).
    """
    if referred is None or referred.account_id != account_id:
        return ReferenceRefusal.NOT_FOUND
    if referred.status is not CaseStatus.CLOSED:
        return ReferenceRefusal.NOT_CLOSED
    return None


def refusal_message(reason: ReferenceRefusal, case_id: int) -> str:
    """The ``InvalidInput`` message for a refused ``refers_to`` (identical for unknown and foreign cases)."""
    if reason is ReferenceRefusal.NOT_CLOSED:
        return f"refers_to={case_id}: case {case_id} is not Closed; reply to it instead"
    return f"refers_to={case_id}: case {case_id} not found"
