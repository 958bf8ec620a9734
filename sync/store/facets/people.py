"""The :class:`PeopleTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from sync.store.types import AccountRecord, UserRecord

__all__ = ["PeopleTx"]


class PeopleTx(ABC):
    """Console accounts, their users, registered recipients and the staff addresses."""

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
