"""After a ticket is applied: its priority, custom-status label and mapped fields, and the CCs it lost.

:class:`TicketDetails` runs inside the applier's transaction, after the plan's actions, with the decisions of
:mod:`mappings.fields`.  Custom-status labels come from a cached copy of the account's custom statuses, read
again only when a ticket names an id the copy does not know; that read happens in :meth:`prepare`, before the
write transaction opens.  A console address missing from a non-closed ticket's CCs (staff removed it) queues a
``repair_ccs`` entry for that ticket, so the next cycle puts it back (invariant 6, docs/design.md §8).
"""

from __future__ import annotations

import threading

from mappings.fields import CaseDetails, decide_details, status_label
from mappings.inbound import InboundPlan, TicketOutcome
from mappings.models import CaseStatus, ChangeKind
from mappings.recipients import missing_console_ccs
from mappings.status import status_from_zendesk
from mappings.zendesk import ZCustomStatus, ZTicket
from sync.gateway import ZendeskGateway
from sync.logging import get_logger
from sync.settings import Settings
from sync.store import StoreTx, account_key
from sync.store.outbox_payloads import RepairCcsPayload, enqueue, parse_payload

__all__ = ["TicketDetails"]

log = get_logger(__name__)

_APPLIED = (TicketOutcome.APPLY, TicketOutcome.NEW_FOLLOW_UP)


class TicketDetails:
    """Keeps a case's priority, status label, mapped fields and console CCs in line with its ticket."""

    def __init__(self, gateway: ZendeskGateway, settings: Settings) -> None:
        self.gateway = gateway
        self.field_map = dict(settings.field_map)
        self._statuses: dict[int, ZCustomStatus] | None = None
        self._unknown: set[int] = set()  # ids still missing after a refresh: not read again for each ticket
        self._lock = threading.Lock()

    def prepare(self, ticket: ZTicket) -> str | None:
        """The end-user label of the ticket's custom status (None without custom statuses)."""
        sid = ticket.custom_status_id
        if sid is None:
            return None
        with self._lock:
            statuses = self._statuses
            stale = statuses is None or (sid not in statuses and sid not in self._unknown)
        if stale:
            fresh = {s.id: s for s in self.gateway.custom_statuses()}
            with self._lock:
                self._statuses = fresh
                self._unknown = set() if sid in fresh else {sid}
            statuses = fresh
        assert statuses is not None
        return status_label(sid, statuses)

    def prepared(self, ticket: ZTicket) -> bool:
        """Whether :meth:`prepare` answers ``ticket`` from the cached copy, without reading Zendesk."""
        sid = ticket.custom_status_id
        if sid is None:
            return True
        with self._lock:
            return self._statuses is not None and (sid in self._statuses or sid in self._unknown)

    def apply(self, tx: StoreTx, plan: InboundPlan, ticket: ZTicket, label: str | None) -> None:
        """Store what changed of the case's details (with feed entries) and queue a CC repair if needed."""
        if plan.outcome not in _APPLIED:
            return
        case_id = plan.case_id if plan.case_id is not None else tx.case_of_ticket(ticket.id)
        case = tx.get_case(case_id) if case_id is not None else None
        if case is None:
            return
        agrees = ticket.status in ("closed", "deleted") or case.status is status_from_zendesk(ticket.status)
        current = CaseDetails(priority=case.priority, status_label=case.status_label, fields=case.fields)
        changes = decide_details(current, ticket, self.field_map, label, label_applies=agrees)
        if changes.store:
            tx.set_case_details(case.id, **changes.store)
        for kind, detail in changes.feed:
            tx.append_change(case.account_id, case.id, ChangeKind(kind), detail)
        if case.status is not CaseStatus.CLOSED and ticket.status not in ("closed", "deleted"):
            self._repair_ccs(tx, case.account_id, case.requester_id, case.cc, ticket.id)

    @staticmethod
    def _repair_ccs(tx: StoreTx, account_id: str, requester_id: str, cc: list[str], ticket_id: int) -> None:
        requester = tx.get_user(account_id, requester_id)
        missing = missing_console_ccs(tx.recipients(account_id), requester.email if requester else None, cc)
        if not missing:
            return
        pending = tx.outbox_entries(ordering_key=account_key(account_id), status="pending")
        if any(isinstance(p, RepairCcsPayload) and ticket_id in p.ticket_ids for p in map(parse_payload, pending)):
            return  # a repair of this ticket is queued already
        # Queued even while list changes of the account are in flight: it runs after them (same ordering key)
        # and reads the ticket's CCs afresh, so it only ever adds what is still missing then.
        enqueue(
            tx,
            RepairCcsPayload(account_id=account_id, ticket_ids=(ticket_id,)),
            ordering_key=account_key(account_id),
            account_id=account_id,
        )
        log.info("ccs_repair_queued", account_id=account_id, ticket_id=ticket_id, missing=len(missing))
