"""What an outbox entry waits for besides the entries of its own ordering key.

The store delivers each ordering key's entries one at a time, in order, and a dead letter holds the later
entries of its key (:meth:`sync.store.Store.claim_outbox`).  The keys are chosen so that a dead letter holds
only what really depends on it:

* ``account:<id>`` — the organization (``upsert_account``) and the account's recipient list
  (``recipients_changed``, ``repair_ccs``): each list change is a diff against the one before it;
* ``user:<account>:<user>`` — one user's changes (create, rename, promotion, address change): a later
  change of that user must not overtake an earlier one (an address change moves the identity that the
  previous entry created), but another user's changes are unrelated;
* ``case:<id>`` — one case's submit, replies and close.

Across keys, a few entries wait (:class:`~sync.outbound.outcomes.Deferred`, shown as *held* with the reason)
for an earlier entry of another key that is still undelivered or dead-lettered:

* a user's entry waits for the account's ``upsert_account`` while the organization does not exist yet (the
  user is made a member of it);
* a case's submit or reply waits for its requester's earlier entry when that entry is dead-lettered (the
  Zendesk user may not exist, or be outdated) or is an address change not yet delivered (looking the user
  up by the new address first would create a second Zendesk user) — except when the address is known to be
  a Zendesk agent's: no replay can fix that, so the case fails on its own and the console is told;
* a recipient-list change waits for the earlier address change, or dead letter, of a user whose address it
  adds or removes: putting the new address as a CC first would create a second Zendesk user.

Nothing waits for a *later* entry, and every wait points at an entry of another kind of key
(user → account, case → user, account list → user, never back), so no two entries can wait for each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sync.outbound.outcomes import Deferred
from sync.store import OutboxEntry, OutboxKind, StoreTx, account_key, user_key
from sync.store.outbox_payloads import UpsertUserPayload, parse_payload

__all__ = ["WAIT_S", "Settled", "wait_for_account", "wait_for_users"]

#: Tells whether an entry id was delivered by this worker already (its completion not yet committed: the
#: worker commits several deliveries at once).
Settled = Callable[[int], bool]


def _never(_entry_id: int) -> bool:
    return False

#: How long an entry waits before looking again: short, since the entry it waits for is usually due now.
WAIT_S = 2.0


def _undelivered(tx: StoreTx, key: str, before_id: int, settled: Settled) -> list[OutboxEntry]:
    """The entries of ``key`` older than ``before_id`` that are pending or dead-lettered, oldest first."""
    found = [
        e
        for status in ("dead", "pending")
        for e in tx.outbox_entries(ordering_key=key, status=status, limit=100)
        if e.id < before_id and not settled(e.id)
    ]
    return sorted(found, key=lambda e: e.id)


def _describe(entry: OutboxEntry) -> str:
    state = f"dead-lettered: {entry.last_error}" if entry.status == "dead" else "not delivered yet"
    return f"entry {entry.id} ({entry.kind}, {entry.ordering_key}) {state}"


def wait_for_account(tx: StoreTx, entry: OutboxEntry, account_id: str, settled: Settled = _never) -> None:
    """Raise :class:`Deferred` while the account has no organization and its creation is undelivered."""
    account = tx.get_account(account_id)
    if account is not None and account.zendesk_org_id is not None:
        return
    for earlier in _undelivered(tx, account_key(account_id), entry.id, settled):
        if earlier.kind == OutboxKind.UPSERT_ACCOUNT:
            raise Deferred(f"waiting for the account's organization: {_describe(earlier)}", WAIT_S)


def wait_for_users(
    tx: StoreTx, entry: OutboxEntry, account_id: str, user_ids: Iterable[str], settled: Settled = _never
) -> None:
    """Raise :class:`Deferred` while an earlier entry of one of ``user_ids`` blocks ``entry``: a dead letter,
    or an address change not delivered yet.

    One read per user (its row, the staff test and its key's earlier entries together); within a read
    transaction the user and the staff test are then answered again from its snapshot.
    """
    for user_id in dict.fromkeys(user_ids):
        _user, staff, earlier = tx.user_dependencies(
            account_id, user_id, ordering_key=user_key(account_id, user_id), before_id=entry.id
        )
        if staff:
            continue  # an agent's address: the entry fails on its own, and the console is told
        for blocking in earlier:
            if settled(blocking.id):
                continue
            payload = parse_payload(blocking)
            if blocking.status == "dead" or (isinstance(payload, UpsertUserPayload) and payload.previous_email):
                raise Deferred(f"waiting for user {user_id!r}: {_describe(blocking)}", WAIT_S)
