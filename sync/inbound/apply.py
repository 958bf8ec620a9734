"""Applying one Zendesk ticket to the console: gather, decide (``mappings.inbound``), execute in one transaction.

:class:`TicketApplier` is shared by the poller and the inbox worker.  For one ticket snapshot and its comments
it reads the console's side from the store, looks up what the decision needs in Zendesk (comment authors and
CC users, cached), downloads the attachments of the comments it will import — **before** opening the write
transaction, and never those of internal notes — then re-reads the console's side inside the transaction,
decides again (another worker may have applied the ticket meanwhile) and executes the plan — the follow-up case
it creates, if any, then its changes in order — with the change-feed entries of docs/design.md §6, the ticket's
watermark and the comments seen.  When the decision needs nothing from Zendesk (its users are cached, the
custom-status label known) and the plan downloads nothing — a staff reply on a ticket already seen — it is
decided once, inside the write transaction, which is where the second decision would be made anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from mappings.closer import StatusChange
from mappings.inbound import (
    CaseView,
    ChangeStatus,
    CommentLedger,
    ImportMessage,
    InboundContext,
    InboundPlan,
    SetCc,
    StaffNames,
    StaffNameStyle,
    TicketOutcome,
    WithdrawMessage,
    decide_ticket,
    find_merge_target,
)
from mappings.models import ChangeKind
from mappings.references import find_ticket_references
from mappings.zendesk import ZComment, ZTicket, ZUser
from sync.clock import utc_now
from sync.gateway import ZendeskGateway
from sync.inbound.actions import apply_changes, create_follow_up_case, withdraw_comment
from sync.inbound.redactions import apply_redactions
from sync.inbound.ticket_details import TicketDetails
from sync.metrics import Metrics
from sync.settings import Settings
from sync.store import Store, StoreTx, TicketState, case_key
from sync.store.kv_keys import COMMENT_GAP, PRIVATE_COMMENTS
from sync.ticket_facts import remember_ticket

__all__ = ["TicketApplier", "withdraw_comment"]

#: Bounded so a long-running process does not grow without limit; roles and names rarely change.
_USER_CACHE_MAX = 5000


class _NeedsZendesk(Exception):
    """Deciding in the write transaction would read Zendesk (a user to look up) or the plan downloads files."""


class TicketApplier:
    """Applies Zendesk tickets to the console.  Thread-safe as far as the store and gateway are."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utc_now,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.settings = settings
        self.clock = clock
        self.metrics = metrics
        self.staff_names = StaffNames(style=StaffNameStyle(settings.staff_name), team_name=settings.staff_team_name)
        self.zendesk_host = urlsplit(settings.zendesk_url or gateway.base_url).netloc or None
        self._users: dict[int, ZUser] = {}
        self.details = TicketDetails(gateway, settings)

    # -- public --------------------------------------------------------------------------------------

    def apply(
        self,
        ticket: ZTicket,
        comments: Sequence[ZComment] | None,
        *,
        status_change: StatusChange | None = None,
        merge_target: int | None = None,
        complete: bool = False,
        events_pending: bool = False,
        also: Callable[[StoreTx], object] | None = None,
    ) -> InboundPlan:
        """Apply ``ticket`` with ``comments`` (``None``: list them now) and return the plan executed.

        ``also`` runs in the same write transaction, after the plan (the inbox completes its hint there: the
        change and the hint's completion commit together, in one commit).

        ``complete`` says the comments are the ticket's full list (not a slice from the event export), which
        clears the ticket's comment-gap marker.  ``status_change`` (the ticket's latest status change in the event
        export) and ``merge_target`` pass on what the export's events told; ``events_pending`` says the poller
        has yet to read this change there, so a close whose actor nothing tells yet is left to it (the evidence
        of who closed it: :func:`mappings.closer.who_closed`).  Raises the gateway's errors and the mappings' decision
        errors (``UnknownZendeskStatus``, ``MissingAuthor``); nothing is written then.
        """
        if comments is None:
            comments = self.gateway.list_comments(ticket.id)
            complete = True
        comments = list(comments)
        if self.details.prepared(ticket):
            # Decide once, in the write transaction, when the decision reads nothing from Zendesk (the users it
            # looks up are cached) and the plan downloads nothing: nothing is fetched inside the transaction.
            # Otherwise, as below: decide, fetch, then decide again on the committed state and execute.
            label = self.details.prepare(ticket)
            try:
                with self.store.transaction() as tx:
                    plan = self._decide(tx, ticket, comments, status_change, events_pending, merge_target, fetch=False)
                    if self._wants_downloads(plan):
                        raise _NeedsZendesk
                    self._execute(tx, plan, ticket, comments, {}, complete)
                    unmanaged = plan.outcome is TicketOutcome.IGNORE_UNMANAGED
                    self.details.apply(tx, plan, ticket, None if unmanaged else label)
                    if also is not None:
                        also(tx)
            except _NeedsZendesk:
                pass  # rolled back before any write
            else:
                self._observe(plan)
                return plan
        with self.store.read() as tx:
            plan = self._decide(tx, ticket, comments, status_change, events_pending, merge_target)
        downloads = self._download(plan)
        label = self.details.prepare(ticket) if plan.outcome is not TicketOutcome.IGNORE_UNMANAGED else None
        with self.store.transaction() as tx:
            # Decide again on the committed state: another worker may have applied this ticket since.
            plan = self._decide(tx, ticket, comments, status_change, events_pending, merge_target)
            self._execute(tx, plan, ticket, comments, downloads, complete)
            self.details.apply(tx, plan, ticket, label)
            if also is not None:
                also(tx)
        self._observe(plan)
        return plan

    def apply_deleted(self, ticket_id: int, *, also: Callable[[StoreTx], object] | None = None) -> InboundPlan | None:
        """Apply a ticket that Zendesk no longer has (404): its case closes (system, "deleted in Zendesk").

        ``None`` when the ticket is not linked to a case (``also`` has not run then).
        """
        with self.store.read() as tx:
            case_id = tx.case_of_ticket(ticket_id)
            view = self._case_view(tx, case_id) if case_id is not None else None
        if view is None:
            return None
        ghost = ZTicket(
            id=ticket_id,
            status="deleted",
            organization_id=view.organization_id,
            requester_id=view.requester_zendesk_id,
        )
        with self.store.transaction() as tx:
            view = self._case_view(tx, case_id) if case_id is not None else None
            if view is None:
                return None
            plan = decide_ticket(view, ghost, [], CommentLedger(), InboundContext())
            # The snapshot is made up: only its status speaks, not its (empty) CC list.
            plan = plan.model_copy(update={"changes": [a for a in plan.changes if not isinstance(a, SetCc)]})
            self._execute(tx, plan, ghost, [], {}, True)
            if also is not None:
                also(tx)
        self._observe(plan)
        return plan

    # -- gathering -----------------------------------------------------------------------------------

    def _case_view(self, tx: StoreTx, case_id: int) -> CaseView | None:
        record = tx.get_case(case_id)
        if record is None or record.ticket_id is None:
            return None
        account = tx.get_account(record.account_id)
        user = tx.get_user(record.account_id, record.requester_id)
        state = tx.ticket_state(record.ticket_id)
        pending = tx.outbox_entries(ordering_key=case_key(case_id), status="pending", limit=1)
        return CaseView(
            case_id=record.id,
            account_id=record.account_id,
            ticket_id=record.ticket_id,
            status=record.status,
            organization_id=account.zendesk_org_id if account else None,
            requester_zendesk_id=user.zendesk_user_id if user else None,
            cc=list(record.cc),
            last_updated_at=state.updated_at if state else None,
            last_generated_timestamp=state.generated_timestamp if state else None,
            pending_outbound=bool(pending),
        )

    def _decide(
        self,
        tx: StoreTx,
        ticket: ZTicket,
        comments: list[ZComment],
        status_change: StatusChange | None,
        events_pending: bool,
        merge_target: int | None,
        *,
        fetch: bool = True,
    ) -> InboundPlan:
        """The plan for ``ticket``; ``fetch=False`` raises :class:`_NeedsZendesk` instead of looking users up."""
        case_id = tx.case_of_ticket(ticket.id)
        view = self._case_view(tx, case_id) if case_id is not None else None
        source: CaseView | None = None
        if view is None and ticket.followup_source_id is not None:
            source_case = tx.case_of_ticket(ticket.followup_source_id)
            source = self._case_view(tx, source_case) if source_case is not None else None
        owner = view or source
        if owner is None:
            # Not managed (or awaiting its link): decide without lookups, nothing is imported.
            return decide_ticket(None, ticket, comments, CommentLedger(), InboundContext())
        private = frozenset(PRIVATE_COMMENTS.get(tx, ticket.id) or ())
        ledger = self._ledger(tx, view.case_id, private) if view is not None else CommentLedger(private=private)
        context = InboundContext(
            users=self._users_for(ticket, comments, ledger, fetch=fetch),
            ticket_cases=self._ticket_cases(tx, owner.account_id, ticket, comments, merge_target),
            staff_names=self.staff_names,
            zendesk_host=self.zendesk_host,
            organization_account_id=owner.account_id if ticket.organization_id == owner.organization_id else None,
            requester_account_ids=frozenset(
                u.account_id for u in (tx.users_by_zendesk_id(ticket.requester_id) if ticket.requester_id else [])
            ),
            followup_source_case=source,
            status_change=status_change,
            await_close_actor=events_pending,
            merge_target_ticket_id=merge_target,
        )
        return decide_ticket(view, ticket, comments, ledger, context)

    @staticmethod
    def _ledger(tx: StoreTx, case_id: int, private: frozenset[int] = frozenset()) -> CommentLedger:
        imported: set[int] = set()
        withdrawn: set[int] = set()
        written: set[int] = set()
        for message in tx.case_messages(case_id, include_withdrawn=True):
            if message.zendesk_comment_id is None:
                continue
            if message.origin == "console":
                written.add(message.zendesk_comment_id)
            else:
                imported.add(message.zendesk_comment_id)
                if message.withdrawn:
                    withdrawn.add(message.zendesk_comment_id)
        return CommentLedger(
            imported=frozenset(imported), withdrawn=frozenset(withdrawn), written=frozenset(written), private=private
        )

    def _users_for(
        self, ticket: ZTicket, comments: list[ZComment], ledger: CommentLedger, *, fetch: bool = True
    ) -> dict[int, ZUser]:
        # Only authors of comments that may be imported, and the CCs: internal notes need no lookup.
        known = ledger.imported | ledger.written | ledger.private
        wanted = {c.author_id for c in comments if c.public and c.id not in known}
        wanted.update(ticket.email_cc_ids)
        missing = [i for i in wanted if i not in self._users and i > 0]
        if missing and not fetch:
            raise _NeedsZendesk
        if missing:
            if len(self._users) + len(missing) > _USER_CACHE_MAX:
                self._users.clear()
            for fetched in self.gateway.get_users(missing):
                self._users[fetched.id] = fetched
        # .get: the poller's thread and the inbox's share the cache (one may clear it while the other reads).
        return {i: user for i in wanted if (user := self._users.get(i)) is not None}

    @staticmethod
    def _ticket_cases(
        tx: StoreTx, account_id: str, ticket: ZTicket, comments: list[ZComment], merge_target: int | None
    ) -> dict[int, int]:
        """Ticket → case number for the tickets the text quotes, **only cases of ``account_id``**."""
        quoted: set[int] = set()
        for comment in comments:
            quoted.update(find_ticket_references(comment.body))
            if comment.html_body:
                quoted.update(find_ticket_references(comment.html_body))
        target = find_merge_target(ticket, comments, merge_target)
        if target is not None:
            quoted.add(target)
        out: dict[int, int] = {}
        for ticket_id in quoted:
            case_id = tx.case_of_ticket(ticket_id)
            record = tx.get_case(case_id) if case_id is not None else None
            if record is not None and record.account_id == account_id:
                out[ticket_id] = record.id
        return out

    @staticmethod
    def _wants_downloads(plan: InboundPlan) -> bool:
        return any(
            isinstance(action, ImportMessage) and any(a.content_url for a in action.attachments)
            for action in plan.changes
        )

    def _download(self, plan: InboundPlan) -> dict[int, bytes]:
        # Only the attachments of comments the plan imports: an internal note's never appear here.
        out: dict[int, bytes] = {}
        for action in plan.changes:
            if isinstance(action, ImportMessage):
                for attachment in action.attachments:
                    if attachment.content_url and attachment.id not in out:
                        out[attachment.id] = self.gateway.download(attachment.content_url)
        return out

    # -- executing -----------------------------------------------------------------------------------

    def _execute(
        self,
        tx: StoreTx,
        plan: InboundPlan,
        ticket: ZTicket,
        comments: list[ZComment],
        downloads: dict[int, bytes],
        complete: bool,
    ) -> None:
        case_id = plan.case_id
        account_id = ""
        if case_id is not None:
            record = tx.get_case(case_id, for_update=True)
            account_id = record.account_id if record else ""
        state = tx.ticket_state(ticket.id)
        extra: dict[str, Any] = dict(state.extra) if state else {}
        conflicts: list[str] = list(extra.get("conflicts") or [])
        if plan.follow_up is not None:
            case_id, account_id = create_follow_up_case(tx, plan.follow_up), plan.follow_up.account_id
        if case_id is not None:
            apply_changes(tx, plan, case_id, account_id, downloads, conflicts)
        extra["conflicts"] = conflicts
        if plan.outcome in (TicketOutcome.IGNORE_UNMANAGED, TicketOutcome.AWAIT_LINK):
            return  # nothing of ours: no state kept for it
        if complete:
            COMMENT_GAP.clear(tx, ticket.id)
        remember_ticket(tx, ticket)  # the assignee, so a user's close costs one request
        if plan.updated_at is not None or plan.generated_timestamp is not None:
            tx.put_ticket_state(
                TicketState(
                    ticket_id=ticket.id,
                    case_id=case_id,
                    updated_at=plan.updated_at,
                    generated_timestamp=plan.generated_timestamp,
                    status=ticket.status,
                    extra=extra,
                )
            )
        elif state is not None and extra != state.extra:
            tx.put_ticket_state(replace(state, extra=extra))
        elif state is None and conflicts:
            # No case owns the ticket (a follow-up in conflict): keep which conflicts were recorded, and only
            # that, so a ticket that stays in conflict is reported once however often it changes.
            tx.put_ticket_state(TicketState(ticket_id=ticket.id, case_id=None, extra=extra))
        if comments and plan.outcome is not TicketOutcome.IGNORE_STALE:
            tx.mark_comments_seen(ticket.id, {c.id for c in comments})
        if case_id is not None and comments:
            # Whatever else the snapshot is: removing what staff redacted never moves anything across accounts.
            apply_redactions(
                tx,
                case_id,
                ticket.id,
                comments,
                ticket_cases=lambda: self._ticket_cases(tx, account_id, ticket, comments, None),
                zendesk_host=self.zendesk_host,
            )

    def _observe(self, plan: InboundPlan) -> None:
        if self.metrics is None:
            return
        now = self.clock()
        for action in plan.changes:
            if isinstance(action, ImportMessage):
                self.metrics.count_inbound_applied(action.feed_kind.value)
                self.metrics.observe_inbound_lag((now - action.created_at).total_seconds())
            elif isinstance(action, ChangeStatus):
                self.metrics.count_inbound_applied(action.feed_kind.value)
            elif isinstance(action, WithdrawMessage):
                self.metrics.count_inbound_applied(ChangeKind.WITHDRAWN_MESSAGE.value)
