"""Delivering a case's own changes: its ticket (submit), the user's messages (reply) and its close.

Exactly-once is built from three facts: a case's entries run one at a time in order (the outbox), every
write is recognisable afterwards in Zendesk (the ticket's ``external_id``, the marker in the update's
``metadata``), and after a failure that may have landed casesync looks before it writes again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from mappings.external_ids import case_external_id
from mappings.fields import ticket_custom_fields
from mappings.inbound import assumed_close_actor
from mappings.lifecycle import SystemCloseReason
from mappings.models import CaseStatus, ChangeKind
from mappings.outbound import (
    NewTicket,
    ReplyOutbound,
    build_reply,
    build_ticket_draft,
    continuation_subject,
    decide_close,
    find_message_comment,
)
from mappings.zendesk import TicketUpdateDraft, ZTicket
from sync.errors import (
    MappingError,
    NetworkError,
    RecordNotFound,
    TicketClosedRemotely,
    UpdateConflict,
    ZendeskRejected,
)
from sync.gateway import ZendeskGateway
from sync.logging import get_logger
from sync.outbound.accounts import REPAIR_CCS
from sync.outbound.dependencies import Settled, wait_for_users
from sync.outbound.directory import Directory
from sync.outbound.outcomes import Deferred, Finish, Undeliverable
from sync.settings import Settings
from sync.store import CaseRecord, MessageRecord, OutboxEntry, OutboxKind, Store, StoreTx, account_key, case_key
from sync.ticket_facts import known_ticket, remember_ticket

__all__ = ["CaseDelivery"]

log = get_logger(__name__)

#: How long a follow-up waits between checks of its source ticket's closure.
_FOLLOWUP_WAIT_S = 15.0
#: The reason recorded on a case whose ticket Zendesk closed before a queued reply reached it.
_CLOSED_BEFORE_REPLY = "closed in Zendesk before a reply arrived"
#: The store's random id, part of every Idempotency-Key.
_INSTALLATION_KEY = "installation_id"


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
        self.settled: Settled = settled or (lambda _entry_id: False)
        self.store = store
        self.gateway = gateway
        self.directory = directory
        self.settings = settings

    # -- submit -----------------------------------------------------------------------------------

    def submit(self, entry: OutboxEntry) -> Finish | None:
        """Create the case's ticket once: look it up by ``external_id`` after any earlier failed attempt."""
        case_id = int(entry.payload["case_id"])
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
            # An address known as an agent's fails the case itself (the console is told); only then wait.
            linked = self.directory.linked_end_user(tx, case.account_id, case.requester_id)
            wait_for_users(tx, entry, case.account_id, [case.requester_id], self.settled)
            installation = tx.kv_get(_INSTALLATION_KEY)
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

        if entry.attempts > 0 and self._adopt_existing(case_id, first):
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
                uploads=self._upload(first),
                console_case_field_id=self.settings.console_case_field_id,
                followup_source_ticket_id=source_ticket,
                priority=case.priority,
                mapped_fields=ticket_custom_fields(case.fields, self.settings.field_map),
                first_author_zendesk_id=writer[1] if writer else None,
                first_author_email=writer[0].email if writer else None,
            )
        )
        key = self._idempotency_key(case_id, installation)
        try:
            ticket, comment = self.gateway.create_ticket(draft, idempotency_key=key)
        except NetworkError as exc:
            # The ticket may exist: never create again before looking.
            if exc.ambiguous and self._adopt_existing(case_id, first):
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

        def finish(tx: StoreTx) -> None:
            tx.link_ticket(case_id, ticket.id)
            if comment is not None:
                tx.set_message_comment(first.id, comment.id)
            tx.set_case_cc(case_id, [email.email for email in draft.email_ccs])
            remember_ticket(tx, ticket)
            if tx.recipients(case.account_id) != recipients:
                # The list changed while the ticket was being created: the bulk CC update of that change
                # may have run before this ticket was linked, so bring the account's tickets in line.
                tx.enqueue(
                    REPAIR_CCS,
                    {"account_id": case.account_id, "ticket_ids": [ticket.id], "previously_managed": recipients},
                    ordering_key=account_key(case.account_id),
                    account_id=case.account_id,
                )

        return finish

    def _idempotency_key(self, case_id: int, installation: object) -> str:
        # Keys are account-wide at Zendesk: a store of its own (another installation, a test run against a
        # reused sandbox) must never collide with this one's case numbers.
        if not isinstance(installation, str):
            with self.store.transaction() as tx:
                installation = tx.kv_get(_INSTALLATION_KEY)
                if not isinstance(installation, str):
                    installation = uuid.uuid4().hex
                    tx.kv_set(_INSTALLATION_KEY, installation)
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

    def _adopt_existing(self, case_id: int, first: MessageRecord) -> bool:
        """Link a ticket an earlier attempt created (its response was lost); False if there is none."""
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
                # since (the bulk CC update of that change could not see an unlinked ticket): repair it.
                tx.enqueue(
                    REPAIR_CCS,
                    {"account_id": linked_requester.account_id, "ticket_ids": [ticket.id]},
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

    def _upload(self, message: MessageRecord) -> list[str]:
        tokens: list[str] = []
        for ref in message.attachments:
            with self.store.read() as tx:
                found = tx.attachment_content(ref.id)
            if found is None:
                continue
            record, data = found
            tokens.append(self.gateway.upload(record.filename, record.content_type, data))
        return tokens

    # -- reply ------------------------------------------------------------------------------------

    def reply(self, entry: OutboxEntry) -> Finish | None:
        """Post the user's message once; a ticket closed or deleted meanwhile makes it a new, linked case."""
        case_id = int(entry.payload["case_id"])
        message_id = int(entry.payload["message_id"])
        with self.store.read() as tx:
            case = tx.get_case(case_id)
            message = tx.message(message_id)
            # The message's own author (any user of the account); messages stored before authorship was
            # kept are the requester's.  One read for everything a steady-state reply needs.
            author = (message.user_id if message else None) or (case.requester_id if case else "")
            linked = self.directory.linked_end_user(tx, case.account_id, author) if case else None
            if case is not None:
                wait_for_users(tx, entry, case.account_id, [author], self.settled)
        if case is None or message is None:
            raise MappingError(f"case {case_id} or message {message_id} is not in the store")
        if message.zendesk_comment_id is not None or message.case_id != case_id:
            return None  # delivered already, or moved to a continuation case that delivers it
        ticket_id = case.ticket_id
        if ticket_id is None:
            raise MappingError(f"case {case_id} has no ticket: its submit has not been delivered")
        user, author_id = linked or self.directory.end_user(case.account_id, author)
        try:
            return self._post_reply(entry, case, message, ticket_id, user.email, author_id)
        except RecordNotFound:
            if not self._ticket_gone(ticket_id):
                raise
            # Staff deleted the ticket before the reply reached it: like a ticket Zendesk closed, the reply is
            # neither lost nor forced in, it continues as a new case.
            self._continue_as_new_case(case_id, message, deleted=True)
            return None

    def _post_reply(
        self,
        entry: OutboxEntry,
        case: CaseRecord,
        message: MessageRecord,
        ticket_id: int,
        email: str,
        author_id: int,
    ) -> Finish | None:
        """Post ``message`` as its author (``email``, Zendesk user ``author_id``), in either authorship mode."""
        impersonate = self.gateway.uses_oauth and self.gateway.can_impersonate
        if entry.attempts > 0 and self._already_posted(entry, ticket_id, message, author_id):
            return None
        before = CaseStatus(entry.payload.get("status_before") or _status_before(case.status))
        by_requester = message.user_id in (None, case.requester_id)
        plan = build_reply(
            ReplyOutbound(
                message_id=message.id,
                body=message.body,
                requester_zendesk_id=author_id,
                status_before=before,
                acknowledges_solution=bool(entry.payload.get("acknowledges_solution")),
                uploads=self._upload(message),
                impersonate=impersonate,
                author_zendesk_id=author_id,
                cc_author_email=None if by_requester or _listed(email, case.cc) else email,
            )
        )
        updated: ZTicket | None = None
        try:
            if plan.ccs_before:
                # Zendesk lets an end user update only a request they are the requester or a CC of.
                self.gateway.update_ticket(ticket_id, TicketUpdateDraft(email_ccs=plan.ccs_before))
            if impersonate:
                assert plan.update.comment is not None
                comment = self.gateway.reply_on_behalf(ticket_id, email, plan.update.comment)
                comment_id = comment.id if comment is not None else None
                if plan.tags_after:
                    self.gateway.add_tags(ticket_id, plan.tags_after)
            else:
                updated, comments = self.gateway.update_ticket(ticket_id, plan.update)
                comment_id = comments[0].id if comments else None
        except TicketClosedRemotely:
            self._continue_as_new_case(case.id, message)
            return None
        except NetworkError as exc:
            if exc.ambiguous and self._already_posted(entry, ticket_id, message, author_id):
                return None
            raise
        if comment_id is None:
            comment_id = self._find_posted(ticket_id, message, author_id, entry.created_at)

        def finish(tx: StoreTx) -> None:
            if updated is not None:
                remember_ticket(tx, updated)
            if comment_id is not None:
                tx.set_message_comment(message.id, comment_id)

        return finish

    def _ticket_gone(self, ticket_id: int) -> bool:
        """True when the ticket no longer exists (a 404 from the Requests API may only mean the user can't see it)."""
        try:
            return self.gateway.get_ticket(ticket_id).status == "deleted"
        except RecordNotFound:
            return True

    def _already_posted(self, entry: OutboxEntry, ticket_id: int, message: MessageRecord, author_id: int) -> bool:
        found = self._find_posted(ticket_id, message, author_id, entry.created_at)
        if found is None:
            return False
        with self.store.transaction() as tx:
            tx.set_message_comment(message.id, found)
        log.info("reply_found_after_failure", case_id=message.case_id, message_id=message.id, comment_id=found)
        return True

    def _find_posted(self, ticket_id: int, message: MessageRecord, author_id: int, sent_after: datetime) -> int | None:
        found = find_message_comment(
            self.gateway.list_comments(ticket_id),
            message.id,
            author_id=author_id,
            body=message.body,
            sent_after=sent_after,
        )
        return found.id if found is not None else None

    def _continue_as_new_case(self, case_id: int, message: MessageRecord, *, deleted: bool = False) -> None:
        """Zendesk closed (or staff deleted) the ticket before the reply arrived: the reply opens a case
        continuing it."""
        with self.store.transaction() as tx:
            case = tx.get_case(case_id, for_update=True)
            assert case is not None
            continuation = tx.kv_get(f"continuation:{case_id}")
            if case.status is not CaseStatus.CLOSED:
                # The 422 does not say who closed it: judge by the status casesync last saw on the ticket.
                state = tx.ticket_state(case.ticket_id) if case.ticket_id is not None else None
                seen = CaseStatus.SOLVED if state is not None and state.status == "solved" else case.status
                actor = "system" if deleted else assumed_close_actor(seen)
                reason = SystemCloseReason.DELETED.value if deleted else _CLOSED_BEFORE_REPLY
                feed = ChangeKind.CLOSED_BY_SYSTEM if actor == "system" else ChangeKind.STATUS
                tx.set_case_status(case_id, CaseStatus.CLOSED, closed_by=actor, reason=reason)
                tx.append_change(case.account_id, case_id, feed, f"{CaseStatus.CLOSED.value}: {reason}")
            if isinstance(continuation, int):
                # A continuation exists already: the message joins it as a reply.
                tx.move_message(message.id, continuation)
                tx.enqueue(
                    OutboxKind.REPLY,
                    {"case_id": continuation, "message_id": message.id, "status_before": CaseStatus.NEW.value},
                    ordering_key=case_key(continuation),
                    account_id=case.account_id,
                    case_id=continuation,
                )
                return
            number = tx.next_case_number()
            tx.create_case(
                number, case.account_id, case.requester_id, continuation_subject(case.subject), refers_to=case_id
            )
            tx.move_message(message.id, number)
            tx.kv_set(f"continuation:{case_id}", number)
            tx.append_change(
                case.account_id,
                number,
                ChangeKind.LINKED_CASE,
                f"case #{number} continues case #{case_id}: Zendesk closed it before a reply arrived",
            )
            tx.enqueue(
                OutboxKind.SUBMIT,
                {"case_id": number},
                ordering_key=case_key(number),
                account_id=case.account_id,
                case_id=number,
            )
        log.info("reply_continued_as_case", case_id=case_id, new_case_id=number, message_id=message.id)

    # -- close ------------------------------------------------------------------------------------

    def close(self, entry: OutboxEntry) -> None:
        """Close the ticket in one request when casesync knows its assignee; Zendesk needs one to close."""
        case_id = int(entry.payload["case_id"])
        email = self.settings.default_assignee_email
        with self.store.read() as tx:
            case = tx.get_case(case_id)
            ticket_id = case.ticket_id if case is not None else None
            facts = known_ticket(tx, ticket_id) if ticket_id is not None else None
            unassigned = facts is not None and facts.assignee_id is None
            known_agent = Directory.known_agent_id(tx, email) if unassigned and email else None
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


def _listed(email: str, cc: list[str]) -> bool:
    return email.strip().lower() in {address.lower() for address in cc}


def _status_before(current: CaseStatus) -> str:
    # The reply already moved Pending/Solved to Open; New stays New, which is all the ticket needs to know.
    return CaseStatus.NEW.value if current is CaseStatus.NEW else CaseStatus.OPEN.value
