"""Delivering a user's close (``close``): one request when the assignee is known, since Zendesk needs one to close."""

from __future__ import annotations

from mappings.outbound import (
    decide_close,
)
from mappings.zendesk import TicketUpdateDraft, ZTicket
from sync.errors import (
    MappingError,
    RecordNotFound,
    TicketClosedRemotely,
    UpdateConflict,
    ZendeskRejected,
)
from sync.logging import get_logger
from sync.outbound.case_handler import CaseHandler
from sync.outbound.outcomes import Undeliverable
from sync.store import OutboxEntry
from sync.store.outbox_payloads import ClosePayload
from sync.ticket_facts import known_ticket

__all__ = ["CloseDelivery"]

log = get_logger(__name__)


class CloseDelivery(CaseHandler):
    """The ``close`` handler."""

    def close(self, entry: OutboxEntry) -> None:
        """Close the ticket in one request when casesync knows its assignee; Zendesk needs one to close."""
        case_id = ClosePayload.of(entry).case_id
        email = self.settings.default_assignee_email
        with self.store.read() as tx:
            case = tx.get_case(case_id)
            ticket_id = case.ticket_id if case is not None else None
            facts = known_ticket(tx, ticket_id) if ticket_id is not None else None
            unassigned = facts is not None and facts.assignee_id is None
            known_agent = self.directory.known_agent_id(tx, email) if unassigned and email else None
        if ticket_id is None:
            raise MappingError(f"case {case_id} has no ticket: its submit has not been delivered")
        try:
            if facts is not None and facts.assignee_id is None:
                agent = known_agent if known_agent is not None else self._default_agent(ticket_id)
                # A safe update: if staff assigned the ticket since it was seen, Zendesk answers 409 and
                # the ticket is re-read, so their assignment is never overwritten.
                self.gateway.update_ticket(
                    ticket_id, TicketUpdateDraft(status="closed", assignee_id=agent), updated_stamp=facts.stamp
                )
            else:
                self.gateway.update_ticket(ticket_id, TicketUpdateDraft(status="closed"))
        except TicketClosedRemotely:
            return
        except RecordNotFound:
            # Staff deleted the ticket: there is nothing left to close (the inbound side closes the case
            # with the deletion as its reason), so this is not an operator's problem.
            log.info("close_of_deleted_ticket", case_id=case_id, ticket_id=ticket_id)
            return
        except UpdateConflict:
            self._close_as_it_is_now(self.gateway.get_ticket(ticket_id))
        except ZendeskRejected as exc:
            if exc.status != 422 or "assignee" not in exc.body.lower():
                raise
            self._close_as_it_is_now(self.gateway.get_ticket(ticket_id))

    def _close_as_it_is_now(self, ticket: ZTicket) -> None:
        plan = decide_close(ticket, None if ticket.assignee_id is not None else self._default_agent(ticket.id))
        if plan.update is not None:
            self.gateway.update_ticket(ticket.id, plan.update)

    def _default_agent(self, ticket_id: int) -> int:
        email = self.settings.default_assignee_email
        agent = self.directory.agent_id(email) if email else None
        if agent is None:
            raise Undeliverable(
                f"ticket #{ticket_id} has no assignee and CASESYNC_DEFAULT_ASSIGNEE_EMAIL"
                f" {'is not set' if not email else f'({email}) is not an agent'}: Zendesk refuses to close it"
            )
        return agent
