"""Email addresses, the account's recipient list, and the CC plan of a ticket (docs/design.md §3 Recipients).

* Addresses are checked **syntactically only**: a dot-atom local part, ``@``, and a domain of at least two
  DNS labels.  Reserved names such as ``.test`` or ``.example`` are valid (the sandbox and the tests use them);
  nothing here resolves a domain.  pydantic's ``EmailStr`` is deliberately not used: it refuses those names.
* Addresses compare case-insensitively; the normal form is trimmed and lower-cased.
* The recipient list of an account is its admin users' addresses, then its additionally registered ones,
  deduplicated in that order.
* A ticket's CCs hold the console's addresses (minus the requester) first, then the CCs staff added by hand;
  at most :data:`MAX_CCS`.  The console is authoritative only for addresses it put there itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mappings.errors import InvalidEmail, TooManyRecipients
from mappings.zendesk import CcChange

__all__ = [
    "MAX_CCS",
    "CcDecision",
    "CcPlan",
    "account_recipients",
    "ensure_within_limit",
    "is_valid_email",
    "missing_console_ccs",
    "normalize_email",
    "normalize_recipients",
    "plan_ccs",
    "same_email",
]

#: Zendesk's limit of email CCs on one ticket, and so the console's limit of recipients per account.
MAX_CCS = 48

# RFC 5321 limits; quoted local parts and address literals are refused (no console user needs them).
_MAX_LOCAL = 64
_MAX_ADDRESS = 254
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL_RE = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# A top-level label is never all digits (that would be an IP address).
_TLD_RE = re.compile(r"(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def is_valid_email(value: str) -> bool:
    """Whether ``value`` (after trimming) is a syntactically valid address; reserved TLDs are valid."""
    if not isinstance(value, str):
        return False
    address = value.strip()
    if len(address) > _MAX_ADDRESS or address.count("@") != 1:
        return False
    local, domain = address.split("@")
    if not local or len(local) > _MAX_LOCAL or not _LOCAL_RE.fullmatch(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 253:
        return False
    return all(_LABEL_RE.fullmatch(label) for label in labels[:-1]) and bool(_TLD_RE.fullmatch(labels[-1]))


def normalize_email(value: str) -> str:
    """The normal form of an address (trimmed, lower case); ``InvalidEmail`` when it is not valid."""
    if not is_valid_email(value):
        raise InvalidEmail(value)
    return value.strip().lower()


def same_email(a: str, b: str) -> bool:
    """Whether two addresses are the same (case-insensitive, surrounding blanks ignored)."""
    return a.strip().lower() == b.strip().lower()


def normalize_recipients(emails: Iterable[str]) -> list[str]:
    """Normalise, validate and deduplicate addresses, keeping the first occurrence's position."""
    seen: dict[str, None] = {}
    for email in emails:
        seen.setdefault(normalize_email(email), None)
    return list(seen)


def ensure_within_limit(emails: list[str], limit: int = MAX_CCS) -> list[str]:
    """Return ``emails`` unchanged, or raise ``TooManyRecipients`` when there are more than ``limit``."""
    if len(emails) > limit:
        raise TooManyRecipients(len(emails), limit)
    return emails


def account_recipients(admin_emails: Iterable[str], registered_emails: Iterable[str]) -> list[str]:
    """The account's recipient list: admin users' addresses first, then the registered ones, deduplicated."""
    return normalize_recipients([*admin_emails, *registered_emails])


def _loose(emails: Iterable[str]) -> list[str]:
    # Addresses read back from Zendesk are not re-validated (Zendesk accepted them); only normalised.
    seen: dict[str, None] = {}
    for email in emails:
        key = email.strip().lower()
        if key:
            seen.setdefault(key, None)
    return list(seen)


class CcDecision(StrEnum):
    """What to do with one ticket's CCs."""

    UNCHANGED = "unchanged"  # nothing to send
    UPDATE = "update"  # send ``changes`` as the ticket's ``email_ccs``
    CONFLICT = "conflict"  # the result would exceed MAX_CCS: change nothing, record a conflict


class CcPlan(BaseModel):
    """The CC plan for one ticket.

    ``changes`` is the ``email_ccs`` write list (empty unless ``decision`` is ``update``).  ``resulting`` is
    the ticket's CC list after the change (console addresses first, then hand-added ones): show it as
    ``Case.cc``.  ``managed`` is what casesync has put there afterwards: store it and pass it back as
    ``previously_managed`` next time.  On a conflict ``resulting`` and ``managed`` describe the ticket as it is.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    decision: CcDecision
    changes: list[CcChange] = Field(default_factory=list)
    resulting: list[str] = Field(default_factory=list)
    managed: list[str] = Field(default_factory=list)
    hand_added: list[str] = Field(default_factory=list)
    detail: str = ""


def plan_ccs(
    account_list: Iterable[str],
    requester_email: str | None,
    current_ccs: Iterable[str],
    previously_managed: Iterable[str],
    *,
    limit: int = MAX_CCS,
) -> CcPlan:
    """Compute the ``email_ccs`` changes that make a ticket's CCs match the account's recipient list.

    * every console address except the requester's must be CC'd (a missing one is put back, even when staff
      removed it by hand: the console's list is authoritative for its addresses);
    * an address casesync put there earlier that is no longer on the list is deleted;
    * any other CC was added by hand in Zendesk and is kept;
    * if the result would hold more than ``limit`` addresses, nothing changes and the decision is a conflict.
    """
    requester = requester_email.strip().lower() if requester_email else None
    desired = [email for email in normalize_recipients(account_list) if email != requester]
    desired_set = set(desired)
    current = _loose(current_ccs)
    current_set = set(current)
    previous = set(_loose(previously_managed))

    to_delete = [email for email in current if email in previous and email not in desired_set]
    to_put = [email for email in desired if email not in current_set]
    deleted = set(to_delete)
    hand_added = [email for email in current if email not in desired_set and email not in deleted]
    resulting = desired + hand_added

    if len(resulting) > limit:
        return CcPlan(
            decision=CcDecision.CONFLICT,
            resulting=current,
            managed=[email for email in current if email in previous],
            hand_added=hand_added,
            detail=f"the ticket would have {len(resulting)} CCs; Zendesk allows at most {limit}",
        )
    changes = [CcChange(email=email, action="put") for email in to_put] + [
        CcChange(email=email, action="delete") for email in to_delete
    ]
    return CcPlan(
        decision=CcDecision.UPDATE if changes else CcDecision.UNCHANGED,
        changes=changes,
        resulting=resulting,
        managed=desired,
        hand_added=hand_added,
    )


def missing_console_ccs(recipients: Iterable[str], requester_email: str | None, ticket_ccs: Iterable[str]) -> list[str]:
    """The account's addresses a non-closed ticket should CC and does not (invariant 6); hand-added CCs play no
    part, so putting these back never touches what staff added."""
    have = {e.strip().lower() for e in ticket_ccs}
    requester = (requester_email or "").strip().lower()
    return [e for e in recipients if e.strip().lower() not in have and e.strip().lower() != requester]
