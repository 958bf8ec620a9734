"""Values the gateway returns beyond :mod:`mappings.zendesk`: export pages, job results, setup objects.

The events an export page holds (:class:`CommentEvent`, :class:`StatusEvent`) are Zendesk-side values of
:mod:`mappings.zendesk`, named here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mappings.zendesk import CommentEvent, StatusEvent, ZTicket

__all__ = ["CommentEvent", "EventPage", "JobResult", "StatusEvent", "TicketField", "TicketPage", "Webhook"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class TicketPage(_Value):
    """One page of the cursor-based incremental ticket export.

    Keep ``after_cursor`` even when ``end_of_stream`` is true: the next poll resumes from it.
    ``server_date`` is the response's ``Date`` header (Zendesk's clock), for the export budget.
    """

    tickets: list[ZTicket]
    after_cursor: str | None = None
    end_of_stream: bool = True
    server_date: datetime | None = None


class EventPage(_Value):
    """One page of the time-based ticket-event export; the next page starts at ``end_time``."""

    comment_events: list[CommentEvent]
    end_time: int | None = None
    end_of_stream: bool = True
    count: int = 0
    server_date: datetime | None = None
    #: Ticket id → the time (epoch seconds) of its latest event on this page, comment or not: a ticket that
    #: changed later than its latest event changed without an audit.
    ticket_event_times: dict[int, int] = Field(default_factory=dict)
    #: Ticket id → the comments made private on this page (``CommentPrivacyChange`` child events with
    #: ``public: false``), in the order the events came.
    privacy_changes: dict[int, list[int]] = Field(default_factory=dict)
    #: The status changes on this page, in the order the events came.
    status_events: list[StatusEvent] = Field(default_factory=list)


class JobResult(_Value):
    """One item of a finished background job (``job_status.results``).

    Zendesk writes ``success: true`` on some succeeded rows, nothing on others (``{"account_id", "id",
    "index"}``), and never ``success`` on a failed row: that one is ``{"id", "index", "error", "details"}``
    (the recorded ``TestOrganizationCreateUpdateDelete.test_multiple_update_full_objects-update-many``). So an
    item succeeded when Zendesk says so or, without the key, when it names no ``error``.
    """

    id: int | None = None
    index: int | None = None
    success: bool
    action: str | None = None
    status: str | None = None
    error: str | None = None
    details: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _success_from_error(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("success") is None:
            failed = data.get("error") is not None or str(data.get("status") or "").lower() == "failed"
            return {**data, "success": not failed}
        return data


class TicketField(_Value):
    id: int
    type: str
    title: str
    active: bool = True


class Webhook(_Value):
    id: str
    name: str = ""
    endpoint: str = ""
    status: str = "active"
    subscriptions: list[str] = Field(default_factory=list)
