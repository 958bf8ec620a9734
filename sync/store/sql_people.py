"""SQL implementation of the store's people: accounts, users, registered recipients and known staff emails."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, func, select

from mappings.recipients import account_recipients
from sync.store import schema as s
from sync.store._sqlbase import TxBase, email_key
from sync.store.types import AccountRecord, UserRecord

__all__ = ["PeopleMixin"]

# Read for every delivery: built once with bound parameters (see sql_entities).
_ACCOUNT_BY_ID = select(s.accounts).where(s.accounts.c.id == bindparam("account_id"))
_ACCOUNT_BY_ID_LOCKED = _ACCOUNT_BY_ID.with_for_update()
_USER_BY_ID = select(s.users).where(
    s.users.c.account_id == bindparam("account_id"), s.users.c.user_id == bindparam("user_id")
)
_USERS_OF_ACCOUNT = (
    select(s.users)
    .where(s.users.c.account_id == bindparam("account_id"))
    .order_by(s.users.c.created_at, s.users.c.user_id)
)
_REGISTERED_RECIPIENTS = (
    select(s.recipients.c.email)
    .where(s.recipients.c.account_id == bindparam("account_id"))
    .order_by(s.recipients.c.position, s.recipients.c.email_key)
)
_STAFF_EMAIL = select(s.staff_emails.c.email).where(s.staff_emails.c.email_key == bindparam("email_key"))


class PeopleMixin(TxBase):
    # -- accounts ----------------------------------------------------------------------------------

    def get_account(self, account_id: str, *, for_update: bool = False) -> AccountRecord | None:
        q = _ACCOUNT_BY_ID_LOCKED if for_update and self.is_pg else _ACCOUNT_BY_ID
        row = self.conn.execute(q, {"account_id": account_id}).first()
        return self._account(row) if row else None

    def upsert_account(self, account_id: str, name: str) -> tuple[AccountRecord, AccountRecord | None]:
        self._check_writable()
        before = self.get_account(account_id, for_update=True)
        if before is None:
            ins = self._insert(s.accounts).values(id=account_id, name=name, created_at=self.now, updated_at=self.now)
            stmt = ins.on_conflict_do_nothing(index_elements=["id"]).returning(s.accounts.c.id)
            if self.conn.execute(stmt).first() is not None:
                created = self.get_account(account_id)
                assert created is not None
                return created, None
            # Another transaction created it in the meantime: treat this call as an update.
            before = self.get_account(account_id, for_update=True)
            assert before is not None
        if before.name != name:
            self.conn.execute(
                s.accounts.update().where(s.accounts.c.id == account_id).values(name=name, updated_at=self.now)
            )
        after = self.get_account(account_id)
        assert after is not None
        return after, before

    def set_account_org(self, account_id: str, zendesk_org_id: int) -> None:
        self._check_writable()
        self.conn.execute(
            s.accounts.update().where(s.accounts.c.id == account_id).values(zendesk_org_id=zendesk_org_id)
        )

    # -- users -------------------------------------------------------------------------------------

    def get_user(self, account_id: str, user_id: str) -> UserRecord | None:
        memo_key = ("user", account_id, user_id)
        if self.read_memo is not None and memo_key in self.read_memo:
            found: UserRecord | None = self.read_memo[memo_key]
            return found
        row = self.conn.execute(_USER_BY_ID, {"account_id": account_id, "user_id": user_id}).first()
        user = self._user(row) if row else None
        if self.read_memo is not None:
            self.read_memo[memo_key] = user
        return user

    def users(self, account_id: str) -> list[UserRecord]:
        return [self._user(r) for r in self.conn.execute(_USERS_OF_ACCOUNT, {"account_id": account_id})]

    def users_by_email(self, email: str) -> list[UserRecord]:
        u = s.users.c
        rows = self.conn.execute(
            select(s.users).where(u.email_key == email_key(email)).order_by(u.account_id, u.user_id)
        )
        return [self._user(r) for r in rows]

    def users_by_zendesk_id(self, zendesk_user_id: int) -> list[UserRecord]:
        u = s.users.c
        rows = self.conn.execute(
            select(s.users).where(u.zendesk_user_id == zendesk_user_id).order_by(u.account_id, u.user_id)
        )
        return [self._user(r) for r in rows]

    def upsert_user(
        self, account_id: str, user_id: str, email: str, name: str, admin: bool
    ) -> tuple[UserRecord, UserRecord | None]:
        self._check_writable()
        before = self.get_user(account_id, user_id)
        values: dict[str, Any] = dict(email=email, email_key=email_key(email), name=name, admin=admin)
        if before is None:
            self.conn.execute(
                s.users.insert().values(
                    account_id=account_id,
                    user_id=user_id,
                    created_at=self.now,
                    updated_at=self.now,
                    **values,
                )
            )
        elif (before.email, before.name, before.admin) != (email, name, admin):
            u = s.users.c
            self.conn.execute(
                s.users.update()
                .where(u.account_id == account_id, u.user_id == user_id)
                .values(updated_at=self.now, **values)
            )
        after = self.get_user(account_id, user_id)
        assert after is not None
        return after, before

    def link_user(self, account_id: str, user_id: str, zendesk_user_id: int) -> None:
        self._check_writable()
        u = s.users.c
        self.conn.execute(
            s.users.update()
            .where(u.account_id == account_id, u.user_id == user_id)
            .values(zendesk_user_id=zendesk_user_id)
        )

    # -- recipients and staff ----------------------------------------------------------------------

    def registered_recipients(self, account_id: str) -> list[str]:
        return [row[0] for row in self.conn.execute(_REGISTERED_RECIPIENTS, {"account_id": account_id})]

    def add_registered_recipient(self, account_id: str, email: str) -> bool:
        self._check_writable()
        r = s.recipients.c
        top = self.conn.execute(select(func.max(r.position)).where(r.account_id == account_id)).scalar()
        ins = self._insert(s.recipients).values(
            account_id=account_id,
            email_key=email_key(email),
            email=email.strip(),
            position=(top or 0) + 1,
            created_at=self.now,
        )
        stmt = ins.on_conflict_do_nothing(index_elements=["account_id", "email_key"]).returning(s.recipients.c.email)
        return self.conn.execute(stmt).first() is not None

    def remove_registered_recipient(self, account_id: str, email: str) -> bool:
        self._check_writable()
        r = s.recipients.c
        res = self.conn.execute(
            s.recipients.delete().where(r.account_id == account_id, r.email_key == email_key(email))
        )
        return bool(res.rowcount)

    def recipients(self, account_id: str) -> list[str]:
        admins = [u.email for u in self.users(account_id) if u.admin]
        return account_recipients(admins, self.registered_recipients(account_id))

    def is_staff_email(self, email: str) -> bool:
        memo_key = ("staff_email", email_key(email))
        if self.read_memo is not None and memo_key in self.read_memo:
            return bool(self.read_memo[memo_key])
        staff = self.conn.execute(_STAFF_EMAIL, {"email_key": memo_key[1]}).first() is not None
        if self.read_memo is not None:
            self.read_memo[memo_key] = staff
        return staff

    def add_staff_email(self, email: str, zendesk_user_id: int | None = None) -> None:
        self._check_writable()
        ins = self._insert(s.staff_emails).values(
            email_key=email_key(email), email=email, zendesk_user_id=zendesk_user_id, noted_at=self.now
        )
        self.conn.execute(
            ins.on_conflict_do_update(
                index_elements=["email_key"], set_={"zendesk_user_id": zendesk_user_id, "noted_at": self.now}
            )
        )
