"""Zendesk JSON (raw, or zenpy's ``to_dict()``) → casesync's snapshot values.

zenpy's ``to_dict()`` fills every declared field it did not receive with ``None`` and renames ``from`` to
``from_``; both are normalised here, so raw and zenpy-decoded answers give the same snapshots.  A shape
that does not validate is a :class:`~sync.errors.MappingError`, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mappings.zendesk import ZAttachment, ZComment, ZOrganization, ZTicket, ZUser
from sync.errors import MappingError
from sync.gateway.models import CommentEvent, StatusEvent

__all__ = [
    "attachment_from",
    "comment_events_from",
    "comment_from",
    "comments_from_audit",
    "organization_from",
    "privacy_changes_from",
    "status_events_from",
    "ticket_from",
    "user_from",
]

M = TypeVar("M", bound=BaseModel)


def _present(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _build(model: type[M], data: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(_present(data))
    except ValidationError as exc:
        raise MappingError(f"unexpected {model.__name__} from zendesk: {exc.errors()[0]}") from exc


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, Mapping) else {}


def _custom(metadata: Any) -> dict[str, Any]:
    return _dict(_dict(metadata).get("custom"))


def _via_channel(via: Any) -> str | None:
    channel = _dict(via).get("channel")
    return str(channel) if channel is not None else None


def followup_source_of(via: Any) -> int | None:
    """The source ticket id when ``via`` says the ticket is a follow-up (``source.rel == "follow_up"``)."""
    source = _dict(_dict(via).get("source"))
    if source.get("rel") != "follow_up":
        return None
    origin = _dict(source.get("from") or source.get("from_"))
    ticket_id = origin.get("ticket_id")
    return int(ticket_id) if isinstance(ticket_id, int | str) and str(ticket_id).isdigit() else None


def ticket_from(data: Mapping[str, Any]) -> ZTicket:
    fields = _present(data)
    fields["followup_source_id"] = followup_source_of(data.get("via"))
    return _build(ZTicket, fields)


def user_from(data: Mapping[str, Any]) -> ZUser:
    return _build(ZUser, data)


def organization_from(data: Mapping[str, Any]) -> ZOrganization:
    return _build(ZOrganization, data)


def attachment_from(data: Mapping[str, Any]) -> ZAttachment:
    return _build(ZAttachment, data)


def _attachments(value: Any) -> list[ZAttachment]:
    return [attachment_from(_dict(item)) for item in value or () if isinstance(item, Mapping)]


def comment_from(
    data: Mapping[str, Any],
    *,
    custom: Mapping[str, Any] | None = None,
    created_at: Any = None,
    audit_id: int | None = None,
) -> ZComment:
    """A comment from a comment object or an audit's ``Comment`` event (which lacks the time and audit)."""
    fields = _present(data)
    fields["attachments"] = _attachments(data.get("attachments"))
    fields["custom"] = dict(custom) if custom is not None else _custom(data.get("metadata"))
    fields["via_channel"] = _via_channel(data.get("via"))
    fields.setdefault("created_at", created_at)
    if audit_id is not None:
        fields.setdefault("audit_id", audit_id)
    return _build(ZComment, fields)


def comments_from_audit(audit: Mapping[str, Any], *, fallback_time: Any = None) -> list[ZComment]:
    """The comments an update added, from its audit (``metadata.custom`` is the update's)."""
    when = audit.get("created_at") or fallback_time or datetime.now(UTC)
    custom = _custom(audit.get("metadata"))
    audit_id = audit.get("id")
    out: list[ZComment] = []
    for event in audit.get("events") or ():
        event = _dict(event)
        if event.get("type") in ("Comment", "VoiceComment"):
            out.append(
                comment_from(
                    event,
                    custom=custom,
                    created_at=when,
                    audit_id=audit_id if isinstance(audit_id, int) else None,
                )
            )
    return out


def comment_events_from(events: Any) -> list[CommentEvent]:
    """The comments in a ticket-event export page (``child_events`` of type ``Comment``)."""
    out: list[CommentEvent] = []
    for event in events or ():
        event = _dict(event)
        ticket_id = event.get("ticket_id")
        parent_custom = _custom(event.get("metadata"))
        for child in event.get("child_events") or ():
            child = _dict(child)
            if child.get("event_type", child.get("type")) != "Comment" or ticket_id is None:
                continue
            fields = {
                "ticket_id": ticket_id,
                "comment_id": child.get("id"),
                "author_id": child.get("author_id"),
                "public": child.get("public"),
                "body": child.get("body"),
                "html_body": child.get("html_body"),
                "created_at": child.get("created_at") or event.get("created_at"),
                "attachments": _attachments(child.get("attachments")),
                "custom": _custom(child.get("metadata")) or parent_custom,
                "via_channel": _via_channel(child.get("via") or event.get("via")),
                "updater_id": event.get("updater_id"),
            }
            out.append(_build(CommentEvent, fields))
    return out


def privacy_changes_from(events: Any) -> dict[int, list[int]]:
    """Ticket id → the comment ids made private in a ticket-event export page (``child_events`` of type
    ``CommentPrivacyChange`` with ``public: false``), each once, in the order of the page."""
    out: dict[int, list[int]] = {}
    for event in events or ():
        event = _dict(event)
        ticket_id = event.get("ticket_id")
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool):
            continue
        for child in event.get("child_events") or ():
            child = _dict(child)
            if child.get("event_type", child.get("type")) != "CommentPrivacyChange" or child.get("public") is not False:
                continue
            comment_id = child.get("comment_id")
            if isinstance(comment_id, int) and not isinstance(comment_id, bool):
                ids = out.setdefault(ticket_id, [])
                if comment_id not in ids:
                    ids.append(comment_id)
    return out


def _epoch(event: Mapping[str, Any]) -> int | None:
    when = event.get("timestamp")
    if isinstance(when, int | float) and not isinstance(when, bool):
        return int(when)
    created = event.get("created_at")
    if isinstance(created, str):
        try:
            return int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp())
        except ValueError:
            return None
    return None


def status_events_from(events: Any) -> list[StatusEvent]:
    """The status changes in a ticket-event export page (``Change`` child events of ``status``), with the
    update's ``updater_id`` and channel (the child's ``via``, else the event's), in the order of the page."""
    out: list[StatusEvent] = []
    for event in events or ():
        event = _dict(event)
        ticket_id = event.get("ticket_id")
        at = _epoch(event)
        if not isinstance(ticket_id, int) or isinstance(ticket_id, bool) or at is None:
            continue
        updater = event.get("updater_id")
        for child in event.get("child_events") or ():
            child = _dict(child)
            if child.get("event_type", child.get("type")) not in ("Change", "Create"):
                continue
            if child.get("field_name", "status" if "status" in child else None) != "status":
                continue
            status = child.get("value", child.get("status"))
            if not isinstance(status, str):
                continue
            via = child.get("via") or event.get("via")
            out.append(
                StatusEvent(
                    ticket_id=ticket_id,
                    status=status,
                    at=at,
                    updater_id=updater if isinstance(updater, int) and not isinstance(updater, bool) else None,
                    via_channel=_via_channel(via) if isinstance(via, Mapping) else (str(via) if via else None),
                )
            )
    return out
