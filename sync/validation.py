"""The console backend's input checks (docs/design.md §6): each raises ``InvalidInput`` naming the field.

:class:`sync.api.SupportCases` runs them before it opens a transaction, so bad input changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mappings.errors import TransitionRefused
from mappings.fields import FieldRefused, check_field_values, check_priority
from mappings.lifecycle import Transition
from mappings.models import Attachment, CaseStatus
from mappings.recipients import is_valid_email
from sync.errors import CaseClosed, InvalidInput
from sync.store import CaseRecord

__all__ = [
    "BODY_MAX",
    "FILENAME_MAX",
    "ID_MAX",
    "INT_MAX",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "NAME_MAX",
    "SUBJECT_MAX",
    "check_attachments",
    "check_case_details",
    "check_email",
    "check_id",
    "check_idempotency_key",
    "check_int",
    "check_new_account_id",
    "check_text",
    "check_transition",
]

SUBJECT_MAX = 255  # casesync's limits (docs/design.md §6)
BODY_MAX = 65_536
NAME_MAX = 255
ID_MAX = 255  # ids are stored in VARCHAR(255) columns on PostgreSQL
INT_MAX = 2**63 - 1  # case numbers and feed positions are 64-bit integers in both databases
FILENAME_MAX = 255

#: At most this many attachments per message.
MAX_ATTACHMENTS = 20
#: At most this many bytes per attachment: Zendesk refuses larger uploads.
MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024


def _storable(value: str, field: str) -> None:
    # Both databases store UTF-8 text: NUL characters and lone surrogates cannot be stored.
    if "\x00" in value:
        raise InvalidInput(f"{field} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field} is not valid Unicode text") from None


def check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string")
    if len(value) > ID_MAX:
        raise InvalidInput(f"{field} is longer than {ID_MAX} characters")
    _storable(value, field)
    return value


def check_idempotency_key(value: object) -> str | None:
    """An idempotency key is an id, or ``None`` for a call without one."""
    return None if value is None else check_id(value, "idempotency_key")


def check_new_account_id(account_id: str) -> str:
    """A new account's id must be canonical: no surrounding whitespace, and lower case (Unicode case-folded).

    Zendesk compares organization external ids case-insensitively ("company1" and "Company1" are the same
    organization: the Support API's OpenAPI file, ``Organization.external_id``), and an account's
    organization is found by ``console-account:<account_id>``.  Two accounts whose ids differ only by case
    would share one organization — one tenant's tickets in another's — so only the case-folded spelling
    is accepted; and ``"acme "`` is refused rather than silently trimmed into ``"acme"``.  Accounts that
    already exist keep working under the id they were created with.
    """
    if account_id != account_id.strip():
        raise InvalidInput(f"account_id {account_id!r} must not begin or end with whitespace")
    folded = account_id.casefold()
    if account_id != folded:
        raise InvalidInput(
            f"account_id {account_id!r} must be lower case ({folded!r}): Zendesk compares organization external"
            " ids case-insensitively, so ids that differ only by case would share one organization"
        )
    return account_id


def check_int(value: object, field: str, *, minimum: int = 1) -> int:
    # bool is an int subclass: True is not a case number.
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInput(f"{field} must be an integer of at least {minimum}")
    if value > INT_MAX:  # beyond 64 bits: no such case or feed position, and the databases cannot hold it
        raise InvalidInput(f"{field} must be an integer of at most {INT_MAX}")
    return value


def check_text(value: object, field: str, limit: int) -> str:
    """Non-blank text of at most ``limit`` characters; returned as given (the body keeps its blanks)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must not be empty")
    if len(value) > limit:
        raise InvalidInput(f"{field} is {len(value)} characters long; at most {limit} are allowed")
    _storable(value, field)
    return value


def check_email(value: object) -> str:
    """A syntactically valid address (reserved names such as ``.test`` are valid), trimmed."""
    if not isinstance(value, str) or not is_valid_email(value):
        raise InvalidInput(f"invalid email address: {value!r}")
    return value.strip()


def check_attachments(files: object) -> list[Attachment]:
    if isinstance(files, (str, bytes)) or not isinstance(files, Sequence):
        raise InvalidInput("attachments must be a sequence of Attachment")
    if len(files) > MAX_ATTACHMENTS:
        raise InvalidInput(f"{len(files)} attachments: at most {MAX_ATTACHMENTS} per message")
    out: list[Attachment] = []
    for f in files:
        if not isinstance(f, Attachment):
            raise InvalidInput("attachments must be Attachment(filename, content_type, data) values")
        if not f.filename.strip():
            raise InvalidInput("an attachment's filename must not be empty")
        if len(f.filename) > FILENAME_MAX:
            raise InvalidInput(f"attachment filename is longer than {FILENAME_MAX} characters")
        _storable(f.filename, "attachment filename")
        _storable(f.content_type, "attachment content_type")
        if len(f.data) > MAX_ATTACHMENT_BYTES:
            raise InvalidInput(
                f"attachment {f.filename!r} is {len(f.data)} bytes; at most {MAX_ATTACHMENT_BYTES} per file"
            )
        out.append(f)
    return out


def check_case_details(priority: object, fields: object, field_map: Mapping[str, Any]) -> dict[str, Any]:
    """The checked ``priority`` and mapped ``fields`` of a submit, as ``set_case_details`` takes them."""
    try:
        checked_priority = check_priority(priority)
        checked_fields = check_field_values(fields, field_map) if fields is not None else {}
    except FieldRefused as exc:
        raise InvalidInput(str(exc)) from None
    details: dict[str, Any] = {}
    if checked_priority is not None:
        details["priority"] = checked_priority
    if checked_fields:
        details["fields"] = checked_fields
    return details


def check_transition(rule: Callable[[CaseStatus], Transition], case: CaseRecord) -> Transition:
    """Apply a lifecycle rule; a refusal because the case is Closed is ``CaseClosed``."""
    try:
        result: Transition = rule(case.status)
    except TransitionRefused as exc:
        if exc.closed:
            raise CaseClosed(case.id) from None
        raise InvalidInput(str(exc)) from None
    return result
