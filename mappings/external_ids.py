"""External ids that casesync writes on Zendesk records, and their parsers.

``console-case:<n>`` on tickets and ``console-account:<account_id>`` on organizations.  They help staff and the
outbox's recovery (finding a ticket after a lost create response), but the link table stays the source of truth:
Zendesk does not enforce unique external ids, and follow-ups may inherit their parent's.
"""

from __future__ import annotations

from mappings.errors import InvalidExternalId

__all__ = [
    "ACCOUNT_EXTERNAL_PREFIX",
    "CASE_EXTERNAL_PREFIX",
    "account_external_id",
    "case_external_id",
    "parse_account_external_id",
    "parse_case_external_id",
    "try_parse_case_external_id",
]

CASE_EXTERNAL_PREFIX = "console-case:"
ACCOUNT_EXTERNAL_PREFIX = "console-account:"


def case_external_id(case_id: int) -> str:
    """``console-case:<n>`` for a case number (a positive integer)."""
    if isinstance(case_id, bool) or not isinstance(case_id, int) or case_id <= 0:
        raise ValueError(f"case numbers are positive integers, not {case_id!r}")
    return f"{CASE_EXTERNAL_PREFIX}{case_id}"


def parse_case_external_id(value: str) -> int:
    """The case number of ``console-case:<n>``; ``InvalidExternalId`` for anything else.

    Only the canonical form that :func:`case_external_id` writes is accepted (ASCII digits, no sign, no
    leading zero, no blanks), so a number has exactly one external id.
    """
    if isinstance(value, str) and value.startswith(CASE_EXTERNAL_PREFIX):
        digits = value[len(CASE_EXTERNAL_PREFIX) :]
        if digits.isascii() and digits.isdigit() and not digits.startswith("0"):
            return int(digits)
    raise InvalidExternalId(value, f"{CASE_EXTERNAL_PREFIX}<n>")


def try_parse_case_external_id(value: str | None) -> int | None:
    """Like :func:`parse_case_external_id`, but ``None`` for a missing or foreign external id."""
    if value is None:
        return None
    try:
        return parse_case_external_id(value)
    except InvalidExternalId:
        return None


def account_external_id(account_id: str) -> str:
    """``console-account:<account_id>`` (the id is kept verbatim; it must not be empty)."""
    if not isinstance(account_id, str) or not account_id:
        raise ValueError("an account id must be a non-empty string")
    return f"{ACCOUNT_EXTERNAL_PREFIX}{account_id}"


def parse_account_external_id(value: str) -> str:
    """The account id of ``console-account:<id>``; ``InvalidExternalId`` for anything else."""
    if isinstance(value, str) and value.startswith(ACCOUNT_EXTERNAL_PREFIX):
        account_id = value[len(ACCOUNT_EXTERNAL_PREFIX) :]
        if account_id:
            return account_id
    raise InvalidExternalId(value, f"{ACCOUNT_EXTERNAL_PREFIX}<account_id>")
