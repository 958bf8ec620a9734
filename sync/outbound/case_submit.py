"""Delivering a case's ticket (``submit``): once, recognisably, and a follow-up only after its source closed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace

from mappings.external_ids import case_external_id
from mappings.fields import ticket_custom_fields
from mappings.outbound import (
    NewTicket,
    build_ticket_draft,
)
from sync.errors import (
    MalformedPayload,
    MappingError,
    NetworkError,
    RecordNotFound,
    ZendeskRejected,
)
from sync.logging import get_logger
from sync.outbound.case_handler import CaseHandler
from sync.outbound.dependencies import wait_for_users
from sync.outbound.outcomes import Deferred, Finish, Recorded
from sync.store import MessageRecord, OutboxEntry, OutboxKind, StoreTx, account_key
from sync.store.kv_keys import INSTALLATION_ID
from sync.store.outbox_payloads import RepairCcsPayload, SubmitPayload, enqueue
from sync.ticket_facts import remember_ticket

__all__ = ["TicketSubmission"]

log = get_logger(__name__)

#: How long a follow-up waits between checks of its source ticket's closure.
_FOLLOWUP_WAIT_S = 15.0


class TicketSubmission(CaseHandler):
    """The ``submit`` handler: create the case's ticket, or adopt the one an earlier attempt created."""

    #: The store's installation id once read (see :meth:`_idempotency_key`).
    _installation: str | None = None

    def submit(self, entry: OutboxEntry) -> Finish | None:
        """Create the case's ticket once: look it up by ``external_id`` after any earlier failed attempt."""
        case_id = SubmitPayload.of(entry).case_id
        with self.store.read() as tx:
            case = tx.get_case(case_id)
            if case is None:
                raise MappingError(f"case {case_id} is not in the store")
            if case.ticket_id is not None:
                return None  # already created (a lost completion)
            messages = tx.case_messages(case_id, include_withdrawn=True)
            recipients = tx.recipients(case.account_id)
            source_ticket = tx.ticket_of(case.refers_to) if case.refers_to is not None else None
            # Everything else a steady-state submit needs, in the same read: the organization, the linked
            # requester and the installation id.
            account = tx.get_account(case.account_id)
            # An address known as an agent's fails the case itself (the console is told), so the wait skips
            # it; its one read of the user leaves the user and the staff test in the snapshot.
            wait_for_users(tx, entry, case.account_id, [case.requester_id], self.settled)
            linked = self.directory.linked_end_user(tx, case.account_id, case.requester_id)
            installation = self._installation or INSTALLATION_ID.get(tx)
        if not messages:
            raise MappingError(f"case {case_id} has no first message")
        first = messages[0]

        if case.refers_to is not None:
            if source_ticket is None:
                raise Deferred(f"case {case.refers_to} has no ticket yet", _FOLLOWUP_WAIT_S)
            if not self._source_closed(case.refers_to, source_ticket):
                # Staff deleted the ticket of the case this one continues: Zendesk has nothing to make a
                # follow-up of, so the case gets a ticket of its own (the console keeps its ``refers_to``).
                source_ticket = None

        # What earlier attempts may have put on a ticket whose creation answer was lost.
        sent = list(SubmitPayload.of(entry).sent_ccs)
        if entry.attempts > 0 and self._adopt_existing(case_id, first, sent):
            return None

        known_org = account.zendesk_org_id if account is not None else None
        org_id = known_org if known_org is not None else self.directory.organization(case.account_id)
        user, requester_id = linked or self.directory.end_user(case.account_id, case.requester_id)
        # A reply that continues a closed case is the first message of its new ticket: still its writer's.
        writer = None
        if first.user_id is not None and first.user_id != case.requester_id:
            writer = self.directory.writer(case.account_id, first.user_id)
        draft = build_ticket_draft(
            NewTicket(
                case_id=case_id,
                subject=case.subject,
                body=first.body,
                requester_zendesk_id=requester_id,
                requester_email=user.email,
                organization_id=org_id,
                recipients=recipients,
                first_message_id=first.id,
                uploads=self.upload(first),
                console_case_field_id=self.settings.console_case_field_id,
                followup_source_ticket_id=source_ticket,
                priority=case.priority,
                mapped_fields=ticket_custom_fields(case.fields, self.settings.field_map),
                first_author_zendesk_id=writer[1] if writer else None,
                first_author_email=writer[0].email if writer else None,
            )
        )
        key = self._idempotency_key(case_id, installation)
        sent = self._remember_sent(entry, sent, recipients)
        try:
            ticket, comment = self.gateway.create_ticket(draft, idempotency_key=key)
        except NetworkError as exc:
            # The ticket may exist: never create again before looking.
            if exc.ambiguous and self._adopt_existing(case_id, first, sent):
                return None
            raise
        except ZendeskRejected as exc:
            # A ticket's organization must be one of its requester's; staff may have removed the linked
            # user from the account's organization since: make it a member again, then create once more.
            if linked is None or exc.status != 422 or "organization_id" not in exc.body:
                raise
            self.directory.end_user(case.account_id, case.requester_id, refresh=True)
            ticket, comment = self.gateway.create_ticket(draft, idempotency_key=key)
        log.info("ticket_created", case_id=case_id, ticket_id=ticket.id)
        if source_ticket is not None:
            self._verify_followup(case_id, source_ticket, ticket.id)

        def link(tx: StoreTx) -> None:
            tx.link_created_ticket(case_id, ticket.id, [email.email for email in draft.email_ccs])
            if tx.recipients(case.account_id) != recipients:
                # The list changed while the ticket was being created: the bulk CC update of that change
                # may have run before this ticket was linked, so bring the account's tickets in line.
                enqueue(
                    tx,
                    RepairCcsPayload(
                        account_id=case.account_id, ticket_ids=(ticket.id,), previously_managed=tuple(recipients)
                    ),
                    ordering_key=account_key(case.account_id),
                    account_id=case.account_id,
                )

        return Recorded(comments={first.id: comment.id} if comment is not None else {}, ticket=ticket, then=link)

    def _idempotency_key(self, case_id: int, installation: str | None) -> str:
        # Keys are account-wide at Zendesk: a store of its own (another installation, a test run against a
        # reused sandbox) must never collide with this one's case numbers.
        if installation is None:
            with self.store.transaction() as tx:
                installation = INSTALLATION_ID.get(tx)
                if installation is None:
                    installation = uuid.uuid4().hex
                    INSTALLATION_ID.put(tx, installation)
        # Written once and never changed: read once per process.
        self._installation = installation
        return f"casesync-{installation}-{case_external_id(case_id)}"

    def _source_closed(self, source_case: int, source_ticket: int) -> bool:
        """True once the source ticket is closed; False when staff deleted it; Deferred while it is open."""
        try:
            status = self.gateway.get_ticket(source_ticket).status
        except RecordNotFound:
            log.info("followup_source_deleted", source_case=source_case, source_ticket=source_ticket)
            return False
        if status == "deleted":
            return False
        if status != "closed":
            # Zendesk makes a follow-up only of a closed ticket; the source's close is queued before us.
            raise Deferred(
                f"ticket #{source_ticket} of case {source_case} is {status}, not closed yet", _FOLLOWUP_WAIT_S
            )
        return True

    def record_sent_ccs(self, entries: Sequence[OutboxEntry]) -> list[OutboxEntry]:
        """Do :meth:`_remember_sent` for every submit of a claimed batch at once, before any of them is sent.

        One write for the batch instead of one per submit; ``entries`` come back in order, the amended ones
        with their new payload.  A submit whose list changes before its request leaves records the change
        itself, as before; one that is put off keeps the addresses it would have sent, which only widens
        what a later adoption treats as casesync's own, as a failed attempt's addresses already do.
        """
        payloads: dict[int, SubmitPayload] = {}
        for e in entries:
            if e.kind == OutboxKind.SUBMIT and e.account_id is not None:
                try:
                    payloads[e.id] = SubmitPayload.of(e)
                except MalformedPayload:
                    continue  # dead-lettered with its reason when it is delivered
        submits = [e for e in entries if e.id in payloads]
        if not submits:
            return list(entries)
        amended: dict[int, OutboxEntry] = {}
        with self.store.transaction() as tx:
            lists: dict[str, list[str]] = {}
            for entry in submits:
                assert entry.account_id is not None
                if entry.account_id not in lists:
                    lists[entry.account_id] = tx.recipients(entry.account_id)
                payload = payloads[entry.id]
                sent = list(payload.sent_ccs)
                union = _union(sent, lists[entry.account_id])
                if union == sent:
                    continue
                changed = {**entry.payload, **SubmitPayload(case_id=payload.case_id, sent_ccs=tuple(union)).dump()}
                if tx.amend_payload(entry, changed):
                    amended[entry.id] = replace(entry, payload=changed)
        return [amended.get(e.id, e) for e in entries]

    def _remember_sent(self, entry: OutboxEntry, sent: list[str], recipients: list[str]) -> list[str]:
        """Record on the entry, before the create request leaves, the addresses it puts on the ticket.

        Should its answer be lost (a dropped response, a worker killed before the link is stored), the
        attempt that adopts the ticket knows them as casesync's own: an address the console dropped
        meanwhile is then removed rather than kept as if staff had added it (docs/design.md §4 invariant 6).
        """
        union = _union(sent, recipients)
        if union != sent:
            with self.store.transaction() as tx:
                amended = SubmitPayload(case_id=SubmitPayload.of(entry).case_id, sent_ccs=tuple(union))
                tx.amend_payload(entry, {**entry.payload, **amended.dump()})
        return union

    def _adopt_existing(self, case_id: int, first: MessageRecord, sent: list[str]) -> bool:
        """Link a ticket an earlier attempt created (its response was lost); False if there is none.

        ``sent``: the recipient addresses the earlier attempts put in their create requests.
        """
        with self.store.read() as tx:
            linked_requester = tx.get_case(case_id)
            user = tx.get_user(linked_requester.account_id, linked_requester.requester_id) if linked_requester else None
        requester = user.zendesk_user_id if user is not None else None
        found = [
            t
            for t in self.gateway.find_tickets_by_external_id(case_external_id(case_id))
            # Only this case's own ticket: same requester (another store may use the same case number).
            if t.status != "deleted" and (requester is None or t.requester_id == requester)
        ]
        if not found:
            return False
        ticket = min(found, key=lambda t: t.id)  # the first one created, should there ever be two
        comments = self.gateway.list_comments(ticket.id)
        with self.store.transaction() as tx:
            tx.link_ticket(case_id, ticket.id)
            if comments and first.zendesk_comment_id is None:
                tx.set_message_comment(first.id, comments[0].id)
            remember_ticket(tx, ticket)
            if linked_requester is not None:
                # The lost attempt created it from the recipient list of its time, which may have changed
                # since (the bulk CC update of that change could not see an unlinked ticket): repair it,
                # with that list's addresses known as casesync's own.
                enqueue(
                    tx,
                    RepairCcsPayload(
                        account_id=linked_requester.account_id, ticket_ids=(ticket.id,), previously_managed=tuple(sent)
                    ),
                    ordering_key=account_key(linked_requester.account_id),
                    account_id=linked_requester.account_id,
                )
        log.info("ticket_adopted", case_id=case_id, ticket_id=ticket.id)
        return True

    def _verify_followup(self, case_id: int, source_ticket: int, ticket_id: int) -> None:
        source = self.gateway.get_ticket(source_ticket)
        if ticket_id not in source.followup_ids:
            with self.store.transaction() as tx:
                tx.record_conflict(
                    "reference",
                    f"ticket #{ticket_id} is not listed among the follow-ups of ticket #{source_ticket}",
                    account_id=None,
                    case_id=case_id,
                    ticket_id=ticket_id,
                )


def _union(sent: list[str], recipients: list[str]) -> list[str]:
    """``sent`` followed by the addresses of ``recipients`` it lacks (compared case-insensitively)."""
    known = {a.lower() for a in sent}
    return sent + [a for a in recipients if a.lower() not in known]
