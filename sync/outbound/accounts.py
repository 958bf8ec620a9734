"""Delivering account-level changes: the organization, users, and the account's recipient list.

A recipient-list change touches every non-closed ticket of the account, so it goes through Zendesk's bulk
``update_many`` (100 tickets a request) and its job statuses, never one request per ticket.  The plan for
each ticket is pure (:func:`mappings.recipients.plan_ccs`): console addresses are put, addresses the
console dropped are deleted, hand-added CCs stay, and a ticket that would pass 48 CCs is a conflict.
"""

from __future__ import annotations

from collections.abc import Callable

from mappings.recipients import CcDecision, CcPlan, plan_ccs
from mappings.zendesk import CcChange, TicketUpdateDraft
from sync.errors import MappingError
from sync.gateway import ZendeskGateway
from sync.logging import get_logger
from sync.outbound.dependencies import Settled, wait_for_account, wait_for_users
from sync.outbound.directory import Directory
from sync.store import CaseRecord, OutboxEntry, OutboxKind, Store
from sync.store.outbox_payloads import (
    RecipientsChangedPayload,
    RepairCcsPayload,
    UpsertAccountPayload,
    UpsertUserPayload,
)

__all__ = ["REPAIR_CCS", "AccountDelivery"]

log = get_logger(__name__)

_BATCH = 100

#: The outbox kind the reconciler queues to put console addresses back on tickets (``account:<id>`` key).
REPAIR_CCS = OutboxKind.REPAIR_CCS.value


class AccountDelivery:
    """Handlers for ``upsert_account``, ``upsert_user``, ``recipients_changed`` and ``repair_ccs`` entries."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        directory: Directory,
        sleep: Callable[[float], None],
        settled: Settled | None = None,
    ) -> None:
        self.settled: Settled = settled or (lambda _entry_id: False)
        self.store = store
        self.gateway = gateway
        self.directory = directory
        self.sleep = sleep

    def upsert_account(self, entry: OutboxEntry) -> None:
        """Create the organization, or rename it (create_or_update by external id does both)."""
        self.directory.organization(UpsertAccountPayload.of(entry).account_id, refresh=True)

    def upsert_user(self, entry: OutboxEntry) -> None:
        """Create or update the end-user; an address change moves its Zendesk identity."""
        payload = UpsertUserPayload.of(entry)
        account_id, user_id = payload.account_id, payload.user_id
        with self.store.read() as tx:
            wait_for_account(tx, entry, account_id, self.settled)
        if payload.previous_email:
            self.directory.change_email(account_id, user_id, payload.previous_email)
        self.directory.end_user(account_id, user_id, refresh=True)

    def recipients_changed(self, entry: OutboxEntry) -> None:
        """Bring the CCs of every non-closed ticket of the account in line with its recipient list."""
        payload = RecipientsChangedPayload.of(entry)
        account_id = payload.account_id
        removed = list(payload.removed)
        added = {a.lower() for a in payload.added}
        with self.store.read() as tx:
            if tx.get_account(account_id) is None:
                raise MappingError(f"account {account_id!r} is not in the store")
            current = tx.recipients(account_id)
            cases = [c for c in tx.case_records(account_id, open_only=True) if c.ticket_id is not None]
            users = tx.users(account_id)
            requesters = {u.user_id: u.email for u in users}
            touched = {a.lower() for a in removed} | added
            # The users whose address this change puts or removes: their own address changes go first.
            owners = [u.user_id for u in users if u.email.lower() in touched]
            wait_for_users(tx, entry, account_id, owners, self.settled)
        # What the list was before this change: what casesync had put on the tickets.
        before = [a for a in current if a.lower() not in added] + removed

        plans = {
            case.id: _with_own_addresses(
                plan_ccs(current, requesters.get(case.requester_id), case.cc, before),
                added=[a for a in current if a.lower() in added],
                removed=removed,
                requester=requesters.get(case.requester_id),
            )
            for case in cases
        }
        items = self.apply_cc_plans(account_id, cases, plans)
        log.info("recipients_applied", account_id=account_id, tickets=items, open_cases=len(cases))

    def repair_ccs(self, entry: OutboxEntry) -> None:
        """Restore the console's addresses on the named tickets, reading their CCs from Zendesk itself.

        Queued by the reconciler and after a ticket was created while the list changed
        (:class:`~sync.store.outbox_payloads.RepairCcsPayload`): it starts from what the tickets
        hold now rather than from ``Case.cc``, so a console address that staff removed by hand is put back,
        and every CC that is not a console address is kept as hand-added.
        """
        payload = RepairCcsPayload.of(entry)
        account_id = payload.account_id
        wanted = set(payload.ticket_ids)
        with self.store.read() as tx:
            if tx.get_account(account_id) is None:
                raise MappingError(f"account {account_id!r} is not in the store")
            current = tx.recipients(account_id)
            cases = [c for c in tx.case_records(account_id, open_only=True) if c.ticket_id in wanted]
            requesters = {u.user_id: u.email for u in tx.users(account_id)}
        # Addresses casesync itself put there before (``previously_managed``) may be removed as well.
        managed = current + [a.lower() for a in payload.previously_managed]
        tickets = {t.id: t for t in self.gateway.get_tickets([c.ticket_id for c in cases if c.ticket_id])}
        emails = {
            u.id: (u.email or "").lower()
            for u in self.gateway.get_users([i for t in tickets.values() for i in t.email_cc_ids])
        }
        live = [c for c in cases if c.ticket_id in tickets and tickets[c.ticket_id].status not in ("closed", "deleted")]
        plans = {}
        for case in live:
            assert case.ticket_id is not None
            on_ticket = [emails[i] for i in tickets[case.ticket_id].email_cc_ids if emails.get(i)]
            # Only the console's current addresses count as managed: anything else on the ticket stays.
            plans[case.id] = plan_ccs(current, requesters.get(case.requester_id), on_ticket, managed)
        self.apply_cc_plans(account_id, live, plans)

    def apply_cc_plans(self, account_id: str, cases: list[CaseRecord], plans: dict[int, CcPlan]) -> int:
        """Send the plans' CC changes with ``update_many`` (100 tickets a request, jobs polled).

        A conflict is recorded (once per case and run); each case's ``cc`` is set to what its ticket holds
        afterwards.  Returns the number of tickets updated.
        """
        items: list[tuple[int, TicketUpdateDraft]] = []
        ticket_cases: dict[int, CaseRecord] = {}
        for case in cases:
            plan = plans.get(case.id)
            if plan is None or case.ticket_id is None:
                continue
            if plan.decision is CcDecision.CONFLICT:
                with self.store.transaction() as tx:
                    tx.record_conflict(
                        "cc_limit", plan.detail, account_id=account_id, case_id=case.id, ticket_id=case.ticket_id
                    )
                continue
            if plan.decision is CcDecision.UPDATE:
                items.append((case.ticket_id, TicketUpdateDraft(email_ccs=list(plan.changes))))
                ticket_cases[case.ticket_id] = case
            elif list(case.cc) != plan.resulting:
                with self.store.transaction() as tx:
                    tx.set_case_cc(case.id, plan.resulting)
        for start in range(0, len(items), _BATCH):
            chunk = items[start : start + _BATCH]
            job = self.gateway.update_many(chunk)
            results = self.gateway.wait_job(job, sleep=self.sleep)
            failed = {r.id: r for r in results if r.id is not None and not r.success}
            with self.store.transaction() as tx:
                for ticket_id, _ in chunk:
                    refused = failed.get(ticket_id)
                    if refused is not None:
                        # Zendesk refused this ticket's change (closed meanwhile, too many CCs…): its CCs are
                        # as they were, so ``Case.cc`` stays and the refusal is recorded.
                        tx.record_conflict(
                            "cc_refused",
                            f"{refused.error or 'refused'}: {refused.details or 'no details'}",
                            account_id=account_id,
                            case_id=ticket_cases[ticket_id].id,
                            ticket_id=ticket_id,
                        )
                        continue
                    case = ticket_cases[ticket_id]
                    tx.set_case_cc(case.id, plans[case.id].resulting)
        return len(items)


def _with_own_addresses(plan: CcPlan, *, added: list[str], removed: list[str], requester: str | None) -> CcPlan:
    """Always send the change's own addresses: ``Case.cc`` may lag behind the ticket (an inbound snapshot
    applied late), and a put of a present CC or a delete of an absent one is a no-op in Zendesk."""
    if plan.decision is CcDecision.CONFLICT:
        return plan
    own = {a.lower() for a in (requester,) if a}
    changes = list(plan.changes)
    sent = {(c.email.lower(), c.action) for c in changes}
    changes += [
        CcChange(email=a, action="put") for a in added if a.lower() not in own and (a.lower(), "put") not in sent
    ]
    changes += [CcChange(email=a, action="delete") for a in removed if (a.lower(), "delete") not in sent]
    if not changes:
        return plan
    return plan.model_copy(update={"decision": CcDecision.UPDATE, "changes": changes})
