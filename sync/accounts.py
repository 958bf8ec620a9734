"""The console's accounts, their users and recipient lists, as :class:`sync.api.SupportCases` changes them.

Each call validates first, then changes the store and queues what Zendesk must learn (the account's
organization, the user, the organization's CC list) in one transaction (docs/design.md §6).
"""

from __future__ import annotations

from mappings.errors import TooManyRecipients
from mappings.models import Account, User
from mappings.recipients import MAX_CCS, ensure_within_limit, same_email
from sync.errors import InvalidInput
from sync.store import Store, StoreTx, account_key, user_key
from sync.store.kv_keys import FORMER_RECIPIENTS
from sync.store.outbox_payloads import (
    RecipientsChangedPayload,
    UpsertAccountPayload,
    UpsertUserPayload,
    enqueue,
)
from sync.validation import NAME_MAX, check_email, check_id, check_new_account_id, check_text

__all__ = ["add_recipient", "recipients", "remove_recipient", "require_account", "upsert_account", "upsert_user"]


def upsert_account(store: Store, account_id: str, name: str) -> Account:
    """Create or rename an account (its Zendesk organization follows)."""
    check_id(account_id, "account_id")
    name = check_text(name, "name", NAME_MAX)
    with store.transaction() as tx:
        if tx.get_account(account_id, for_update=True) is None:
            check_new_account_id(account_id)
        after, before = tx.upsert_account(account_id, name)
        if before is None or before.name != after.name:
            enqueue(
                tx,
                UpsertAccountPayload(account_id=account_id, previous_name=before.name if before else None),
                ordering_key=account_key(account_id),
                account_id=account_id,
            )
    return Account(id=after.id, name=after.name)


def upsert_user(store: Store, account_id: str, user_id: str, email: str, name: str, *, admin: bool = False) -> User:
    """Create or update a user of an account; admins' addresses are on the account's recipient list."""
    check_id(account_id, "account_id")
    check_id(user_id, "user_id")
    email = check_email(email)
    name = check_text(name, "name", NAME_MAX)
    if not isinstance(admin, bool):
        raise InvalidInput("admin must be True or False")
    with store.transaction() as tx:
        require_account(tx, account_id)
        if tx.is_staff_email(email):
            raise InvalidInput(f"email {email!r} belongs to a Zendesk agent: console users cannot be support staff")
        old_list = tx.recipients(account_id)
        after, before = tx.upsert_user(account_id, user_id, email, name, admin)
        new_list = _checked_list(tx, account_id)
        if before is None or (before.email, before.name, before.admin) != (email, name, admin):
            email_changed = before is not None and before.email != email
            enqueue(
                tx,
                UpsertUserPayload(
                    account_id=account_id,
                    user_id=user_id,
                    email=email,
                    previous_email=before.email if before is not None and email_changed else None,
                    created=before is None,
                ),
                ordering_key=user_key(account_id, user_id),
                account_id=account_id,
            )
        _queue_list_change(tx, account_id, old_list, new_list)
    return User(account_id=account_id, id=user_id, email=after.email, name=after.name, admin=after.admin)


def add_recipient(store: Store, account_id: str, email: str) -> list[str]:
    """Register an additional address; returns the account's full recipient list afterwards."""
    check_id(account_id, "account_id")
    email = check_email(email)
    with store.transaction() as tx:
        require_account(tx, account_id)
        old_list = tx.recipients(account_id)
        tx.add_registered_recipient(account_id, email)
        new_list = _checked_list(tx, account_id)
        _queue_list_change(tx, account_id, old_list, new_list)
    return new_list


def remove_recipient(store: Store, account_id: str, email: str) -> list[str]:
    """Unregister an address (not an admin's: demote the admin instead); returns the list afterwards."""
    check_id(account_id, "account_id")
    email = check_email(email)
    with store.transaction() as tx:
        require_account(tx, account_id)
        if any(u.admin and same_email(u.email, email) for u in tx.users(account_id)):
            raise InvalidInput(
                f"{email!r} is an admin user's address: remove it by demoting the admin (upsert_user(..., admin=False))"
            )
        old_list = tx.recipients(account_id)
        tx.remove_registered_recipient(account_id, email)
        new_list = tx.recipients(account_id)
        _queue_list_change(tx, account_id, old_list, new_list)
    return new_list


def recipients(store: Store, account_id: str) -> list[str]:
    """The account's recipient list: admin users' addresses first, then the registered ones."""
    check_id(account_id, "account_id")
    with store.read() as tx:
        return tx.recipients(account_id)


def require_account(tx: StoreTx, account_id: str) -> None:
    """``InvalidInput`` unless the account exists (it is locked for the rest of ``tx``)."""
    if tx.get_account(account_id, for_update=True) is None:
        raise InvalidInput(f"account {account_id!r} does not exist: call upsert_account first")


def _checked_list(tx: StoreTx, account_id: str) -> list[str]:
    found = tx.recipients(account_id)
    try:
        return ensure_within_limit(found, MAX_CCS)
    except TooManyRecipients as exc:
        raise InvalidInput(
            f"the recipient list of account {account_id!r} would have {exc.count} addresses;"
            f" at most {exc.limit} are allowed (Zendesk's CC limit)"
        ) from None


def _queue_list_change(tx: StoreTx, account_id: str, old: list[str], new: list[str]) -> None:
    old_keys, new_keys = {a.lower() for a in old}, {a.lower() for a in new}
    added = [a for a in new if a.lower() not in old_keys]
    removed = [a for a in old if a.lower() not in new_keys]
    if removed or added:
        # Remember what left the list (casesync's on tickets it cannot update now: closed ones); an address
        # back on the list is the list's again.
        former = FORMER_RECIPIENTS.get(tx, account_id) or ()
        kept = [a for a in former if a not in {x.lower() for x in added}]
        kept += [a.lower() for a in removed if a.lower() not in kept]
        if tuple(kept) != former:
            FORMER_RECIPIENTS.put(tx, account_id, tuple(kept))
    if added or removed:
        enqueue(
            tx,
            RecipientsChangedPayload(account_id=account_id, added=tuple(added), removed=tuple(removed)),
            ordering_key=account_key(account_id),
            account_id=account_id,
        )
