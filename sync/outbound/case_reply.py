"""Delivering a user's message (``reply``): posted once; a ticket closed or deleted meanwhile continues it
as a new case."""

from __future__ import annotations

from datetime import datetime

from mappings.closer import CloseEvidence, CloseWitness, who_closed
from mappings.models import CaseStatus, ChangeKind
from mappings.outbound import (
    ReplyOutbound,
    build_reply,
    continuation_subject,
    find_message_comment,
)
from mappings.zendesk import TicketUpdateDraft, ZTicket
from sync.errors import (
    MappingError,
    NetworkError,
    RecordNotFound,
    TicketClosedRemotely,
)
from sync.logging import get_logger
from sync.outbound.case_handler import CaseHandler
from sync.outbound.dependencies import wait_for_users
from sync.outbound.outcomes import Finish, Recorded
from sync.store import CaseRecord, MessageRecord, OutboxEntry, case_key
from sync.store.outbox_payloads import ReplyPayload, SubmitPayload, enqueue

__all__ = ["ReplyDelivery"]

log = get_logger(__name__)


class ReplyDelivery(CaseHandler):
    """The ``reply`` handler."""

    def reply(self, entry: OutboxEntry) -> Finish | None:
        """Post the user's message once; a ticket closed or deleted meanwhile makes it a new, linked case."""
        payload = ReplyPayload.of(entry)
        case_id, message_id = payload.case_id, payload.message_id
        with self.store.read() as tx:
            case, message = tx.case_and_message(case_id, message_id)
            # The message's own author (any user of the account); messages stored before authorship was
            # kept are the requester's.  One read for everything a steady-state reply needs.
            author = (message.user_id if message else None) or (case.requester_id if case else "")
            if case is not None:
                # First: its one read of the user leaves the user and the staff test in the snapshot.
                wait_for_users(tx, entry, case.account_id, [author], self.settled)
            linked = self.directory.linked_end_user(tx, case.account_id, author) if case else None
        if case is None or message is None:
            raise MappingError(f"case {case_id} or message {message_id} is not in the store")
        if message.zendesk_comment_id is not None or message.case_id != case_id:
            return None  # delivered already, or moved to a continuation case that delivers it
        ticket_id = case.ticket_id
        if ticket_id is None:
            raise MappingError(f"case {case_id} has no ticket: its submit has not been delivered")
        user, author_id = linked or self.directory.end_user(case.account_id, author)
        try:
            return self._post_reply(entry, payload, case, message, ticket_id, user.email, author_id)
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
        payload: ReplyPayload,
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
        before = payload.status_before or CaseStatus(_status_before(case.status))
        by_requester = message.user_id in (None, case.requester_id)
        plan = build_reply(
            ReplyOutbound(
                message_id=message.id,
                body=message.body,
                requester_zendesk_id=author_id,
                status_before=before,
                acknowledges_solution=payload.acknowledges_solution,
                uploads=self.upload(message),
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

        return Recorded(comments={message.id: comment_id} if comment_id is not None else {}, ticket=updated)

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
            continuation = tx.continuation_of(case_id)
            if case.status is not CaseStatus.CLOSED:
                # The 422 does not say who closed it: the status casesync last saw on the ticket is evidence.
                state = tx.ticket_state(case.ticket_id) if case.ticket_id is not None else None
                closer = who_closed(
                    CloseEvidence(
                        witness=CloseWitness.REPLY_REFUSED,
                        case_status=case.status,
                        ticket_status="deleted" if deleted else "closed",
                        last_seen_ticket_status=state.status if state is not None else None,
                    )
                )
                assert closer is not None  # a refused reply never waits for the export's events
                tx.set_case_status(case_id, CaseStatus.CLOSED, closed_by=closer.actor, reason=closer.reason)
                tx.append_change(
                    case.account_id, case_id, closer.feed_kind, f"{CaseStatus.CLOSED.value}: {closer.reason}"
                )
            if continuation is not None:
                # A continuation exists already: the message joins it as a reply.
                tx.move_message(message.id, continuation)
                enqueue(
                    tx,
                    ReplyPayload(case_id=continuation, message_id=message.id, status_before=CaseStatus.NEW),
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
            tx.set_continuation(case_id, number)
            tx.append_change(
                case.account_id,
                number,
                ChangeKind.LINKED_CASE,
                f"case #{number} continues case #{case_id}: Zendesk closed it before a reply arrived",
            )
            enqueue(
                tx,
                SubmitPayload(case_id=number),
                ordering_key=case_key(number),
                account_id=case.account_id,
                case_id=number,
            )
        log.info("reply_continued_as_case", case_id=case_id, new_case_id=number, message_id=message.id)


def _listed(email: str, cc: list[str]) -> bool:
    return email.strip().lower() in {address.lower() for address in cc}


def _status_before(current: CaseStatus) -> str:
    # The reply already moved Pending/Solved to Open; New stays New, which is all the ticket needs to know.
    return CaseStatus.NEW.value if current is CaseStatus.NEW else CaseStatus.OPEN.value
