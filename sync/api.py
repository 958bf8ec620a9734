"""The console backend's API: ``SupportCases`` (docs/design.md §6).

Every call validates its input first, then writes the console-side change and the outbox entry that will
carry it to Zendesk in one store transaction, and returns once that transaction has committed: a call
that returned is durable even when Zendesk is down, and a call that raised changed nothing.

Outbox entries carry ids only (the worker reloads the data by id); each kind's payload is a frozen model of
:mod:`sync.store.outbox_payloads`, built here and read by the worker's handler, where the ordering keys and
fields of every kind are listed.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence

from mappings.closer import CloseEvidence, CloseWitness, who_closed
from mappings.lifecycle import apply_user_close, apply_user_reply
from mappings.models import Account, Attachment, Case, CaseChange, CaseStatus, FieldValue, User
from mappings.references import ReferredCase, check_refers_to, refusal_message
from sync import accounts, idempotency
from sync.browse import CasePage, browse_page
from sync.erasure import ErasureReport, erase_user
from sync.errors import CaseNotFound, InvalidInput, UnknownUser
from sync.feed_wait import MAX_WAIT_S, wait_for_changes
from sync.settings import Settings, load_settings
from sync.store import CaseRecord, Clock, Store, StoreTx, case_key, open_store
from sync.store.outbox_payloads import ClosePayload, ReplyPayload, SubmitPayload, enqueue_keyed
from sync.validation import (
    BODY_MAX,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    SUBJECT_MAX,
    check_attachments,
    check_case_details,
    check_id,
    check_idempotency_key,
    check_int,
    check_text,
    check_transition,
)

__all__ = ["MAX_ATTACHMENTS", "MAX_ATTACHMENT_BYTES", "SupportCases"]

_OCTETS = "application/octet-stream"


class SupportCases:
    """Submit, reply to, close and read support cases, and manage accounts' recipient lists.

    ``settings``: None reads :class:`Settings` from the environment (only ``database_url`` is used).
    ``store``: an already opened store (tests, or a host sharing one); otherwise one is opened from
    ``settings.database_url``.  ``clock`` is the time source of the store this object opens.
    """

    def __init__(
        self, settings: Settings | None = None, *, store: Store | None = None, clock: Clock | None = None
    ) -> None:
        if store is None:
            settings = settings or load_settings()
            store = open_store(settings.database_url, clock=clock)
        self.settings = settings
        self.store = store

    # -- accounts, users, recipients ---------------------------------------------------------------

    def upsert_account(self, account_id: str, name: str) -> Account:
        """Create or rename an account (its Zendesk organization follows)."""
        return accounts.upsert_account(self.store, account_id, name)

    def upsert_user(self, account_id: str, user_id: str, email: str, name: str, *, admin: bool = False) -> User:
        """Create or update a user of an account; admins' addresses are on the account's recipient list."""
        return accounts.upsert_user(self.store, account_id, user_id, email, name, admin=admin)

    def add_recipient(self, account_id: str, email: str) -> list[str]:
        """Register an additional address; returns the account's full recipient list afterwards."""
        return accounts.add_recipient(self.store, account_id, email)

    def remove_recipient(self, account_id: str, email: str) -> list[str]:
        """Unregister an address (not an admin's: demote the admin instead); returns the list afterwards."""
        return accounts.remove_recipient(self.store, account_id, email)

    def recipients(self, account_id: str) -> list[str]:
        """The account's recipient list: admin users' addresses first, then the registered ones."""
        return accounts.recipients(self.store, account_id)

    # -- cases -------------------------------------------------------------------------------------

    def submit(
        self,
        account_id: str,
        user_id: str,
        subject: str,
        body: str,
        *,
        refers_to: int | None = None,
        attachments: Sequence[Attachment] = (),
        priority: str | None = None,
        fields: Mapping[str, FieldValue] | None = None,
        idempotency_key: str | None = None,
    ) -> Case:
        """Open a new case (status New) whose first message is ``body``; ``refers_to`` continues a Closed case.

        ``priority`` (``low``, ``normal``, ``high``, ``urgent``) sets the ticket's priority; ``fields`` sets the
        operator's mapped custom fields (``CASESYNC_FIELD_MAP``); anything else is ``InvalidInput``.
        ``idempotency_key``: a retry with the same key and arguments returns the first call's case and writes
        nothing (see :mod:`sync.idempotency`); the same key with other arguments raises ``InvalidInput``.
        """
        check_id(account_id, "account_id")
        check_id(user_id, "user_id")
        subject = check_text(subject, "subject", SUBJECT_MAX)
        check_text(body, "body", BODY_MAX)
        if refers_to is not None:
            check_int(refers_to, "refers_to")
        files = check_attachments(attachments)
        details = check_case_details(priority, fields, self.settings.field_map if self.settings is not None else {})
        key = check_idempotency_key(idempotency_key)
        digest = idempotency.fingerprint(
            "submit",
            files,
            user_id=user_id,
            subject=subject,
            body=body,
            refers_to=refers_to,
            priority=priority,
            fields=dict(fields) if fields else None,
        )
        new_files = [(f.filename, f.content_type or _OCTETS, f.data) for f in files]

        def once() -> Case:
            with self.store.transaction() as tx:
                checked = tx.console_write_context(account_id, user_id, key=key)
                if (first := idempotency.replay(checked.key, key, "submit", digest)) is not None:
                    return first
                with idempotency.refusals(tx, account_id, user_id, key):
                    if checked.user_name is None:
                        raise UnknownUser(account_id, user_id)
                    if refers_to is not None:
                        ref = tx.get_case(refers_to)
                        referred = (
                            None
                            if ref is None
                            else ReferredCase(account_id=ref.account_id, case_id=ref.id, status=ref.status)
                        )
                        # Another account's case reads exactly like a missing one: never reveal that it exists.
                        refusal = check_refers_to(account_id, referred)
                        if refusal is not None:
                            raise InvalidInput(refusal_message(refusal, refers_to))
                case = tx.open_case(
                    account_id, user_id, checked.user_name, subject, body,
                    refers_to=refers_to, details=details, files=new_files,
                )
                stored = enqueue_keyed(
                    tx,
                    SubmitPayload(case_id=case.id),
                    ordering_key=case_key(case.id),
                    account_id=account_id,
                    case_id=case.id,
                    key=idempotency.record(account_id, key, "submit", digest, tx.now, case),
                )
                if stored is None:
                    raise idempotency.KeyTaken(key)
                return case

        return idempotency.run_keyed(once)

    def reply(
        self,
        account_id: str,
        case_id: int,
        user_id: str,
        body: str,
        *,
        acknowledges_solution: bool = False,
        attachments: Sequence[Attachment] = (),
        idempotency_key: str | None = None,
    ) -> Case:
        """Add the user's message; a Pending or Solved case becomes Open again (``idempotency_key``: as submit)."""
        check_id(account_id, "account_id")
        check_int(case_id, "case_id")
        check_id(user_id, "user_id")
        check_text(body, "body", BODY_MAX)
        if not isinstance(acknowledges_solution, bool):
            raise InvalidInput("acknowledges_solution must be True or False")
        files = check_attachments(attachments)
        key = check_idempotency_key(idempotency_key)
        digest = idempotency.fingerprint(
            "reply", files, case_id=case_id, user_id=user_id, body=body, acknowledges_solution=acknowledges_solution
        )
        new_files = [(f.filename, f.content_type or _OCTETS, f.data) for f in files]

        def once() -> Case:
            with self.store.transaction() as tx:
                checked = tx.console_write_context(account_id, user_id, case_id=case_id, key=key)
                if (first := idempotency.replay(checked.key, key, "reply", digest)) is not None:
                    return first
                with idempotency.refusals(tx, account_id, user_id, key):
                    case = self._own(checked.case, account_id, case_id)
                    if checked.user_name is None:
                        raise UnknownUser(account_id, user_id)
                    move = check_transition(apply_user_reply, case)
                message_id, answer = tx.add_reply(
                    case,
                    checked.user_name,
                    body,
                    user_id=user_id,  # its author in Zendesk too, whichever user of the account wrote it
                    acknowledges_solution=acknowledges_solution,
                    status=move.after if move.changed else None,
                    files=new_files,
                )
                stored = enqueue_keyed(
                    tx,
                    ReplyPayload(
                        case_id=case_id,
                        message_id=message_id,
                        acknowledges_solution=acknowledges_solution,
                        # The ticket's status change depends on the status the user replied to (New stays new).
                        status_before=case.status,
                    ),
                    ordering_key=case_key(case_id),
                    account_id=account_id,
                    case_id=case_id,
                    key=idempotency.record(account_id, key, "reply", digest, tx.now, answer),
                )
                if stored is None:
                    raise idempotency.KeyTaken(key)
                return answer

        return idempotency.run_keyed(once)

    def close(self, account_id: str, case_id: int, user_id: str, *, idempotency_key: str | None = None) -> Case:
        """Close the case (final); the user may close at any time (``idempotency_key``: as submit)."""
        check_id(account_id, "account_id")
        check_int(case_id, "case_id")
        check_id(user_id, "user_id")
        key = check_idempotency_key(idempotency_key)
        digest = idempotency.fingerprint("close", case_id=case_id, user_id=user_id)

        def once() -> Case:
            with self.store.transaction() as tx:
                checked = tx.console_write_context(account_id, user_id, case_id=case_id, key=key)
                if (first := idempotency.replay(checked.key, key, "close", digest)) is not None:
                    return first
                with idempotency.refusals(tx, account_id, user_id, key):
                    case = self._own(checked.case, account_id, case_id)
                    if checked.user_name is None:
                        raise UnknownUser(account_id, user_id)
                    move = check_transition(apply_user_close, case)
                closer = who_closed(CloseEvidence(witness=CloseWitness.CONSOLE))
                assert closer is not None  # the console user's own close
                answer = tx.close_case(case_id, move.after, closed_by=closer.actor, reason=closer.reason)
                stored = enqueue_keyed(
                    tx,
                    ClosePayload(case_id=case_id, user_id=user_id),
                    ordering_key=case_key(case_id),
                    account_id=account_id,
                    case_id=case_id,
                    key=idempotency.record(account_id, key, "close", digest, tx.now, answer),
                )
                if stored is None:
                    raise idempotency.KeyTaken(key)
                return answer

        return idempotency.run_keyed(once)

    def get(self, account_id: str, case_id: int) -> Case:
        """One case of the account, with its messages."""
        check_id(account_id, "account_id")
        check_int(case_id, "case_id")
        with self.store.read() as tx:
            self._own_case(tx, account_id, case_id)
            return self._case_out(tx, case_id)

    def list(self, account_id: str, *, status: CaseStatus | None = None) -> builtins.list[Case]:
        """The account's cases by case number, optionally only those with ``status``."""
        check_id(account_id, "account_id")
        if status is not None:
            try:
                status = CaseStatus(status)
            except ValueError:
                raise InvalidInput(f"status must be one of {[s.value for s in CaseStatus]}") from None
        with self.store.read() as tx:
            return tx.cases(account_id, status=status)

    def browse(
        self,
        account_id: str,
        *,
        status: CaseStatus | None = None,
        requester_id: str | None = None,
        query: str | None = None,
        order: str = "-updated_at",
        limit: int = 50,
        cursor: str | None = None,
    ) -> CasePage:
        """A page of the account's cases; pass ``next_cursor`` back for the next one (docs/design.md §8).

        ``query`` keeps the cases whose subject or visible messages contain every word of it; ``order`` is
        ``created_at``, ``-created_at``, ``updated_at`` or ``-updated_at`` (newest first); ``limit`` 1 to 100.
        Pages are stable: a case changed while paging appears at most once (see :mod:`sync.store.sql_browse`).
        """
        check_id(account_id, "account_id")
        if requester_id is not None:
            check_id(requester_id, "requester_id")
        return browse_page(
            self.store,
            account_id,
            status=status,
            requester_id=requester_id,
            query=query,
            order=order,
            limit=limit,
            cursor=cursor,
        )

    def attachment(self, account_id: str, case_id: int, attachment_id: str) -> bytes:
        """The content of one attachment of a case."""
        check_id(account_id, "account_id")
        check_int(case_id, "case_id")
        check_id(attachment_id, "attachment_id")
        with self.store.read() as tx:
            self._own_case(tx, account_id, case_id)
            found = tx.attachment_content(attachment_id)
            if found is not None and found[0].case_id == case_id:
                message = tx.message(found[0].message_id)
                if message is not None and not message.withdrawn:
                    return found[1]
        raise InvalidInput(f"attachment {attachment_id!r} not found in case {case_id}")

    def changes(
        self, since: int = 0, *, account_id: str | None = None, limit: int | None = None, wait: float = 0.0
    ) -> builtins.list[CaseChange]:
        """Change-feed entries after ``since`` (a ``seq``), oldest first; one account's only if given.

        ``limit``: at most this many entries.  ``wait`` > 0: when there is none yet, block up to ``wait``
        seconds (at most 300) until one is appended — by this process or another one on the same store —
        and return as soon as it is (see :mod:`sync.feed_wait`).
        """
        check_int(since, "since", minimum=0)
        if account_id is not None:
            check_id(account_id, "account_id")
        if limit is not None:
            check_int(limit, "limit")
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= MAX_WAIT_S:
            raise InvalidInput(f"wait must be a number of seconds from 0 to {MAX_WAIT_S:g}")
        return wait_for_changes(self.store, since, account_id=account_id, limit=limit, wait=float(wait))

    def erase_user(self, account_id: str, user_id: str) -> ErasureReport:
        """Erase a user's personal data from casesync and from Zendesk (right to erasure).

        Afterwards the store holds none of their email, name, message text or attachments; their messages
        read ``[erased]``; the cases they requested are closed and kept for the account's other members;
        their Zendesk user is deleted, then permanently deleted, through the outbox (see :mod:`sync.erasure`).
        ``UnknownUser`` when the account has no such user.
        """
        check_id(account_id, "account_id")
        check_id(user_id, "user_id")
        return erase_user(self.store, account_id, user_id)

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _own(record: CaseRecord | None, account_id: str, case_id: int) -> CaseRecord:
        # Another account's case raises exactly what a missing one does.
        if record is None or record.account_id != account_id:
            raise CaseNotFound(account_id, case_id)
        return record

    @staticmethod
    def _own_case(tx: StoreTx, account_id: str, case_id: int) -> CaseRecord:
        return SupportCases._own(tx.get_case(case_id), account_id, case_id)

    @staticmethod
    def _case_out(tx: StoreTx, case_id: int) -> Case:
        case = tx.case(case_id)
        assert case is not None
        return case
