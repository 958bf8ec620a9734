"""The store's interface: what every caller (the API, the workers, the CLI) may rely on.

A :class:`Store` hands out transactions (:class:`StoreTx`); everything done through one transaction
commits together or not at all, which is how a console change and its outbox entry become durable
together.  Queue operations that must lock rows their own way (claims) live on :class:`Store`.
Callers never learn which database is behind it: :func:`sync.store.open_store` picks the backend from
the URL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any

from mappings.models import Actor, Author, Case, CaseChange, CaseStatus, ChangeKind
from sync.store.console_types import BrowseQuery, BrowseSlice, IdempotencyRecord
from sync.store.feed_signal import FeedSignal
from sync.store.types import (
    AccountRecord,
    AttachmentRecord,
    CaseRecord,
    ConflictRecord,
    DeadLetter,
    InboxEntry,
    MessageRecord,
    Origin,
    OutboxEntry,
    SchemaStatus,
    StoreCounts,
    TicketState,
    UserRecord,
)

__all__ = ["POLLER_LOCK", "Clock", "Store", "StoreTx"]

#: The exclusive role of the inbound poller (see :meth:`Store.try_lock`).
POLLER_LOCK = "poller"

#: Returns the current time as an aware UTC datetime; tests pass a fake.
Clock = Callable[[], datetime]


class StoreTx(ABC):
    """One transaction.  Reads see its own writes; nothing is visible to others before commit."""

    now: datetime  # the clock's time when the transaction began: one timestamp for all its writes

    # -- accounts, users, recipients --------------------------------------------------------------

    @abstractmethod
    def get_account(self, account_id: str, *, for_update: bool = False) -> AccountRecord | None:
        """The account, or None; ``for_update`` locks it (PostgreSQL) against concurrent list changes."""

    @abstractmethod
    def upsert_account(self, account_id: str, name: str) -> tuple[AccountRecord, AccountRecord | None]:
        """Create or rename; returns (the account now, the account before or None when created)."""

    @abstractmethod
    def set_account_org(self, account_id: str, zendesk_org_id: int) -> None:
        """Link the account to its Zendesk organization."""

    @abstractmethod
    def get_user(self, account_id: str, user_id: str) -> UserRecord | None: ...

    @abstractmethod
    def users(self, account_id: str) -> list[UserRecord]:
        """The account's users, in the order they were created."""

    @abstractmethod
    def users_by_email(self, email: str) -> list[UserRecord]:
        """Every console user (of any account) with this address, compared case-insensitively."""

    @abstractmethod
    def users_by_zendesk_id(self, zendesk_user_id: int) -> list[UserRecord]: ...

    @abstractmethod
    def upsert_user(
        self, account_id: str, user_id: str, email: str, name: str, admin: bool
    ) -> tuple[UserRecord, UserRecord | None]:
        """Create or update; returns (the user now, the user before or None). The account must exist."""

    @abstractmethod
    def link_user(self, account_id: str, user_id: str, zendesk_user_id: int) -> None:
        """Record the Zendesk end-user behind (account, console user)."""

    @abstractmethod
    def registered_recipients(self, account_id: str) -> list[str]:
        """The additionally registered addresses, in registration order (admins' addresses excluded)."""

    @abstractmethod
    def add_registered_recipient(self, account_id: str, email: str) -> bool:
        """Register an address; False when it was already registered (case-insensitively)."""

    @abstractmethod
    def remove_registered_recipient(self, account_id: str, email: str) -> bool:
        """Unregister an address; False when it was not registered."""

    @abstractmethod
    def recipients(self, account_id: str) -> list[str]:
        """The recipient list in normal form (lower case): admins' addresses first, then registered ones."""

    @abstractmethod
    def is_staff_email(self, email: str) -> bool: ...

    @abstractmethod
    def add_staff_email(self, email: str, zendesk_user_id: int | None = None) -> None:
        """Remember that this address belongs to a Zendesk agent or admin (never a console user)."""

    # -- cases, messages, attachments -------------------------------------------------------------

    @abstractmethod
    def next_case_number(self) -> int:
        """A new case number: unique, increasing, never handed out again even if this transaction fails."""

    @abstractmethod
    def create_case(
        self,
        case_id: int,
        account_id: str,
        requester_id: str,
        subject: str,
        *,
        status: CaseStatus = CaseStatus.NEW,
        refers_to: int | None = None,
    ) -> CaseRecord: ...

    @abstractmethod
    def get_case(self, case_id: int, *, for_update: bool = False) -> CaseRecord | None:
        """The case's row; ``for_update`` locks it (PostgreSQL) so concurrent changes of it serialize."""

    @abstractmethod
    def case(self, case_id: int) -> Case | None:
        """The case as the console sees it: withdrawn messages are left out."""

    @abstractmethod
    def cases(self, account_id: str, *, status: CaseStatus | None = None) -> list[Case]:
        """The account's cases as the console sees them, by case number."""

    @abstractmethod
    def case_records(self, account_id: str, *, open_only: bool = False) -> list[CaseRecord]:
        """The account's case rows; ``open_only`` leaves Closed cases out (CC refresh)."""

    @abstractmethod
    def set_case_status(
        self, case_id: int, status: CaseStatus, *, closed_by: Actor | None = None, reason: str | None = None
    ) -> None:
        """Set the status; ``closed_by`` and ``reason`` are kept for Closed."""

    @abstractmethod
    def set_case_cc(self, case_id: int, cc: list[str]) -> None: ...

    @abstractmethod
    def set_case_details(self, case_id: int, **details: Any) -> None:
        """Set any of ``priority``, ``status_label``, ``fields`` (what staff set on the ticket); others raise."""

    @abstractmethod
    def set_case_refs(self, case_id: int, *, refers_to: int | None = None, merged_into: int | None = None) -> None:
        """Set whichever of ``refers_to`` / ``merged_into`` is given (None leaves it unchanged)."""

    @abstractmethod
    def add_message(
        self,
        case_id: int,
        author: Author,
        author_name: str,
        body: str,
        *,
        origin: Origin,
        zendesk_comment_id: int | None = None,
        acknowledges_solution: bool = False,
        created_at: datetime | None = None,
        html: str | None = None,
        user_id: str | None = None,
    ) -> MessageRecord:
        """Append a message.  A ``zendesk_comment_id`` that is already stored returns that message.

        ``user_id``: the console user who wrote a user message (None for staff and unknown end users)."""

    @abstractmethod
    def message(self, message_id: int) -> MessageRecord | None: ...

    @abstractmethod
    def message_by_comment(self, zendesk_comment_id: int) -> MessageRecord | None: ...

    @abstractmethod
    def case_messages(self, case_id: int, *, include_withdrawn: bool = False) -> list[MessageRecord]: ...

    @abstractmethod
    def set_message_comment(self, message_id: int, zendesk_comment_id: int) -> None:
        """Record the comment a console message became (echo detection, exactly-once checks)."""

    @abstractmethod
    def withdraw_message(self, message_id: int) -> None:
        """Hide a message from the console (its comment was made private in Zendesk)."""

    @abstractmethod
    def redact_message(self, message_id: int, body: str, html: str | None) -> None:
        """Overwrite a message's text with its redacted form (the original is not kept anywhere)."""

    @abstractmethod
    def remove_attachment(self, attachment_id: str) -> None:
        """Delete an attachment and its bytes (staff redacted it in Zendesk)."""

    @abstractmethod
    def scrub_text(self, secrets: list[str], *, ticket_id: int, case_id: int) -> int:
        """Replace each of ``secrets`` with ``▇`` characters in what the store keeps about the ticket and the case
        besides its messages: inbox payloads, kv values of the ticket, feed and conflict details.  Returns the
        number of rows rewritten."""

    @abstractmethod
    def move_message(self, message_id: int, case_id: int) -> None:
        """Move a message (and its attachments) to another case of the same account."""

    @abstractmethod
    def add_attachment(
        self,
        message_id: int,
        filename: str,
        content_type: str,
        data: bytes,
        *,
        zendesk_attachment_id: int | None = None,
        inline: bool = False,
        attachment_id: str | None = None,
    ) -> AttachmentRecord:
        """Store an attachment of a message; ``attachment_id`` (default: a new random id) for one imported from
        Zendesk whose id its message's HTML already names (``mappings.rich_text.imported_attachment_id``)."""

    @abstractmethod
    def attachment_content(self, attachment_id: str) -> tuple[AttachmentRecord, bytes] | None: ...

    @abstractmethod
    def set_attachment_zendesk(self, attachment_id: str, zendesk_attachment_id: int) -> None: ...

    # -- links and per-ticket applied state -------------------------------------------------------

    @abstractmethod
    def link_ticket(self, case_id: int, ticket_id: int) -> None:
        """Link a case and its ticket (idempotent); ValueError if either is linked to something else."""

    @abstractmethod
    def ticket_of(self, case_id: int) -> int | None: ...

    @abstractmethod
    def case_of_ticket(self, ticket_id: int) -> int | None: ...

    @abstractmethod
    def linked_cases(self, *, after_case_id: int = 0, limit: int = 1000) -> list[tuple[int, int]]:
        """(case id, ticket id) pairs by case id, for paging through every linked case."""

    @abstractmethod
    def ticket_state(self, ticket_id: int) -> TicketState | None: ...

    @abstractmethod
    def put_ticket_state(self, state: TicketState) -> None: ...

    @abstractmethod
    def seen_comments(self, ticket_id: int) -> set[int]: ...

    @abstractmethod
    def mark_comments_seen(self, ticket_id: int, comment_ids: set[int]) -> None: ...

    # -- outbox ------------------------------------------------------------------------------------

    @abstractmethod
    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        ordering_key: str,
        account_id: str | None = None,
        case_id: int | None = None,
        not_before: datetime | None = None,
    ) -> int:
        """Queue a change for Zendesk; returns its id.  Entries of one key are delivered in id order."""

    @abstractmethod
    def outbox_entry(self, entry_id: int) -> OutboxEntry | None: ...

    @abstractmethod
    def outbox_entries(
        self, *, ordering_key: str | None = None, status: str | None = None, limit: int = 1000
    ) -> list[OutboxEntry]: ...

    @abstractmethod
    def complete(self, entry: OutboxEntry) -> bool:
        """Mark delivered.  False (and nothing changed) when the caller's lease was taken over."""

    @abstractmethod
    def fail(self, entry: OutboxEntry, error: str, next_attempt_at: datetime) -> bool:
        """Count a failed attempt and schedule the next one; releases the lease."""

    @abstractmethod
    def dead_letter(self, entry: OutboxEntry, reason: str) -> bool:
        """Give up on the entry: it holds later entries of its key until replayed or discarded.

        A case's dead letter also appends ``delivery_failed`` to the change feed.
        """

    @abstractmethod
    def release(self, entry: OutboxEntry) -> bool:
        """Give the lease back without counting an attempt (shutting down)."""

    @abstractmethod
    def renew_lease(self, entry: OutboxEntry, lease_s: float) -> bool: ...

    @abstractmethod
    def replay(self, entry_id: int) -> bool:
        """Put a dead letter back in the queue, due now."""

    @abstractmethod
    def discard(self, entry_id: int) -> bool:
        """Drop a dead letter for good; later entries of its key proceed."""

    # -- inbox -------------------------------------------------------------------------------------

    @abstractmethod
    def add_inbox(self, ticket_id: int, source: str, dedupe_key: str, payload: dict[str, Any] | None = None) -> bool:
        """Store a hint that a ticket changed; False when ``dedupe_key`` was already stored."""

    @abstractmethod
    def complete_inbox(self, entry: InboxEntry) -> bool:
        """Mark the entry and the hints it ``covers`` done."""

    @abstractmethod
    def fail_inbox(self, entry: InboxEntry, error: str, next_attempt_at: datetime) -> bool: ...

    @abstractmethod
    def dead_letter_inbox(self, entry: InboxEntry, reason: str) -> bool: ...

    @abstractmethod
    def replay_inbox(self, entry_id: int) -> bool: ...

    @abstractmethod
    def discard_inbox(self, entry_id: int) -> bool: ...

    # -- cursors, engine state, locks --------------------------------------------------------------

    @abstractmethod
    def get_cursor(self, name: str) -> str | None: ...

    @abstractmethod
    def set_cursor(self, name: str, value: str) -> None: ...

    @abstractmethod
    def kv_get(self, key: str, default: Any = None) -> Any: ...

    @abstractmethod
    def kv_set(self, key: str, value: Any) -> None:
        """Store a JSON-compatible value (last poll time, export request times, last drift...)."""

    @abstractmethod
    def acquire_lease(self, name: str, owner: str, ttl_s: float) -> bool:
        """Hold a named lease (e.g. "poller") until now + ttl; renewing by the same owner succeeds.

        Another owner gets it only after it expires, so a dead holder is taken over after ``ttl_s``.
        """

    @abstractmethod
    def release_named_lease(self, name: str, owner: str) -> None: ...

    # -- change feed and conflicts -----------------------------------------------------------------

    @abstractmethod
    def append_change(
        self, account_id: str, case_id: int, kind: ChangeKind, detail: str, *, at: datetime | None = None
    ) -> int:
        """Append to the console's change feed; returns the seq.  Seqs become visible in order."""

    @abstractmethod
    def changes(self, since: int = 0, *, account_id: str | None = None, limit: int | None = None) -> list[CaseChange]:
        """Feed entries with ``seq > since``, in seq order."""

    @abstractmethod
    def record_conflict(
        self,
        kind: str,
        detail: str,
        *,
        account_id: str | None = None,
        case_id: int | None = None,
        ticket_id: int | None = None,
    ) -> int:
        """Record a conflict; one about a case also appears in the feed (``conflict``)."""

    @abstractmethod
    def conflicts(self, *, open_only: bool = True) -> list[ConflictRecord]: ...

    @abstractmethod
    def resolve_conflict(self, conflict_id: int) -> bool: ...

    # -- the console backend: browsing and idempotency keys --------------------------------------------

    @abstractmethod
    def browse_cases(self, query: BrowseQuery) -> BrowseSlice:
        """One page of an account's cases (see :mod:`sync.store.sql_browse` for order and stability)."""

    @abstractmethod
    def claim_idempotency_key(
        self, account_id: str, key: str, operation: str, fingerprint: str
    ) -> IdempotencyRecord | None:
        """Claim ``key`` for this transaction's call (None), or return the record an earlier call stored."""

    @abstractmethod
    def save_idempotency_result(self, account_id: str, key: str, result: dict[str, Any]) -> None:
        """Store what the call that claimed ``key`` returns (in its transaction)."""

    @abstractmethod
    def prune_idempotency_keys(self, older_than: datetime) -> int:
        """Forget keys created before ``older_than``; returns how many."""

    @abstractmethod
    def erase_user_data(self, account_id: str, user_id: str) -> dict[str, Any]:
        """Erase one console user's personal data (see :mod:`sync.store.sql_erasure`); what was removed."""

    # -- operators ---------------------------------------------------------------------------------

    @abstractmethod
    def dead_letters(self) -> list[DeadLetter]:
        """Every dead-lettered outbox and inbox entry, oldest first."""

    @abstractmethod
    def counts(self) -> StoreCounts: ...


class Store(ABC):
    """A casesync database.  Thread-safe: each thread's transactions use their own connection."""

    clock: Clock
    dialect: str  # "sqlite" or "postgresql"
    feed_signal: FeedSignal  # wakes readers waiting for the change feed (see sync.feed_wait)

    @abstractmethod
    def transaction(self) -> AbstractContextManager[StoreTx]:
        """A write transaction: commits on normal exit, rolls back on an exception.

        On SQLite it starts with ``BEGIN IMMEDIATE``, so processes sharing the file serialize their
        writes instead of failing half-way with "database is locked".
        """

    @abstractmethod
    def read(self) -> AbstractContextManager[StoreTx]:
        """A read-only transaction (a consistent snapshot on both backends); writing in it is a bug."""

    @abstractmethod
    def claim_outbox(
        self, worker_id: str, now: datetime | None = None, *, limit: int = 100, lease_s: float = 30.0
    ) -> list[OutboxEntry]:
        """Lease due work: per ordering key only its oldest undelivered entry, when it is due and not
        leased by a live worker, and never an entry whose key has an older dead letter.

        So per-key order never breaks and two workers never hold the same key at once (while their leases
        last: a worker that outlives its lease must renew it).
        """

    @abstractmethod
    def claim_inbox(
        self, worker_id: str, now: datetime | None = None, *, limit: int = 100, lease_s: float = 30.0
    ) -> list[InboxEntry]:
        """Lease due hints: at most one per ticket, never a ticket another live worker holds."""

    # -- exclusive roles (one poller at a time) ---------------------------------------------------------

    def try_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        """Take the exclusive role ``name`` for ``owner`` without waiting; True when ``owner`` holds it.

        Asking again while holding it succeeds (and renews it).  This default is the named lease: a dead
        holder is taken over after ``ttl_s``, and a holder must ask again within ``ttl_s`` to keep it.
        A backend with a better primitive overrides it (PostgreSQL: a session-level advisory lock, held
        as long as the holder's process lives, whatever ``ttl_s``).
        """
        with self.transaction() as tx:
            return tx.acquire_lease(name, owner, ttl_s)

    def unlock(self, name: str, owner: str) -> None:
        """Give up ``name`` if ``owner`` holds it (no effect otherwise)."""
        with self.transaction() as tx:
            tx.release_named_lease(name, owner)

    @contextmanager
    def poller_lock(self, owner: str, ttl_s: float = 30.0) -> Iterator[bool]:
        """``with store.poller_lock(owner) as held:`` — the poller's role for the block, if ``held``.

        Exactly one poller runs at a time across every process and machine sharing the store.
        """
        held = self.try_lock(POLLER_LOCK, owner, ttl_s)
        try:
            yield held
        finally:
            if held:
                self.unlock(POLLER_LOCK, owner)

    def compact(self) -> list[str]:
        """Make removed data physically unreadable after an erasure; returns what was done (default: nothing)."""
        return []

    @abstractmethod
    def schema_status(self) -> SchemaStatus: ...

    @abstractmethod
    def migrate(self) -> list[int]:
        """Create or upgrade the schema; returns the versions applied (empty when already current)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections (idempotent)."""

    # Conveniences: one-operation transactions for the queue verbs workers use most.

    def complete(self, entry: OutboxEntry) -> bool:
        with self.transaction() as tx:
            return tx.complete(entry)

    def fail(self, entry: OutboxEntry, error: str, next_attempt_at: datetime) -> bool:
        with self.transaction() as tx:
            return tx.fail(entry, error, next_attempt_at)

    def dead_letter(self, entry: OutboxEntry, reason: str) -> bool:
        with self.transaction() as tx:
            return tx.dead_letter(entry, reason)

    def release(self, entry: OutboxEntry) -> bool:
        with self.transaction() as tx:
            return tx.release(entry)

    def replay(self, entry_id: int) -> bool:
        with self.transaction() as tx:
            return tx.replay(entry_id)

    def discard(self, entry_id: int) -> bool:
        with self.transaction() as tx:
            return tx.discard(entry_id)

    def changes(self, since: int = 0, *, account_id: str | None = None) -> list[CaseChange]:
        with self.read() as tx:
            return tx.changes(since, account_id=account_id)

    def counts(self) -> StoreCounts:
        with self.read() as tx:
            return tx.counts()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
