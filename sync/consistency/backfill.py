"""``casesync backfill --since DATE``: imports existing tickets of the console's organizations as cases.

Tickets come from the cursor-based incremental export starting at ``since``; a ticket belongs to the console
when its organization's external id is ``console-account:<id>`` of an account in the store.  Each one becomes
a case with the ticket's status (mapped as inbound does) and its **public** comments as messages — internal
notes and their attachments never leave Zendesk — linked to the ticket, so the workers carry on from there.

* Comments in bulk: they are read from the ticket-event export over the same range
  (:mod:`sync.consistency.backfill_comments`), a few requests for a thousand tickets; a ticket whose comments
  the export cannot prove complete (older than the range, an inline image, …) has them listed.  Users and
  organizations are looked up a page at a time (``show_many``); attachments are downloaded one by one.
* Resumable: after each ticket page both cursors (the ticket export's and the event export's) are stored in
  kv ``backfill:cursor``; a run with the same ``since`` resumes from them.  A run that reaches the end of the
  export clears it.
* Idempotent: a ticket already linked to a case (or one of casesync's own tickets) is skipped.
* CCs: the imported open tickets get the account's recipient list through the outbox (``repair_ccs``).
* The export's last minute: Zendesk leaves the most recent minute out of its incremental exports, so a
  ticket created or changed within the minute before the run is not imported; the result says up to when
  the export reached and when to run again (a rerun skips what is already imported).
* Progress: one log line per ticket page and one per wait for the export's budget (stderr); both exports
  share Zendesk's budget of 10 requests a minute, so on a real help desk the run's length is set by its pages.
* Requesters: a Zendesk user the console already knows (by link, else by email in that account) is used;
  an unknown one is skipped and reported, unless ``create_users`` adds it as a non-admin user of the account.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import urlsplit

from rich.console import Console

from mappings.closer import MERGE_TAG, CloseEvidence, CloseWitness, who_closed
from mappings.cursor import START_TIME_LAG_S
from mappings.errors import MappingValueError
from mappings.external_ids import parse_account_external_id, try_parse_case_external_id
from mappings.inbound import (
    STAFF_ROLES,
    StaffNames,
    StaffNameStyle,
    find_merge_target,
    staff_display_name,
    user_display_name,
)
from mappings.models import CaseStatus
from mappings.references import find_ticket_references, translate_references
from mappings.rich_text import imported_attachment_id, message_html
from mappings.status import status_from_zendesk
from mappings.zendesk import ZComment, ZTicket, ZUser
from sync.consistency.backfill_comments import BulkComments
from sync.errors import RateLimited
from sync.gateway import TicketPage, ZendeskGateway
from sync.logging import get_logger
from sync.retry import BudgetWait
from sync.settings import Settings
from sync.store import Store, StoreTx, TicketState, account_key
from sync.store.kv_keys import BACKFILL_CHECKPOINT
from sync.store.kv_values import BackfillCheckpoint
from sync.store.outbox_payloads import RepairCcsPayload, enqueue

__all__ = ["BackfillResult", "Backfiller"]

log = get_logger(__name__)

T = TypeVar("T")
_MAX_WAITS = 10


@dataclass
class BackfillResult:
    """What a backfill run did (counts include the interrupted runs it resumed)."""

    imported: int = 0
    already_linked: int = 0
    not_console: int = 0
    unknown_requesters: dict[str, int] = field(default_factory=dict)  # address (or #id) → tickets skipped
    created_users: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    resumed: bool = False
    #: Zendesk's clock at the last export page: the export holds changes up to a minute before it.
    export_date: datetime | None = None

    @property
    def export_until(self) -> datetime | None:
        """Changes after this time were not in the export (its last minute), so not imported by this run."""
        if self.export_date is None:
            return None
        return self.export_date.astimezone(UTC) - timedelta(seconds=START_TIME_LAG_S)

    def checkpoint(self, since: int, cursor: str, events: int, pending_refs: dict[str, int]) -> BackfillCheckpoint:
        """Where the run stands, for a run resumed with the same ``since``."""
        return BackfillCheckpoint(
            since=since, cursor=cursor, events=events, pending_refs=pending_refs, imported=self.imported,
            already_linked=self.already_linked, not_console=self.not_console,
            unknown_requesters=self.unknown_requesters, created_users=tuple(self.created_users),
        )

    def resume(self, saved: BackfillCheckpoint) -> None:
        """Carry on from the counts of an interrupted run."""
        self.resumed = True
        self.imported, self.already_linked, self.not_console = saved.imported, saved.already_linked, saved.not_console
        self.unknown_requesters = dict(saved.unknown_requesters)
        self.created_users = list(saved.created_users)

    def render(self, console: Console, *, since: datetime | None = None) -> None:
        if self.resumed:
            console.print("Resumed an interrupted backfill.")
        console.print(f"Imported {self.imported} ticket(s) as cases; {self.already_linked} already linked;"
                      f" {self.not_console} outside the console's organizations.")
        if self.created_users:
            console.print(f"Created {len(self.created_users)} console user(s): {', '.join(self.created_users)}")
        if self.unknown_requesters:
            total = sum(self.unknown_requesters.values())
            console.print(f"[yellow]Skipped {total} ticket(s) whose requester the console does not know[/yellow]"
                          " (run again with --create-users to add them as users of the account):")
            for who, count in sorted(self.unknown_requesters.items()):
                console.print(f"  {who}: {count}")
        for error in self.errors:
            console.print(f"[red]not imported:[/red] {error}")
        until = self.export_until
        if until is not None:
            again = f"casesync backfill --since {since.isoformat()}" if since else "casesync backfill"
            rerun_at = (until + timedelta(seconds=2 * START_TIME_LAG_S)).isoformat(timespec="seconds")
            console.print(
                f"Not included: tickets created or changed after {until.isoformat(timespec='seconds')} "
                f"(Zendesk's export leaves out its most recent {START_TIME_LAG_S} s). To import them, run "
                f"`{again}` again after {rerun_at}"
                " (tickets already imported are skipped)."
            )


class Backfiller:
    """Imports tickets updated since a date; see the module's docstring for the rules."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        settings: Settings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        per_page: int | None = None,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.sleep = sleep
        self.per_page = per_page
        self.names = StaffNames(style=StaffNameStyle(settings.staff_name), team_name=settings.staff_team_name)
        # The help desk's host: links to it never reach a message's HTML (mappings.html).
        self.zendesk_host = urlsplit(settings.zendesk_url or gateway.base_url).netloc or None
        self._orgs: dict[int, str | None] = {}
        self._users: dict[int, ZUser] = {}
        self._open: dict[str, list[int]] = {}  # account → open tickets imported since the last page

    def run(self, since: datetime, *, create_users: bool = False) -> BackfillResult:
        """Import every console ticket updated since ``since``; resumes an interrupted run with the same date."""
        start = int(since.timestamp())
        result = BackfillResult()
        with self.store.read() as tx:
            saved = BACKFILL_CHECKPOINT.get(tx)
        cursor: str | None = None
        events_start = start
        pending_refs: dict[str, int] = {}  # case id → source ticket not imported yet
        if saved is not None and saved.since == start:
            cursor, pending_refs, events_start = saved.cursor, dict(saved.pending_refs), saved.events
            result.resume(saved)
        bulk = BulkComments(self.gateway, events_start, self._budgeted)
        log.info("backfill.started", since=since.isoformat(), resumed=result.resumed)
        pages = seen = 0
        while True:
            page = self._page(start, cursor)
            tickets = sorted(page.tickets, key=lambda t: t.id)
            candidates = self._candidates(tickets)
            comments = bulk.comments_for(candidates)
            self._load_users([i for t in candidates for i in (t.requester_id or 0, *t.email_cc_ids)]
                             + [c.author_id for cs in comments.values() for c in cs or () if c.public])
            for ticket in tickets:
                self._ticket(ticket, comments.get(ticket.id), create_users, result, pending_refs)
            self._resolve_refs(pending_refs)
            cursor = page.after_cursor
            done = page.end_of_stream or not cursor
            with self.store.transaction() as tx:
                self._queue_ccs(tx)
                if done or not cursor:
                    BACKFILL_CHECKPOINT.clear(tx)
                else:
                    BACKFILL_CHECKPOINT.put(tx, result.checkpoint(start, cursor, bulk.cursor, pending_refs))
            bulk.forget(page.tickets)
            pages, seen = pages + 1, seen + len(page.tickets)
            if page.server_date is not None:
                result.export_date = page.server_date
            log.info("backfill.progress", pages=pages, tickets_seen=seen, imported=result.imported,
                     already_linked=result.already_linked, event_pages=bulk.pages, comments_listed=bulk.listed,
                     done=done)
            if done:
                break
        log.info("backfilled", imported=result.imported, already_linked=result.already_linked,
                 export_until=result.export_until.isoformat() if result.export_until else None)
        return result

    # -- one page, one ticket --------------------------------------------------------------------------

    def _page(self, start: int, cursor: str | None) -> TicketPage:
        def read() -> TicketPage:
            if cursor is None:
                return self.gateway.export_tickets(start_time=start, per_page=self.per_page)
            return self.gateway.export_tickets(cursor=cursor, per_page=self.per_page)

        return self._budgeted(read)

    def _budgeted(self, read: Callable[[], T]) -> T:
        # The exports allow 10 requests a minute: wait as Zendesk says, then go on.  Other failures (Zendesk
        # unreachable, 5xx) were already retried by the gateway's policy: they end the run, which a rerun
        # resumes from the stored cursors.
        def waiting(seconds: float, exc: BaseException) -> None:
            log.info("backfill.waiting", seconds=seconds, reason=f"{type(exc).__name__}: {exc}")

        return BudgetWait(_MAX_WAITS, self.sleep, only=RateLimited, on_wait=waiting).call(read)

    def _candidates(self, tickets: Sequence[ZTicket]) -> list[ZTicket]:
        # The page's tickets that may be imported (their organizations looked up in one go): the ones whose
        # comments are needed.  ``_ticket`` decides again, one by one, in its transaction.
        self._load_orgs([t.organization_id for t in tickets if t.organization_id is not None])
        with self.store.read() as tx:
            return [t for t in tickets if t.status != "deleted" and self._account_of(t.organization_id)
                    and try_parse_case_external_id(t.external_id) is None and tx.case_of_ticket(t.id) is None]

    def _ticket(self, ticket: ZTicket, bulk: list[ZComment] | None, create_users: bool, result: BackfillResult,
                refs: dict[str, int]) -> None:
        if ticket.status == "deleted":
            return
        with self.store.read() as tx:
            linked = tx.case_of_ticket(ticket.id) is not None
        if linked or try_parse_case_external_id(ticket.external_id) is not None:
            result.already_linked += 1  # imported before, or casesync's own ticket (linked by the outbox)
            return
        account_id = self._account_of(ticket.organization_id)
        if account_id is None:
            result.not_console += 1
            return
        try:
            status = status_from_zendesk(ticket.status)
        except MappingValueError as exc:
            result.errors.append(f"ticket #{ticket.id}: {exc}")
            return
        user_id = self._requester(account_id, ticket, create_users, result)
        if user_id is None:
            return
        comments = bulk if bulk is not None else self.gateway.list_comments(ticket.id)
        public = [c for c in comments if c.public]  # internal notes never leave Zendesk
        self._load_users([c.author_id for c in public] + list(ticket.email_cc_ids))
        files = {a.id: self.gateway.download(a.content_url) for c in public for a in c.attachments if a.content_url}
        with self.store.transaction() as tx:
            if tx.case_of_ticket(ticket.id) is not None:
                result.already_linked += 1
                return
            number = tx.next_case_number()
            source = self._case_in(tx, account_id, ticket.followup_source_id)
            tx.create_case(number, account_id, user_id, ticket.subject or f"Ticket #{ticket.id}",
                           status=CaseStatus.NEW if status is CaseStatus.CLOSED else status, refers_to=source)
            tx.link_ticket(number, ticket.id)
            if ticket.followup_source_id is not None and source is None:
                refs[str(number)] = ticket.followup_source_id
            self._messages(tx, account_id, number, public, files)
            tx.set_case_cc(number, [self._users[i].email or "" for i in ticket.email_cc_ids
                                    if i in self._users and self._users[i].email])
            if status is CaseStatus.CLOSED:
                merged = None
                if MERGE_TAG in ticket.tags:
                    merged = self._case_in(tx, account_id, find_merge_target(ticket, comments))
                closer = who_closed(CloseEvidence(witness=CloseWitness.IMPORT, ticket_status=ticket.status,
                                                  tags=frozenset(ticket.tags), merged_into=merged))
                assert closer is not None  # an import never waits for the export's events
                tx.set_case_status(number, CaseStatus.CLOSED, closed_by=closer.actor, reason=closer.reason)
                if merged is not None:
                    tx.set_case_refs(number, merged_into=merged)
            tx.mark_comments_seen(ticket.id, {c.id for c in comments})
            tx.put_ticket_state(TicketState(ticket_id=ticket.id, case_id=number, updated_at=ticket.updated_at,
                                            generated_timestamp=ticket.generated_timestamp, status=ticket.status))
        result.imported += 1
        if status is not CaseStatus.CLOSED:
            self._open.setdefault(account_id, []).append(ticket.id)

    def _queue_ccs(self, tx: StoreTx) -> None:
        # The imported open tickets get the account's recipient list as CCs, through the outbox like any
        # other CC repair (hand-added CCs already on them stay).
        for account_id, ticket_ids in self._open.items():
            enqueue(tx, RepairCcsPayload(account_id=account_id, ticket_ids=tuple(ticket_ids)),
                    ordering_key=account_key(account_id), account_id=account_id)
        self._open.clear()

    def _messages(self, tx: StoreTx, account_id: str, case_id: int, comments: list[ZComment],
                  files: dict[int, bytes]) -> None:
        for comment in sorted(comments, key=lambda c: (c.created_at, c.id)):
            author = self._users.get(comment.author_id)
            staff = author is not None and author.role in STAFF_ROLES
            body = comment.body
            cases: dict[int, int] = {}
            if staff:
                quoted = {t: self._case_in(tx, account_id, t)
                          for t in find_ticket_references(f"{body}\n{comment.html_body or ''}")}
                cases = {t: c for t, c in quoted.items() if c is not None}
                body = translate_references(body, cases)
            name = staff_display_name(author, self.names) if staff else (
                user_display_name(author) if author else "user")
            html = message_html(comment, ticket_cases=cases, zendesk_host=self.zendesk_host)
            message = tx.add_message(case_id, "staff" if staff else "user", name, body, origin="zendesk",
                                     zendesk_comment_id=comment.id, created_at=comment.created_at, html=html)
            for attachment in comment.attachments:
                if attachment.id in files:
                    # The message's HTML names its inline images by this id already.
                    named = imported_attachment_id(attachment.id) if attachment.inline else None
                    tx.add_attachment(message.id, attachment.file_name, attachment.content_type,
                                      files[attachment.id], zendesk_attachment_id=attachment.id,
                                      inline=attachment.inline, attachment_id=named)

    def _resolve_refs(self, refs: dict[str, int]) -> None:
        # A follow-up can come before its source in the export (the source changes when it gets a follow-up).
        if not refs:
            return
        with self.store.transaction() as tx:
            for case_key_, source_ticket in list(refs.items()):
                case = tx.get_case(int(case_key_))
                source = self._case_in(tx, case.account_id, source_ticket) if case is not None else None
                if case is not None and source is not None:
                    tx.set_case_refs(case.id, refers_to=source)
                    del refs[case_key_]

    # -- lookups -----------------------------------------------------------------------------------------

    def _account_of(self, organization_id: int | None) -> str | None:
        if organization_id is None:
            return None
        self._load_orgs([organization_id])
        return self._orgs[organization_id]

    def _load_orgs(self, ids: list[int]) -> None:
        missing = [i for i in dict.fromkeys(ids) if i not in self._orgs]
        if not missing:
            return
        for org in self.gateway.get_organizations(missing):
            self._orgs[org.id] = None
            try:
                account_id = parse_account_external_id(org.external_id or "")
            except MappingValueError:
                continue
            with self.store.transaction() as tx:
                account = tx.get_account(account_id)
                if account is not None and account.zendesk_org_id is None:
                    tx.set_account_org(account_id, org.id)
            self._orgs[org.id] = account_id if account is not None else None
        for organization_id in missing:
            self._orgs.setdefault(organization_id, None)

    def _requester(self, account_id: str, ticket: ZTicket, create: bool, result: BackfillResult) -> str | None:
        if ticket.requester_id is None:
            return None
        with self.store.read() as tx:
            for user in tx.users_by_zendesk_id(ticket.requester_id):
                if user.account_id == account_id:
                    return user.user_id
        self._load_users([ticket.requester_id])
        zuser = self._users.get(ticket.requester_id)
        email = (zuser.email or "") if zuser else ""
        with self.store.transaction() as tx:
            for user in tx.users_by_email(email) if email else []:
                if user.account_id == account_id:
                    tx.link_user(account_id, user.user_id, ticket.requester_id)
                    return user.user_id
            if not create or zuser is None or not email or zuser.role in STAFF_ROLES:
                who = email or f"#{ticket.requester_id}"
                result.unknown_requesters[who] = result.unknown_requesters.get(who, 0) + 1
                return None
            user_id = f"zendesk-{zuser.id}"
            tx.upsert_user(account_id, user_id, email, zuser.name or email, False)
            tx.link_user(account_id, user_id, zuser.id)
        result.created_users.append(email)
        return user_id

    def _load_users(self, ids: list[int]) -> None:
        missing = [i for i in dict.fromkeys(ids) if i not in self._users and i > 0]
        if missing:
            for user in self.gateway.get_users(missing):
                self._users[user.id] = user

    @staticmethod
    def _case_in(tx: StoreTx, account_id: str, ticket_id: int | None) -> int | None:
        if ticket_id is None:
            return None
        case_id = tx.case_of_ticket(ticket_id)
        record = tx.get_case(case_id) if case_id is not None else None
        return record.id if record is not None and record.account_id == account_id else None
