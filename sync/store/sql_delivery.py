"""SQL implementation of the outbox worker's bulk reads and writes (:class:`sync.store.facets.DeliveryTx`).

Each runs once per delivery or once per completed batch, so each is one statement built once with bound
parameters; a batch's writes go out as one ``executemany``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Integer, and_, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from sync.store import schema as s
from sync.store._sqlbase import ATTACHMENT_META, email_key
from sync.store.facets.delivery import UserDependencies
from sync.store.sql_entities import EntitiesMixin
from sync.store.sql_messages import _SET_MESSAGE_COMMENT
from sync.store.sql_queues import _COMPLETE_LEASED
from sync.store.sql_state import _KV_SET
from sync.store.types import CaseRecord, MessageRecord, OutboxEntry

__all__ = ["DeliveryMixin"]

_u = s.users.c
_o = s.outbox.c
_UNDELIVERED = ("dead", "pending")
# The user's row, whether its address is staff's, and one row per earlier undelivered entry of its key
# (the outbox's columns labelled ``o_...``; NULL when there is none).
_USER_DEPENDENCIES = (
    select(
        s.users,
        select(s.staff_emails.c.email_key).where(s.staff_emails.c.email_key == _u.email_key).exists().label(
            "d_staff"
        ),
        *(c.label(f"o_{c.name}") for c in s.outbox.c),
    )
    .select_from(s.users)
    .outerjoin(
        s.outbox,
        and_(
            _o.ordering_key == bindparam("b_key"),
            _o.id < bindparam("b_before", type_=Integer),
            _o.status.in_(_UNDELIVERED),
        ),
    )
    .where(_u.account_id == bindparam("b_account"), _u.user_id == bindparam("b_user"))
    .order_by(_o.id)
)
_LINK = {
    pg: (postgresql.insert if pg else sqlite.insert)(s.ticket_links)
    .values(case_id=bindparam("b_case_id"), ticket_id=bindparam("b_ticket_id"), linked_at=bindparam("b_now"))
    .on_conflict_do_nothing()
    .returning(s.ticket_links.c.case_id)
    for pg in (False, True)
}
_m = s.messages.c
_a = s.attachments.c
_l = s.ticket_links.c
# A case (with its ticket) and one message with its attachments' metadata, labelled ``m_...`` and ``a_...``.
_CASE_AND_MESSAGE = (
    select(
        s.cases,
        _l.ticket_id,
        *(c.label(f"m_{c.name}") for c in s.messages.c),
        *(c.label(f"a_{c.name}") for c in ATTACHMENT_META),
    )
    .select_from(s.cases)
    .outerjoin(s.ticket_links, _l.case_id == s.cases.c.id)
    .outerjoin(s.messages, _m.id == bindparam("b_message_id"))
    .outerjoin(s.attachments, _a.message_id == _m.id)
    .where(s.cases.c.id == bindparam("b_case_id"))
    .order_by(_a.filename)
)
_KV_MANY = select(s.kv.c.key, s.kv.c.value).where(s.kv.c.key.in_(bindparam("b_keys", expanding=True)))


class DeliveryMixin(EntitiesMixin):
    def user_dependencies(
        self, account_id: str, user_id: str, *, ordering_key: str, before_id: int
    ) -> UserDependencies:
        params = {"b_account": account_id, "b_user": user_id, "b_key": ordering_key, "b_before": before_id}
        rows = self.conn.execute(_USER_DEPENDENCIES, params).all()
        if not rows:
            # No such user: its key's entries still count (the listings the join could not carry).
            earlier = [
                e
                for status in _UNDELIVERED
                for e in self.outbox_entries(ordering_key=ordering_key, status=status, limit=100)
                if e.id < before_id
            ]
            return None, False, sorted(earlier, key=lambda e: e.id)
        user = self._user(rows[0])
        staff = bool(rows[0]._mapping["d_staff"])
        if self.read_memo is not None:
            # What get_user and is_staff_email would read again in this snapshot.
            self.read_memo[("user", account_id, user_id)] = user
            self.read_memo[("staff_email", email_key(user.email))] = staff
        return user, staff, [self._outbox(r, "o_") for r in rows if r._mapping["o_id"] is not None]

    def case_and_message(self, case_id: int, message_id: int) -> tuple[CaseRecord | None, MessageRecord | None]:
        rows = self.conn.execute(_CASE_AND_MESSAGE, {"b_case_id": case_id, "b_message_id": message_id}).all()
        if not rows:
            return None, None
        case = self._case(rows[0], rows[0]._mapping["ticket_id"])
        if self.read_memo is not None:
            self.read_memo[("case", case_id)] = replace(case, cc=list(case.cc), fields=dict(case.fields))
        messages = self._fold_messages(rows, "m_")
        return case, messages[0] if messages else None

    def link_created_ticket(self, case_id: int, ticket_id: int, cc: list[str]) -> None:
        self._check_writable()
        params = {"b_case_id": case_id, "b_ticket_id": ticket_id, "b_now": self.now}
        if self.conn.execute(_LINK[self.is_pg], params).first() is None:
            # Linked already (a lost completion), or a conflicting link: the checks of the single calls.
            self.link_ticket(case_id, ticket_id)
            self.set_case_cc(case_id, cc)
            return
        # The link changed what the case shows: the CCs and the touch in the case's one UPDATE.
        self._update_case(case_id, cc=list(cc))

    def complete_all(self, entries: Iterable[OutboxEntry]) -> None:
        leased = []
        for entry in entries:
            if entry.lease_owner is None:
                self.complete(entry)
            else:
                leased.append({"b_id": entry.id, "b_owner": entry.lease_owner, "b_now": self.now})
        if leased:
            self._check_writable()
            self.conn.execute(_COMPLETE_LEASED, leased)

    def set_message_comments(self, comments: Mapping[int, int]) -> None:
        if comments:
            self._check_writable()
            params = [{"b_message_id": m, "b_comment_id": c} for m, c in comments.items()]
            self.conn.execute(_SET_MESSAGE_COMMENT, params)

    def kv_get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        return {row[0]: row[1] for row in self.conn.execute(_KV_MANY, {"b_keys": wanted}) if row[1] is not None}

    def kv_set_many(self, values: Mapping[str, Any]) -> None:
        if values:
            self._check_writable()
            params = [{"key": k, "value": v, "updated_at": self.now} for k, v in values.items()]
            self.conn.execute(_KV_SET[self.conn.dialect.name], params)
