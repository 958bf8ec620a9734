"""casesync's Zendesk gateway: the only package that imports zenpy.

``ZendeskGateway`` takes drafts and returns snapshots (:mod:`mappings.zendesk`); errors are
:mod:`sync.errors`; retries follow :mod:`sync.retry`.
"""

from __future__ import annotations

from sync.gateway.client import ZendeskGateway
from sync.gateway.errors import error_for_response, parse_retry_after, translate
from sync.gateway.models import CommentEvent, EventPage, JobResult, TicketField, TicketPage, Webhook
from sync.gateway.session import DateHeaderClock, GatewaySession

__all__ = [
    "CommentEvent",
    "DateHeaderClock",
    "EventPage",
    "GatewaySession",
    "JobResult",
    "TicketField",
    "TicketPage",
    "Webhook",
    "ZendeskGateway",
    "error_for_response",
    "parse_retry_after",
    "translate",
]
