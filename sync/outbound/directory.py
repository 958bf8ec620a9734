"""Accounts and users in Zendesk: organizations, end-users and their memberships.

The link table is the cache: a known account or user costs no request.  Zendesk has one user per email,
so (account, console user) pairs map onto shared end-users, each a member of every account's
organization it belongs to.  A console user whose address belongs to a Zendesk agent or admin is never
written as that agent: the address is remembered as staff and the change is undeliverable.
"""

from __future__ import annotations

from mappings.external_ids import account_external_id
from mappings.inbound import STAFF_ROLES
from mappings.zendesk import ZUser
from sync.errors import MappingError
from sync.gateway import ZendeskGateway
from sync.outbound.outcomes import Undeliverable
from sync.store import Store, StoreTx
from sync.store.kv_keys import AGENT_ID
from sync.store.types import UserRecord

__all__ = ["AGENT_EMAIL_REASON", "Directory"]

#: The dead-letter reason of a console user whose address is a Zendesk agent's (docs/design.md §3 Entities).
AGENT_EMAIL_REASON = "agent email"


class Directory:
    """Finds or creates the Zendesk side of accounts and users, recording the links in the store."""

    def __init__(self, store: Store, gateway: ZendeskGateway) -> None:
        self.store = store
        self.gateway = gateway
        # Agent ids by lower-cased address, as stored: a Zendesk user's id never changes and the store's
        # entry is written once, so what was read once is read again from here.
        self._agent_ids: dict[str, int] = {}

    def organization(self, account_id: str, *, refresh: bool = False) -> int:
        """The account's organization id, created (or renamed, with ``refresh``) through create_or_update."""
        with self.store.read() as tx:
            account = tx.get_account(account_id)
        if account is None:
            raise MappingError(f"account {account_id!r} is not in the store")
        if account.zendesk_org_id is not None and not refresh:
            return account.zendesk_org_id
        org = self.gateway.upsert_organization(account_external_id(account_id), account.name)
        with self.store.transaction() as tx:
            tx.set_account_org(account_id, org.id)
        return org.id

    @staticmethod
    def linked_end_user(tx: StoreTx, account_id: str, user_id: str) -> tuple[UserRecord, int] | None:
        """The user and its Zendesk id when already linked (read within the caller's transaction), else None.

        Raises :class:`Undeliverable` for an address known as staff, like :meth:`end_user`.
        """
        user = tx.get_user(account_id, user_id)
        if user is None or user.zendesk_user_id is None:
            return None
        if tx.is_staff_email(user.email):
            raise Undeliverable(f"{AGENT_EMAIL_REASON}: {user.email} belongs to a Zendesk agent")
        return user, user.zendesk_user_id

    def end_user(self, account_id: str, user_id: str, *, refresh: bool = False) -> tuple[UserRecord, int]:
        """The console user and the id of its Zendesk end-user, a member of the account's organization."""
        with self.store.read() as tx:
            user = tx.get_user(account_id, user_id)
            staff = user is not None and tx.is_staff_email(user.email)
        if user is None:
            raise MappingError(f"user {user_id!r} of account {account_id!r} is not in the store")
        if staff:
            raise Undeliverable(f"{AGENT_EMAIL_REASON}: {user.email} belongs to a Zendesk agent")
        if user.zendesk_user_id is not None and not refresh:
            return user, user.zendesk_user_id
        org_id = self.organization(account_id)
        # The gateway looks the address up first, leaves agents untouched and adds existing end-users to
        # this organization as a further membership.
        found = self.gateway.upsert_end_user(user.email, user.name, org_id)
        self._refuse_staff(found, user.email)
        with self.store.transaction() as tx:
            tx.link_user(account_id, user_id, found.id)
        return user, found.id

    def writer(self, account_id: str, user_id: str) -> tuple[UserRecord, int]:
        """The user who wrote a message and their Zendesk end-user: found or created as for a requester."""
        with self.store.read() as tx:
            linked = self.linked_end_user(tx, account_id, user_id)
        return linked or self.end_user(account_id, user_id)

    def change_email(self, account_id: str, user_id: str, old_email: str) -> int:
        """Move the user's Zendesk identity to its new address (add, make primary, remove the old one)."""
        with self.store.read() as tx:
            user = tx.get_user(account_id, user_id)
        if user is None:
            raise MappingError(f"user {user_id!r} of account {account_id!r} is not in the store")
        if user.zendesk_user_id is None:
            # Never written to Zendesk under the old address: creating it under the new one is enough.
            return self.end_user(account_id, user_id)[1]
        self.gateway.change_user_email(user.zendesk_user_id, old_email, user.email)
        return user.zendesk_user_id

    def known_agent_id(self, tx: StoreTx, email: str) -> int | None:
        """The agent id cached for this address (read within the caller's transaction), else None."""
        found = self._agent_ids.get(email.lower())
        if found is None:
            found = AGENT_ID.get(tx, email)
            if found is not None:
                self._agent_ids[email.lower()] = found
        return found

    def agent_id(self, email: str) -> int | None:
        """The id of the agent with this address (the default assignee), cached in the store."""
        cached = self._agent_ids.get(email.lower())
        if cached is not None:
            return cached
        with self.store.read() as tx:
            cached = self.known_agent_id(tx, email)
        if cached is not None:
            return cached
        found = self.gateway.find_user_by_email(email)
        if found is None or found.role not in STAFF_ROLES:
            return None
        with self.store.transaction() as tx:
            AGENT_ID.put(tx, email, found.id)
        self._agent_ids[email.lower()] = found.id
        return found.id

    def _refuse_staff(self, found: ZUser, email: str) -> None:
        if found.role in STAFF_ROLES:
            with self.store.transaction() as tx:
                tx.add_staff_email(email, found.id)
            raise Undeliverable(f"{AGENT_EMAIL_REASON}: {email} belongs to a Zendesk {found.role}")
