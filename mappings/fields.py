"""What a case carries besides its status and messages: priority and operator-mapped custom fields.

Priority maps one to one (Zendesk's four names).  The field map is the operator's table
``console field name → Zendesk ticket field id`` (``CASESYNC_FIELD_MAP``, see the README's
"Mapped fields"): values given to ``submit(..., fields=…)`` are written to those custom fields, and
staff's changes of them in Zendesk come back as ``Case.fields`` (docs/design.md §8).  Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mappings.models import FieldValue, Priority
from mappings.zendesk import ZCustomField, ZCustomStatus, ZTicket

__all__ = [
    "MAX_FIELD_VALUE",
    "PRIORITIES",
    "CaseDetails",
    "DetailChanges",
    "FieldRefused",
    "check_field_values",
    "check_priority",
    "decide_details",
    "fields_from_ticket",
    "parse_field_map",
    "status_label",
    "ticket_custom_fields",
]

#: Zendesk's ticket priorities, lowest first.
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")
#: The longest text a mapped field takes from the console (Zendesk's text fields hold far more; a
#: console attribute is short).
MAX_FIELD_VALUE = 1024

_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


class FieldRefused(ValueError):
    """A priority, field map or field value casesync cannot use; the message says why."""


def check_priority(value: object) -> Priority | None:
    """``value`` as a priority (None stays None); anything but the four names is refused."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in PRIORITIES:
        raise FieldRefused(f"priority must be one of {list(PRIORITIES)} or None, not {value!r}")
    return value


def parse_field_map(raw: object, *, reserved_ids: Iterable[int] = ()) -> dict[str, int]:
    """The operator's field map (the decoded JSON object): ``{"plan": 360000001234, …}``.

    Names are lower-case identifiers (at most 64 characters); ids are positive integers, each mapped once and
    none of ``reserved_ids`` (the "Console case" field casesync writes itself).
    """
    if not isinstance(raw, Mapping):
        raise FieldRefused('must be a JSON object such as {"plan": 360000001234}')
    reserved = set(reserved_ids)
    out: dict[str, int] = {}
    for name, field_id in raw.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise FieldRefused(f"field name {name!r} must be a lower-case identifier (a-z, 0-9, _), at most 64 long")
        if isinstance(field_id, bool) or not isinstance(field_id, int) or field_id <= 0:
            raise FieldRefused(f"field {name!r}: the Zendesk ticket field id must be a positive integer")
        if field_id in reserved:
            raise FieldRefused(f"field {name!r}: ticket field {field_id} is the Console case field casesync writes")
        if field_id in out.values():
            raise FieldRefused(f"field {name!r}: ticket field {field_id} is mapped twice")
        out[name] = field_id
    return out


def check_field_values(values: object, field_map: Mapping[str, int]) -> dict[str, FieldValue]:
    """The console's values for mapped fields, checked: known names, scalar values, short text."""
    if not isinstance(values, Mapping):
        raise FieldRefused("fields must be a mapping of field name to value")
    out: dict[str, FieldValue] = {}
    for name, value in values.items():
        if name not in field_map:
            known = ", ".join(sorted(field_map)) or "none (CASESYNC_FIELD_MAP is empty)"
            raise FieldRefused(f"field {name!r} is not mapped; mapped fields: {known}")
        if value is not None and not isinstance(value, str | int | float | bool):
            raise FieldRefused(f"field {name!r}: a value is text, a number, True/False or None")
        if isinstance(value, str) and len(value) > MAX_FIELD_VALUE:
            raise FieldRefused(f"field {name!r}: at most {MAX_FIELD_VALUE} characters")
        out[name] = value
    return out


def ticket_custom_fields(values: Mapping[str, FieldValue], field_map: Mapping[str, int]) -> list[dict[str, Any]]:
    """The ticket's ``custom_fields`` entries for checked console values, in the map's order."""
    return [{"id": field_map[name], "value": values[name]} for name in field_map if name in values]


def fields_from_ticket(custom_fields: Iterable[ZCustomField], field_map: Mapping[str, int]) -> dict[str, FieldValue]:
    """The mapped fields of a ticket as the console shows them (empty ones left out)."""
    by_id = {f.id: f.value for f in custom_fields}
    out: dict[str, FieldValue] = {}
    for name, field_id in field_map.items():
        value = by_id.get(field_id)
        if value is not None and value != "":
            out[name] = value if isinstance(value, str | int | float | bool) else str(value)
    return out


def status_label(custom_status_id: int | None, statuses: Mapping[int, ZCustomStatus]) -> str | None:
    """The end-user label of a ticket's custom status; None without custom statuses or for an unknown id."""
    found = statuses.get(custom_status_id) if custom_status_id is not None else None
    if found is None:
        return None
    return found.end_user_label or found.agent_label or None


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseDetails(_Value):
    """What the console shows of a case's priority, status label and mapped fields."""

    priority: str | None = None
    status_label: str | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)


class DetailChanges(_Value):
    """What an applied ticket changes of a case's details; ``feed`` holds ``(kind, detail)`` entries, where
    kind is ``priority`` or ``field`` (a label alone changes no feed: the status entry covers its category)."""

    store: dict[str, Any] = Field(default_factory=dict)
    feed: list[tuple[str, str]] = Field(default_factory=list)


def decide_details(
    current: CaseDetails, ticket: ZTicket, field_map: Mapping[str, int], label: str | None, *, label_applies: bool
) -> DetailChanges:
    """Compare a ticket snapshot with the case; ``label_applies`` is false while the case's status and the
    ticket's disagree (console changes in flight), when the label would describe another status."""
    store: dict[str, Any] = {}
    feed: list[tuple[str, str]] = []
    priority = ticket.priority if ticket.priority in PRIORITIES else None
    if priority != current.priority:
        store["priority"] = priority
        feed.append(("priority", f"priority: {priority or 'none'}"))
    fields = fields_from_ticket(ticket.custom_fields, field_map)
    if fields != current.fields:
        store["fields"] = fields
        changed = sorted(k for k in {*fields, *current.fields} if fields.get(k) != current.fields.get(k))
        feed.append(("field", ", ".join(f"{k}: {fields.get(k)!r}" for k in changed)))
    if label_applies and label != current.status_label:
        store["status_label"] = label
    return DetailChanges(store=store, feed=feed)

