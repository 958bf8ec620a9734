"""Inbound sync: what happens in Zendesk reaches the console — fast, once, and never an internal note.

* :class:`TicketApplier` applies one ticket snapshot and its comments (decisions from :mod:`mappings.inbound`);
* :class:`InboundPoller` polls the incremental exports within Zendesk's budget;
* :class:`InboxWorker` re-reads tickets named by hints (webhooks, failed applies), and :func:`webhook_sink`
  stores the webhook receiver's hints.
"""

from __future__ import annotations

from sync.inbound.apply import TicketApplier
from sync.inbound.inbox import InboxWorker, hint_dedupe_key, webhook_sink
from sync.inbound.poller import InboundPoller

__all__ = ["InboundPoller", "InboxWorker", "TicketApplier", "hint_dedupe_key", "webhook_sink"]
