"""The console backend's API: ``SupportCases`` (docs/design.md §6).

Every call validates its input first, then writes the console-side change and the outbox entry that will
carry it to Zendesk in one store transaction, and returns once that transaction has committed: a call
that returned is durable even when Zendesk is down, and a call that raised changed nothing.

Outbox entries carry ids only (the worker reloads the data by id), with these payloads:

========================  ==================  ====================================================
kind                      ordering key        payload
========================  ==================  ====================================================
``upsert_account``        ``account:<id>``    ``account_id``, ``previous_name`` (None: created)
``upsert_user``           ``account:<id>``    ``account_id``, ``user_id``, ``email``,
                                              ``previous_email`` (None unless the address changed),
                                              ``created``
``recipients_changed``    ``account:<id>``    ``account_id``, ``added``, ``removed`` (addresses)
``submit``                ``case:<n>``        ``case_id``
``reply``                 ``case:<n>``        ``case_id``, ``message_id``, ``acknowledges_solution``,
                                              ``status_before``
``close``                 ``case:<n>``        ``case_id``, ``user_id``
========================  ==================  ====================================================
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

from mappings.errors import TooManyRecipients, TransitionRefused
from mappings.fields import FieldRefused, check_field_values, check_priority
from mappings.lifecycle import Transition, apply_user_close, apply_user_reply
from mappings.models import Account, Attachment, Case, CaseChange, CaseStatus, FieldValue, User
from mappings.recipients import MAX_CCS, ensure_within_limit, is_valid_email, same_email
from mappings.references import ReferredCase, check_refers_to, refusal_message
from sync import idempotency
from sync.browse import CasePage, browse_page
from sync.erasure import ErasureReport, erase_user
from sync.errors import CaseClosed, CaseNotFound, InvalidInput, UnknownUser
from sync.feed_wait import MAX_WAIT_S, wait_for_changes
from sync.settings import Settings, load_settings
from sync.store import CaseRecord, Clock, OutboxKind, Store, StoreTx, account_key, case_key, open_store, user_key

__all__ = ["MAX_ATTACHMENTS", "MAX_ATTACHMENT_BYTES", "SupportCases"]

_SUBJECT_MAX = 255  # casesync's limits (docs/design.md §6)
_BODY_MAX = 65_536
_NAME_MAX = 255
_ID_MAX = 255  # ids are stored in VARCHAR(255) columns on PostgreSQL
_INT_MAX = 2**63 - 1  # case numbers and feed positions are 64-bit integers in both databases
_FILENAME_MAX = 255
_OCTETS = "application/octet-stream"

#: At most this many attachments per message.
MAX_ATTACHMENTS = 20
#: At most this many bytes per attachment: Zendesk refuses larger uploads.
MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024


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
        check_id(account_id, "account_id")
        name = check_text(name, "name", _NAME_MAX)
        with self.store.transaction() as tx:
            if tx.get_account(account_id, for_update=True) is None:
                check_new_account_id(account_id)
            after, before = tx.upsert_account(account_id, name)
            if before is None or before.name != after.name:
                tx.enqueue(
                    OutboxKind.UPSERT_ACCOUNT,
                    {"account_id": account_id, "previous_name": before.name if before else None},
                    ordering_key=account_key(account_id),
                    account_id=account_id,
                )
        return Account(id=after.id, name=after.name)

    def upsert_user(self, account_id: str, user_id: str, email: str, name: str, *, admin: bool = False) -> User:
        """Create or update a user of an account; admins' addresses are on the account's recipient list."""
        check_id(account_id, "account_id")
        check_id(user_id, "user_id")
        email = check_email(email)
        name = check_text(name, "name", _NAME_MAX)
        if not isinstance(admin, bool):
            raise InvalidInput("admin must be True or False")
        with self.store.transaction() as tx:
            self._account(tx, account_id)
            if tx.is_staff_email(email):
                raise InvalidInput(f"email {email!r} belongs to a Zendesk agent: console users cannot be support staff")
            old_list = tx.recipients(account_id)
            after, before = tx.upsert_user(account_id, user_id, email, name, admin)
            new_list = self._checked_list(tx, account_id)
            if before is None or (before.email, before.name, before.admin) != (email, name, admin):
                email_changed = before is not None and before.email != email
                tx.enqueue(
                    OutboxKind.UPSERT_USER,
                    {
                        "account_id": account_id,
                        "user_id": user_id,
                        "email": email,
                        "previous_email": before.email if before is not None and email_changed else None,
                        "created": before is None,
                    },
                    ordering_key=user_key(account_id, user_id),
                    account_id=account_id,
                )
            self._queue_list_change(tx, account_id, old_list, new_list)
        return User(account_id=account_id, id=user_id, email=after.email, name=after.name, admin=after.admin)

    def add_recipient(self, account_id: str, email: str) -> list[str]:
        """Register an additional address; returns the account's full recipient list afterwards."""
        check_id(account_id, "account_id")
        email = check_email(email)
        with self.store.transaction() as tx:
            self._account(tx, account_id)
            old_list = tx.recipients(account_id)
            tx.add_registered_recipient(account_id, email)
            new_list = self._checked_list(tx, account_id)
            self._queue_list_change(tx, account_id, old_list, new_list)
        return new_list

    def remove_recipient(self, account_id: str, email: str) -> list[str]:
        """Unregister an address (not an admin's: demote the admin instead); returns the list afterwards."""
        check_id(account_id, "account_id")
        email = check_email(email)
        with self.store.transaction() as tx:
            self._account(tx, account_id)
            if any(u.admin and same_email(u.email, email) for u in tx.users(account_id)):
                raise InvalidInput(
                    f"{email!r} is an admin user's address: remove it by demoting the admin"
                    " (upsert_user(..., admin=False))"
                )
            old_list = tx.recipients(account_id)
            tx.remove_registered_recipient(account_id, email)
            new_list = tx.recipients(account_id)
            self._queue_list_change(tx, account_id, old_list, new_list)
        return new_list

    def recipients(self, account_id: str) -> list[str]:
        """The account's recipient list: admin users' addresses first, then the registered ones."""
        check_id(account_id, "account_id")
        with self.store.read() as tx:
            return tx.recipients(account_id)

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
        subject = check_text(subject, "subject", _SUBJECT_MAX)
        check_text(body, "body", _BODY_MAX)
        if refers_to is not None:
            check_int(refers_to, "refers_to")
        files = check_attachments(attachments)
        details = self._case_details(priority, fields)
        key = _key(idempotency_key)
        digest = idempotency.fingerprint(
            "submit", files, user_id=user_id, subject=subject, body=body, refers_to=refers_to,
            priority=priority, fields=dict(fields) if fields else None,
        )
        with self.store.transaction() as tx:
            if (first := idempotency.claim(tx, account_id, key, "submit", digest)) is not None:
                return first
            user = tx.get_user(account_id, user_id)
            if user is None:
                raise UnknownUser(account_id, user_id)
            if refers_to is not None:
                ref = tx.get_case(refers_to)
                referred = (
                    None if ref is None else ReferredCase(account_id=ref.account_id, case_id=ref.id, status=ref.status)
                )
                # Another account's case reads exactly like a missing one: never reveal that it exists.
                refusal = check_refers_to(account_id, referred)
                if refusal is not None:
                    raise InvalidInput(refusal_message(refusal, refers_to))
            number = tx.next_case_number()
            tx.create_case(number, account_id, user_id, subject, refers_to=refers_to)
            if details:
                tx.set_case_details(number, **details)
            message = tx.add_message(number, "user", user.name, body, origin="console", user_id=user_id)
            for f in files:
                tx.add_attachment(message.id, f.filename, f.content_type or _OCTETS, f.data)
            tx.enqueue(
                OutboxKind.SUBMIT,
                {"case_id": number},
                ordering_key=case_key(number),
                account_id=account_id,
                case_id=number,
            )
            return idempotency.remember(tx, account_id, key, self._case_out(tx, number))

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
        check_text(body, "body", _BODY_MAX)
        if not isinstance(acknowledges_solution, bool):
            raise InvalidInput("acknowledges_solution must be True or False")
        files = check_attachments(attachments)
        key = _key(idempotency_key)
        digest = idempotency.fingerprint(
            "reply", files, case_id=case_id, user_id=user_id, body=body, acknowledges_solution=acknowledges_solution
        )
        with self.store.transaction() as tx:
            if (first := idempotency.claim(tx, account_id, key, "reply", digest)) is not None:
                return first
            case = self._own_case(tx, account_id, case_id, lock=True)
            user = tx.get_user(account_id, user_id)
            if user is None:
                raise UnknownUser(account_id, user_id)
            move = _transition(apply_user_reply, case)
            message = tx.add_message(
                case_id,
                "user",
                user.name,
                body,
                origin="console",
                acknowledges_solution=acknowledges_solution,
                user_id=user_id,  # its author in Zendesk too, whichever user of the account wrote it
            )
            for f in files:
                tx.add_attachment(message.id, f.filename, f.content_type or _OCTETS, f.data)
            if move.changed:
                tx.set_case_status(case_id, move.after)
            tx.enqueue(
                OutboxKind.REPLY,
                {
                    "case_id": case_id,
                    "message_id": message.id,
                    "acknowledges_solution": acknowledges_solution,
                    # The ticket's status change depends on the status the user replied to (New stays new).
                    "status_before": case.status.value,
                },
                ordering_key=case_key(case_id),
                account_id=account_id,
                case_id=case_id,
            )
            return idempotency.remember(tx, account_id, key, self._case_out(tx, case_id))

    def close(self, account_id: str, case_id: int, user_id: str, *, idempotency_key: str | None = None) -> Case:
        """Close the case (final); the user may close at any time (``idempotency_key``: as submit)."""
        check_id(account_id, "account_id")
        check_int(case_id, "case_id")
        check_id(user_id, "user_id")
        key = _key(idempotency_key)
        digest = idempotency.fingerprint("close", case_id=case_id, user_id=user_id)
        with self.store.transaction() as tx:
            if (first := idempotency.claim(tx, account_id, key, "close", digest)) is not None:
                return first
            case = self._own_case(tx, account_id, case_id, lock=True)
            if tx.get_user(account_id, user_id) is None:
                raise UnknownUser(account_id, user_id)
            move = _transition(apply_user_close, case)
            tx.set_case_status(case_id, move.after, closed_by=move.closed_by, reason="closed by the user")
            tx.enqueue(
                OutboxKind.CLOSE,
                {"case_id": case_id, "user_id": user_id},
                ordering_key=case_key(case_id),
                account_id=account_id,
                case_id=case_id,
            )
            return idempotency.remember(tx, account_id, key, self._case_out(tx, case_id))

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

    def _case_details(self, priority: object, fields: object) -> dict[str, Any]:
        """The checked ``priority`` and mapped ``fields`` of a submit, as ``set_case_details`` takes them."""
        field_map = self.settings.field_map if self.settings is not None else {}
        try:
            checked_priority = check_priority(priority)
            checked_fields = check_field_values(fields, field_map) if fields is not None else {}
        except FieldRefused as exc:
            raise InvalidInput(str(exc)) from None
        details: dict[str, Any] = {}
        if checked_priority is not None:
            details["priority"] = checked_priority
        if checked_fields:
            details["fields"] = checked_fields
        return details

    @staticmethod
    def _account(tx: StoreTx, account_id: str) -> None:
        if tx.get_account(account_id, for_update=True) is None:
            raise InvalidInput(f"account {account_id!r} does not exist: call upsert_account first")

    @staticmethod
    def _own_case(tx: StoreTx, account_id: str, case_id: int, *, lock: bool = False) -> CaseRecord:
        record = tx.get_case(case_id, for_update=lock)
        # Another account's case raises exactly what a missing one does.
        if record is None or record.account_id != account_id:
            raise CaseNotFound(account_id, case_id)
        return record

    @staticmethod
    def _case_out(tx: StoreTx, case_id: int) -> Case:
        case = tx.case(case_id)
        assert case is not None
        return case

    @staticmethod
    def _checked_list(tx: StoreTx, account_id: str) -> builtins.list[str]:
        found = tx.recipients(account_id)
        try:
            return ensure_within_limit(found, MAX_CCS)
        except TooManyRecipients as exc:
            raise InvalidInput(
                f"the recipient list of account {account_id!r} would have {exc.count} addresses;"
                f" at most {exc.limit} are allowed (Zendesk's CC limit)"
            ) from None

    @staticmethod
    def _queue_list_change(tx: StoreTx, account_id: str, old: builtins.list[str], new: builtins.list[str]) -> None:
        old_keys, new_keys = {a.lower() for a in old}, {a.lower() for a in new}
        added = [a for a in new if a.lower() not in old_keys]
        removed = [a for a in old if a.lower() not in new_keys]
        if added or removed:
            tx.enqueue(
                OutboxKind.RECIPIENTS_CHANGED,
                {"account_id": account_id, "added": added, "removed": removed},
                ordering_key=account_key(account_id),
                account_id=account_id,
            )


# -- input checks: each raises InvalidInput with a message naming the field ---------------------------


def _transition(rule: Any, case: CaseRecord) -> Transition:
    """Apply a lifecycle rule; a refusal because the case is Closed is ``CaseClosed``."""
    try:
        result: Transition = rule(case.status)
    except TransitionRefused as exc:
        if exc.closed:
            raise CaseClosed(case.id) from None
        raise InvalidInput(str(exc)) from None
    return result


def _key(value: object) -> str | None:
    return None if value is None else check_id(value, "idempotency_key")


def _storable(value: str, field: str) -> None:
    # Both databases store UTF-8 text: NUL characters and lone surrogates cannot be stored.
    if "\x00" in value:
        raise InvalidInput(f"{field} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{field} is not valid Unicode text") from None


def check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string")
    if len(value) > _ID_MAX:
        raise InvalidInput(f"{field} is longer than {_ID_MAX} characters")
    _storable(value, field)
    return value


def check_new_account_id(account_id: str) -> str:
    """A new account's id must be canonical: no surrounding whitespace, and lower case (Unicode case-folded).

    Zendesk compares organization external ids case-insensitively ("company1" and "Company1" are the same
    organization: the Support API's OpenAPI file, ``Organization.external_id``), and an account's
    organization is found by ``console-account:<account_id>``.  Two accounts whose ids differ only by case
    would share one organization — one tenant's tickets in another's — so only the case-folded spelling
    is accepted; and ``"acme "`` is refused rather than silently trimmed into ``"acme"``.  Accounts that
    already exist keep working under the id they were created with.
    """
    if account_id != account_id.strip():
        raise InvalidInput(f"account_id {account_id!r} must not begin or end with whitespace")
    folded = account_id.casefold()
    if account_id != folded:
        raise InvalidInput(
            f"account_id {account_id!r} must be lower case ({folded!r}): Zendesk compares organization external"
            " ids case-insensitively, so ids that differ only by case would share one organization"
        )
    return account_id


def check_int(value: object, field: str, *, minimum: int = 1) -> int:
    # bool is an int subclass: True is not a case number.
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise InvalidInput(f"{field} must be an integer of at least {minimum}")
    if value > _INT_MAX:  # beyond 64 bits: no such case or feed position, and the databases cannot hold it
        raise InvalidInput(f"{field} must be an integer of at most {_INT_MAX}")
    return value


def check_text(value: object, field: str, limit: int) -> str:
    """Non-blank text of at most ``limit`` characters; returned as given (the body keeps its blanks)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must not be empty")
    if len(value) > limit:
        raise InvalidInput(f"{field} is {len(value)} characters long; at most {limit} are allowed")
    _storable(value, field)
    return value


def check_email(value: object) -> str:
    """A syntactically valid address (reserved names such as ``.test`` are valid), trimmed."""
    if not isinstance(value, str) or not is_valid_email(value):
        raise InvalidInput(f"invalid email address: {value!r}")
    return value.strip()


def check_attachments(files: object) -> builtins.list[Attachment]:
    if isinstance(files, (str, bytes)) or not isinstance(files, Sequence):
        raise InvalidInput("attachments must be a sequence of Attachment")
    if len(files) > MAX_ATTACHMENTS:
        raise InvalidInput(f"{len(files)} attachments: at most {MAX_ATTACHMENTS} per message")
    out: builtins.list[Attachment] = []
    for f in files:
        if not isinstance(f, Attachment):
            raise InvalidInput("attachments must be Attachment(filename, content_type, data) values")
        if not f.filename.strip():
            raise InvalidInput("an attachment's filename must not be empty")
        if len(f.filename) > _FILENAME_MAX:
            raise InvalidInput(f"attachment filename is longer than {_FILENAME_MAX} characters")
        _storable(f.filename, "attachment filename")
        _storable(f.content_type, "attachment content_type")
        if len(f.data) > MAX_ATTACHMENT_BYTES:
            raise InvalidInput(
                f"attachment {f.filename!r} is {len(f.data)} bytes; at most {MAX_ATTACHMENT_BYTES} per file"
            )
        out.append(f)
    return out
