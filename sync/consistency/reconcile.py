"""The reconciler: compares every linked case with its ticket and queues repairs (``casesync reconcile``).

Reads are bulk: linked cases page through the store 1,000 at a time, their tickets come 100 per
``show_many`` request, CC users 100 per ``users/show_many`` (cached for the run), and public comments from
the ticket-event export (see :mod:`sync.consistency.comments`).  Only a ticket merged away whose case does not
name its target costs one more request (its comments name the target).

Repairs never write to Zendesk directly: console-side changes Zendesk must receive are queued in the outbox
(``close``, and ``repair_ccs`` per account, handled by the outbox worker), changes Zendesk made that the
console missed become inbox hints (the inbox worker re-reads and applies the ticket), and references that
Zendesk states unambiguously (a follow-up's source, a merge target) are set in the store with their feed
entries.  Cases with console changes still queued, and tickets changed within ``grace_s`` (the export's blind
minute), are not judged: they are in flight, not drifted.  The report lists each of them with the reason
(``DriftReport.skipped``), so an operator knows what a rerun a minute later will look at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mappings.closer import MERGE_TAG
from mappings.cursor import clamp_start_time
from mappings.errors import MappingValueError
from mappings.inbound import find_merge_target
from mappings.models import CaseStatus, ChangeKind
from mappings.recipients import CcDecision, plan_ccs
from mappings.status import status_from_zendesk
from mappings.zendesk import ZTicket
from sync.clock import utc_now
from sync.consistency.comments import ExportBudgetExhausted, comment_census, redaction_drift
from sync.consistency.drift import Drift, DriftKind, DriftReport, Skipped
from sync.gateway import ZendeskGateway
from sync.logging import get_logger
from sync.outbound.accounts import REPAIR_CCS
from sync.settings import Settings
from sync.store import CaseRecord, Store, StoreTx, account_key, case_key
from sync.store.kv_keys import RECONCILE_LAST
from sync.store.kv_values import ReconcileSummary
from sync.store.outbox_payloads import ClosePayload, RepairCcsPayload, enqueue

__all__ = ["Reconciler"]

log = get_logger(__name__)



@dataclass
class _Account:
    recipients: list[str]
    emails: dict[str, str]  # console user id → email


class Reconciler:
    """Finds drift between the store and Zendesk for every linked case; ``run(repair=True)`` queues repairs."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], None] = time.sleep,
        grace_s: float = 60.0,
        page_size: int = 1000,
        check_comments: bool = True,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.settings = settings
        self.clock = clock
        self.sleep = sleep
        self.grace_s = grace_s
        self.page_size = page_size
        self.check_comments = check_comments

    def run(self, repair: bool) -> DriftReport:
        """Check every linked case; with ``repair`` queue the repairs.  Records ``reconcile:last``."""
        report = DriftReport(at=self.clock())
        self._emails: dict[int, str] = {}
        self._accounts: dict[str, _Account] = {}
        self._records: dict[int, CaseRecord] = {}
        comment_cases: dict[int, int] = {}  # ticket → case, for the comment census
        earliest: datetime | None = None
        with self.store.read() as tx:
            self._pending = {e.ordering_key for e in tx.outbox_entries(status="pending", limit=10_000_000)}
        after = 0
        while True:
            with self.store.read() as tx:
                page = tx.linked_cases(after_case_id=after, limit=self.page_size)
                records = {case_id: tx.get_case(case_id) for case_id, _ in page}
            if not page:
                break
            after = page[-1][0]
            tickets = {t.id: t for t in self.gateway.get_tickets([ticket_id for _, ticket_id in page])}
            # Zendesk's clock as its last answer told it: "a moment ago" is judged on Zendesk's time.
            self._now_zd = self.gateway.zendesk_now()
            self._load_emails([i for t in tickets.values() for i in t.email_cc_ids])
            for case_id, ticket_id in page:
                record = records.get(case_id)
                if record is None:
                    continue
                self._records[case_id] = record
                report.checked += 1
                ticket = tickets.get(ticket_id)
                skipped = self._in_flight(record, ticket_id, ticket)
                if skipped is not None:
                    report.skipped.append(skipped)
                report.drifts.extend(self._check(record, ticket_id, ticket))
                if ticket is not None and ticket.created_at is not None:
                    # Closed cases too: staff may redact a closed ticket's comments (only redactions are checked).
                    comment_cases[ticket_id] = case_id
                    earliest = ticket.created_at if earliest is None else min(earliest, ticket.created_at)
        if self.check_comments and comment_cases and earliest is not None:
            report.drifts.extend(self._check_comments(comment_cases, earliest, report))
        if repair:
            report.repaired = self._repair(report.drifts)
        with self.store.transaction() as tx:
            RECONCILE_LAST.put(tx, ReconcileSummary(at=report.at, drift=report.drift, repaired=report.repaired))
        log.info("reconciled", checked=report.checked, drift=report.drift, repaired=report.repaired)
        return report

    # -- checks ----------------------------------------------------------------------------------------

    def _check(self, record: CaseRecord, ticket_id: int, ticket: ZTicket | None) -> list[Drift]:
        def drift(kind: DriftKind, detail: str, repair: str, on_ticket: int = ticket_id) -> Drift:
            return Drift(
                kind, record.account_id, record.id if on_ticket == ticket_id else None, on_ticket, detail, repair
            )

        if ticket is None or ticket.status == "deleted":
            if record.status is CaseStatus.CLOSED:
                return []
            return [
                drift(DriftKind.VANISHED, f"ticket #{ticket_id} no longer exists; the case is {record.status}", "inbox")
            ]
        if case_key(record.id) in self._pending or self._fresh(ticket):
            return []  # console changes still queued, or Zendesk changed it a moment ago: in flight
        out: list[Drift] = []
        try:
            expected = status_from_zendesk(ticket.status)
        except MappingValueError:
            expected = None
        if expected is not None and expected is not record.status:
            if record.status is CaseStatus.CLOSED:
                out.append(
                    drift(DriftKind.STATUS, f"the case is Closed, the ticket is {ticket.status}", "outbox:close")
                )
            else:
                out.append(
                    drift(
                        DriftKind.STATUS,
                        f"the case is {record.status}, the ticket is {ticket.status} ({expected})",
                        "inbox",
                    )
                )
        if record.status is not CaseStatus.CLOSED and ticket.status != "closed":
            out.extend(self._check_ccs(record, ticket, drift))
        out.extend(self._check_links(record, ticket, drift))
        return out

    def _in_flight(self, record: CaseRecord, ticket_id: int, ticket: ZTicket | None) -> Skipped | None:
        """Why :meth:`_check` does not judge this case (the same tests, said in words), or None."""
        if ticket is None or ticket.status == "deleted":
            return None
        if case_key(record.id) in self._pending:
            return Skipped(record.account_id, record.id, ticket_id,
                           "console changes are still queued in the outbox; judged once they are delivered")
        if self._fresh(ticket) and ticket.updated_at is not None:
            age = max(0.0, (self._now_zd - ticket.updated_at).total_seconds())
            return Skipped(record.account_id, record.id, ticket_id,
                           f"changed in Zendesk {age:.0f} s ago, within the last {self.grace_s:.0f} s that Zendesk's"
                           f" export may not show yet; run reconcile again in {self.grace_s - age:.0f} s or later")
        return None

    def _fresh(self, ticket: ZTicket) -> bool:
        if ticket.updated_at is None or self.grace_s <= 0:
            return False
        return (self._now_zd - ticket.updated_at).total_seconds() < self.grace_s

    def _check_ccs(self, record: CaseRecord, ticket: ZTicket, drift: Callable[..., Drift]) -> list[Drift]:
        if account_key(record.account_id) in self._pending:
            return []  # a recipient change is on its way
        on_ticket = [self._emails.get(i) for i in ticket.email_cc_ids]
        if any(e is None for e in on_ticket):
            return []  # a CC user we could not read: no verdict rather than a guess
        emails = [e for e in on_ticket if e]
        account = self._account(record.account_id)
        plan = plan_ccs(account.recipients, account.emails.get(record.requester_id), emails, account.recipients)
        if plan.decision is CcDecision.CONFLICT:
            return [drift(DriftKind.CCS, plan.detail, "none")]
        if plan.decision is CcDecision.UPDATE:
            missing = ", ".join(c.email for c in plan.changes if c.action == "put")
            return [drift(DriftKind.CCS, f"console address(es) not CC'd: {missing}", f"outbox:{REPAIR_CCS}")]
        if {e.lower() for e in record.cc} != set(emails):
            return [
                drift(
                    DriftKind.CC_DISPLAY,
                    f"the case shows {sorted(record.cc)}, the ticket has {sorted(emails)}",
                    "inbox",
                )
            ]
        return []

    def _check_links(self, record: CaseRecord, ticket: ZTicket, drift: Callable[..., Drift]) -> list[Drift]:
        out: list[Drift] = []
        with self.store.read() as tx:
            referred_ticket = tx.ticket_of(record.refers_to) if record.refers_to is not None else None
            if referred_ticket is not None and ticket.followup_source_id != referred_ticket:
                # Zendesk sets the follow-up link only at creation: reported, not repairable.
                out.append(
                    drift(
                        DriftKind.FOLLOW_UP,
                        f"the case continues case #{record.refers_to}, but its ticket"
                        f" is not a follow-up of ticket #{referred_ticket}",
                        "none",
                    )
                )
            if ticket.followup_source_id is not None:
                source = self._same_account_case(tx, record.account_id, ticket.followup_source_id)
                if source is not None and record.refers_to != source:
                    out.append(
                        drift(
                            DriftKind.FOLLOW_UP,
                            f"the ticket follows up case #{source}; the case refers"
                            f" to {record.refers_to and f'#{record.refers_to}'}",
                            f"store:refers_to={source}",
                        )
                    )
            for follow_up in ticket.followup_ids:
                if tx.case_of_ticket(follow_up) is None:
                    out.append(
                        drift(
                            DriftKind.FOLLOW_UP,
                            f"follow-up ticket #{follow_up} of case #{record.id} has no case",
                            "inbox",
                            on_ticket=follow_up,
                        )
                    )
        if record.status is CaseStatus.CLOSED and record.merged_into is None and MERGE_TAG in ticket.tags:
            target = find_merge_target(ticket, self.gateway.list_comments(ticket.id))
            with self.store.read() as tx:
                case = self._same_account_case(tx, record.account_id, target) if target is not None else None
            if case is not None:
                out.append(
                    drift(
                        DriftKind.MERGED,
                        f"the ticket was merged into case #{case}'s ticket",
                        f"store:merged_into={case}",
                    )
                )
        return out

    def _check_comments(self, cases: dict[int, int], earliest: datetime, report: DriftReport) -> list[Drift]:
        try:
            # Zendesk refuses a start_time of its last minute (400): a ticket created just now starts earlier.
            start = clamp_start_time(earliest, self.gateway.zendesk_now())
            census = comment_census(self.gateway, cases, start, sleep=self.sleep)
        except ExportBudgetExhausted as exc:
            report.errors.append(f"public comments: {exc}")
            return []
        out: list[Drift] = []
        with self.store.read() as tx:
            for ticket_id, case_id in cases.items():
                record = self._records[case_id]
                if case_key(case_id) in self._pending:
                    continue
                messages = tx.case_messages(case_id, include_withdrawn=True)
                redacted = redaction_drift(messages, census)
                if redacted:
                    out.append(Drift(DriftKind.REDACTED, record.account_id, case_id, ticket_id, redacted, "inbox"))
                if record.status is CaseStatus.CLOSED:
                    continue
                shown = {m.zendesk_comment_id for m in messages if m.zendesk_comment_id and not m.withdrawn}
                known = {m.zendesk_comment_id for m in messages if m.zendesk_comment_id}
                missing = census.public.get(ticket_id, set()) - known
                private = census.private.get(ticket_id, set()) & shown
                if missing or private:
                    parts = []
                    if missing:
                        parts.append(f"{len(missing)} public comment(s) not on the case")
                    if private:
                        parts.append(f"{len(private)} message(s) whose comment was made private")
                    out.append(
                        Drift(DriftKind.COMMENTS, record.account_id, case_id, ticket_id, "; ".join(parts), "inbox")
                    )
        return out

    # -- lookups ---------------------------------------------------------------------------------------

    def _load_emails(self, user_ids: list[int]) -> None:
        missing = [i for i in dict.fromkeys(user_ids) if i not in self._emails]
        if missing:
            for user in self.gateway.get_users(missing):
                self._emails[user.id] = (user.email or "").strip().lower()

    def _account(self, account_id: str) -> _Account:
        found = self._accounts.get(account_id)
        if found is None:
            with self.store.read() as tx:
                found = _Account(
                    recipients=tx.recipients(account_id),
                    emails={u.user_id: u.email for u in tx.users(account_id)},
                )
            self._accounts[account_id] = found
        return found

    @staticmethod
    def _same_account_case(tx: StoreTx, account_id: str, ticket_id: int) -> int | None:
        case_id = tx.case_of_ticket(ticket_id)
        record = tx.get_case(case_id) if case_id is not None else None
        return record.id if record is not None and record.account_id == account_id else None

    # -- repairs ---------------------------------------------------------------------------------------

    def _repair(self, drifts: list[Drift]) -> int:
        repaired = 0
        hinted: set[int] = set()
        cc_tickets: dict[str, list[int]] = {}
        stamp = self.clock().isoformat()
        with self.store.transaction() as tx:
            for item in drifts:
                if item.repair == "inbox":
                    if item.ticket_id not in hinted:
                        hinted.add(item.ticket_id)
                        tx.add_inbox(
                            item.ticket_id,
                            "reconcile",
                            f"reconcile:{item.ticket_id}:{stamp}",
                            {"reason": item.kind.value},
                        )
                elif item.repair == "outbox:close" and item.case_id is not None:
                    record = self._records[item.case_id]
                    enqueue(
                        tx,
                        ClosePayload(case_id=item.case_id, user_id=record.requester_id),
                        ordering_key=case_key(item.case_id),
                        account_id=item.account_id,
                        case_id=item.case_id,
                    )
                elif item.repair == f"outbox:{REPAIR_CCS}":
                    cc_tickets.setdefault(item.account_id, []).append(item.ticket_id)
                elif item.repair.startswith("store:") and item.case_id is not None:
                    self._repair_reference(tx, item)
                else:
                    continue
                repaired += 1
            for account_id, ticket_ids in cc_tickets.items():
                payload = RepairCcsPayload(account_id=account_id, ticket_ids=tuple(sorted(set(ticket_ids))))
                enqueue(tx, payload, ordering_key=account_key(account_id), account_id=account_id)
        return repaired

    @staticmethod
    def _repair_reference(tx: StoreTx, item: Drift) -> None:
        assert item.case_id is not None
        name, _, value = item.repair.removeprefix("store:").partition("=")
        target = int(value)
        if name == "refers_to":
            tx.set_case_refs(item.case_id, refers_to=target)
            tx.append_change(item.account_id, item.case_id, ChangeKind.LINKED_CASE, f"continues case #{target}")
        else:
            tx.set_case_refs(item.case_id, merged_into=target)
            tx.append_change(item.account_id, item.case_id, ChangeKind.MERGED, f"merged into case #{target}")
