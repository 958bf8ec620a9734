"""Delivering account-level changes: the organization, users, and the account's recipient list.

A recipient-list change touches every non-closed ticket of the account, so it goes through Zendesk's bulk
``update_many`` (100 tickets a request) and its job statuses, never one request per ticket.  The plan for
each ticket is pure (:func:`mappings.recipients.plan_ccs`): console addresses are put, addresses the
console dropped are deleted, hand-added CCs stay, and a ticket that would pass 48 CCs is a conflict.
"""

from __future__ import annotations

from collections.abc import Callable

from mappings.recipients import CcDecision, plan_ccs
from mappings.zendesk import TicketUpdateDraft
from sync.errors import MappingError
from sync.gateway import ZendeskGateway
from sync.logging import get_logger
from sync.outbound.directory import Directory
from sync.store import OutboxEntry, Store

__all__ = ["AccountDelivery"]

log = get_logger(__name__)

_BATCH = 100


class AccountDelivery:
    """Handlers for ``upsert_account``, ``upsert_user`` and ``recipients_changed`` entries."""

    def __init__(
        self, store: Store, gateway: ZendeskGateway, directory: Directory, sleep: Callable[[float], None]
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.directory = directory
        self.sleep = sleep

    def upsert_account(self, entry: OutboxEntry) -> None:
        """Create the organization, or rename it (create_or_update by external id does both)."""
        self.directory.organization(str(entry.payload["account_id"]), refresh=True)

    def upsert_user(self, entry: OutboxEntry) -> None:
        """Create or update the end-user; an address change moves its Zendesk identity."""
        account_id = str(entry.payload["account_id"])
        user_id = str(entry.payload["user_id"])
        previous = entry.payload.get("previous_email")
        if previous:
            self.directory.change_email(account_id, user_id, str(previous))
        self.directory.end_user(account_id, user_id, refresh=True)

    def recipients_changed(self, entry: OutboxEntry) -> None:
        """Bring the CCs of every non-closed ticket of the account in line with its recipient list."""
        account_id = str(entry.payload["account_id"])
        removed = [str(a) for a in entry.payload.get("removed") or ()]
        added = {str(a).lower() for a in entry.payload.get("added") or ()}
        with self.store.read() as tx:
            if tx.get_account(account_id) is None:
                raise MappingError(f"account {account_id!r} is not in the store")
            current = tx.recipients(account_id)
            cases = [c for c in tx.case_records(account_id, open_only=True) if c.ticket_id is not None]
            requesters = {u.user_id: u.email for u in tx.users(account_id)}
        # What the list was before this change: what casesync had put on the tickets.
        before = [a for a in current if a.lower() not in added] + removed

        items: list[tuple[int, TicketUpdateDraft]] = []
        resulting: dict[int, list[str]] = {}
        for case in cases:
            assert case.ticket_id is not None
            plan = plan_ccs(current, requesters.get(case.requester_id), case.cc, before)
            if plan.decision is CcDecision.CONFLICT:
                with self.store.transaction() as tx:
                    tx.record_conflict(
                        "cc_limit", plan.detail, account_id=account_id, case_id=case.id, ticket_id=case.ticket_id
                    )
                continue
            if plan.decision is CcDecision.UPDATE:
                items.append((case.ticket_id, TicketUpdateDraft(email_ccs=list(plan.changes))))
                resulting[case.ticket_id] = plan.resulting
        ticket_cases = {c.ticket_id: c.id for c in cases}
        for start in range(0, len(items), _BATCH):
            chunk = items[start : start + _BATCH]
            job = self.gateway.update_many(chunk)
            results = self.gateway.wait_job(job, sleep=self.sleep)
            failed = {r.id for r in results if r.id is not None and not r.success}
            with self.store.transaction() as tx:
                for ticket_id, _ in chunk:
                    if ticket_id in failed:
                        # Typically closed meanwhile (Zendesk forbids touching closed tickets): left alone.
                        continue
                    tx.set_case_cc(ticket_cases[ticket_id], resulting[ticket_id])
        log.info("recipients_applied", account_id=account_id, tickets=len(items), open_cases=len(cases))
