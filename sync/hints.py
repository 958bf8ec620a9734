"""A hint that a Zendesk ticket changed: what the webhook receiver hands to the inbox.

It sits outside both :mod:`sync.web` (which produces hints) and :mod:`sync.inbound` (which stores and acts on
them), so neither has to import the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["WebhookHint", "WebhookSink"]


@dataclass(frozen=True, slots=True)
class WebhookHint:
    """What a delivery tells casesync: "ticket ``ticket_id`` changed".

    ``event_id`` (Zendesk's event UUID) lets the inbox absorb duplicate deliveries; ``event_type`` and
    ``occurred_at`` are informative.  Trigger-style payloads carry only the ticket id.
    """

    ticket_id: int
    event_id: str | None = None
    event_type: str | None = None
    occurred_at: datetime | None = None


WebhookSink = Callable[[WebhookHint], bool]
"""Stores a hint durably in the inbox before the delivery is answered; returns False for a duplicate."""
