"""Delivering a case's own changes: its ticket (submit), the user's messages (reply) and its close.

Exactly-once is built from three facts: a case's entries run one at a time in order (the outbox), every
write is recognisable afterwards in Zendesk (the ticket's ``external_id``, the marker in the update's
``metadata``), and after a failure that may have landed casesync looks before it writes again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sync.gateway import ZendeskGateway
from sync.outbound.case_close import CloseDelivery
from sync.outbound.case_reply import ReplyDelivery
from sync.outbound.case_submit import TicketSubmission
from sync.outbound.dependencies import Settled
from sync.outbound.directory import Directory
from sync.outbound.outcomes import Finish
from sync.settings import Settings
from sync.store import OutboxEntry, Store

__all__ = ["CaseDelivery"]


class CaseDelivery:
    """Handlers for the ``submit``, ``reply`` and ``close`` outbox entries of one case."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        directory: Directory,
        settings: Settings,
        settled: Settled | None = None,
    ) -> None:
        self._submission = TicketSubmission(store, gateway, directory, settings, settled)
        self._reply = ReplyDelivery(store, gateway, directory, settings, settled)
        self._close = CloseDelivery(store, gateway, directory, settings, settled)

    def record_sent_ccs(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        """Before a claimed batch is delivered: its submits' addresses, recorded in one write (see
        :meth:`sync.outbound.case_submit.TicketSubmission.record_sent_ccs`)."""
        return self._submission.record_sent_ccs(entries)

    def submit(self, entry: OutboxEntry) -> Finish | None:
        """Create the case's ticket once (see :class:`sync.outbound.case_submit.TicketSubmission`)."""
        return self._submission.submit(entry)

    def reply(self, entry: OutboxEntry) -> Finish | None:
        """Post the user's message once (see :class:`sync.outbound.case_reply.ReplyDelivery`)."""
        return self._reply.reply(entry)

    def close(self, entry: OutboxEntry) -> None:
        """Close the case's ticket (see :class:`sync.outbound.case_close.CloseDelivery`)."""
        self._close.close(entry)
