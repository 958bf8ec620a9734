"""Shared plumbing of the SQL transaction classes: the connection, the dialect and row conversion."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, Insert, Row, Table, bindparam, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite

from mappings.models import CaseStatus
from sync.store import schema as s
from sync.store.base import StoreTx
from sync.store.types import (
    AccountRecord,
    AttachmentRecord,
    CaseRecord,
    InboxEntry,
    MessageRecord,
    OutboxEntry,
    UserRecord,
)

__all__ = ["ATTACHMENT_META", "TxBase", "email_key", "touch_values"]

#: Attachment columns without the content, so listing a case never loads its files.
ATTACHMENT_META = [c for c in s.attachments.c if c.name != "content"]


_PG_REVISION: ColumnElement[Any] = literal_column("pg_current_xact_id()::text::bigint")


def touch_values(table: Table, *, is_pg: bool) -> dict[str, Any]:
    """The columns a touch writes (see ``TxBase._touch_case``), for an UPDATE of ``table``'s case rows.

    Built once per statement with bound parameters (``touch_now``, and on SQLite ``touch_revision``),
    so a write that touches its case costs no statement building; ``TxBase._touch_params`` fills them.
    """
    now = bindparam("touch_now", type_=s.UtcDateTime)
    return {
        "updated_at": (func.greatest if is_pg else func.max)(table.c.updated_at, now, type_=s.UtcDateTime),
        "revision": _PG_REVISION if is_pg else bindparam("touch_revision", type_=BigInteger),
    }


_TOUCH = {
    pg: s.cases.update()
    .where(s.cases.c.id.in_(bindparam("touch_ids", expanding=True)))
    .values(**touch_values(s.cases, is_pg=pg))
    for pg in (False, True)
}
_NEXT_SQLITE_REVISION = (
    sqlite.insert(s.counters)
    .values(name="case_revision", value=1)
    .on_conflict_do_update(index_elements=["name"], set_={"value": s.counters.c.value + 1})
    .returning(s.counters.c.value)
)


def email_key(email: str) -> str:
    """Addresses compare case-insensitively everywhere (Zendesk treats them so)."""
    return email.strip().lower()


class TxBase(StoreTx):
    """What every SQL mixin needs: the open connection, the backend's name, the transaction's time."""

    def __init__(self, conn: Connection, now: Any, *, writable: bool) -> None:
        self.conn = conn
        self.now = now
        self.writable = writable
        self.is_pg = conn.dialect.name == "postgresql"
        #: Case numbers taken by this transaction (SQLite burns them if it fails; see SqlStore).
        self.allocated_case_numbers: list[int] = []
        self._revision: int | None = None
        #: Whether this transaction appended to the change feed (waiters are woken after it commits).
        self.feed_appended = False
        #: Cases created by this transaction: their row already carries its time and revision.
        self.created_case_ids: set[int] = set()
        #: A read-only transaction reads one snapshot (SQLite's read transaction, PostgreSQL's REPEATABLE
        #: READ), so a row it read once reads the same again: the hot lookups of a delivery, which its
        #: checks and its request both make, are answered from here.  None in a write transaction.
        self.read_memo: dict[tuple[Any, ...], Any] | None = None if writable else {}

    def _touch_case(self, *case_ids: int) -> None:
        """Record that the console's view of these cases changed in this transaction.

        The one place that moves ``updated_at`` (never backwards) and ``revision``: every write of
        something ``Case`` shows (a message, status, CCs, links, references...) calls it, or writes
        :meth:`_touch_values` in its own UPDATE of the case's row.  ``revision`` orders writes for browse's
        snapshot bound (see :mod:`sync.store.sql_browse`): on SQLite, whose writers take turns, a counter;
        on PostgreSQL, the writing transaction's id, which a reader tests against the snapshot of its
        first page.  A case this transaction created already holds both values, so it is not written again.
        """
        case_ids = tuple(c for c in case_ids if c not in self.created_case_ids)
        if not case_ids:
            return
        self.conn.execute(_TOUCH[self.is_pg], {"touch_ids": list(case_ids), **self._touch_params()})

    def _touch_params(self) -> dict[str, Any]:
        """The parameters of :func:`touch_values` for this transaction."""
        if self.is_pg:
            return {"touch_now": self.now}
        return {"touch_now": self.now, "touch_revision": self._revision_value()}

    def _revision_value(self) -> Any:
        """This transaction's revision (see :meth:`_touch_case`), as a value or SQL expression to write."""
        if self.is_pg:
            return _PG_REVISION  # evaluated by the write: no round trip
        if self._revision is None:
            self._revision = int(self.conn.execute(_NEXT_SQLITE_REVISION).scalar_one())
        return self._revision

    def _insert(self, table: Table) -> Any:
        """A dialect insert, so ``on_conflict_do_nothing/update`` is available on both backends."""
        ins: Insert = postgresql.insert(table) if self.is_pg else sqlite.insert(table)
        return ins

    def _check_writable(self) -> None:
        if not self.writable:
            raise RuntimeError("write attempted in a read-only store transaction")

    # -- row conversion ----------------------------------------------------------------------------

    @staticmethod
    def _account(row: Row[Any]) -> AccountRecord:
        m = row._mapping
        return AccountRecord(m["id"], m["name"], m["zendesk_org_id"], m["created_at"], m["updated_at"])

    @staticmethod
    def _user(row: Row[Any]) -> UserRecord:
        m = row._mapping
        return UserRecord(
            m["account_id"],
            m["user_id"],
            m["email"],
            m["name"],
            bool(m["admin"]),
            m["zendesk_user_id"],
            m["created_at"],
            m["updated_at"],
        )

    @staticmethod
    def _case(row: Row[Any], ticket_id: int | None) -> CaseRecord:
        m = row._mapping
        return CaseRecord(
            id=m["id"],
            account_id=m["account_id"],
            requester_id=m["requester_id"],
            subject=m["subject"],
            status=CaseStatus(m["status"]),
            refers_to=m["refers_to"],
            merged_into=m["merged_into"],
            closed_by=m["closed_by"],
            closed_reason=m["closed_reason"],
            cc=list(m["cc"] or []),
            ticket_id=ticket_id,
            created_at=m["created_at"],
            updated_at=m["updated_at"],
            priority=m["priority"],
            status_label=m["status_label"],
            fields=dict(m["fields"] or {}),
        )

    @staticmethod
    def _attachment(row: Row[Any], prefix: str = "") -> AttachmentRecord:
        """``prefix``: the attachment's columns are labelled so in a joined row (``a_id``...)."""
        m = row._mapping
        p = prefix
        return AttachmentRecord(
            m[p + "id"],
            m[p + "message_id"],
            m[p + "case_id"],
            m[p + "filename"],
            m[p + "content_type"],
            m[p + "size"],
            m[p + "sha256"],
            m[p + "zendesk_attachment_id"],
            bool(m[p + "inline"]),
        )

    @staticmethod
    def _message(row: Row[Any], files: list[AttachmentRecord], prefix: str = "") -> MessageRecord:
        """``prefix``: the message's columns are labelled so in a joined row (``m_id``...)."""
        m = row._mapping
        p = prefix
        return MessageRecord(
            id=m[p + "id"],
            case_id=m[p + "case_id"],
            account_id=m[p + "account_id"],
            author=m[p + "author"],
            author_name=m[p + "author_name"],
            body=m[p + "body"],
            created_at=m[p + "created_at"],
            origin=m[p + "origin"],
            zendesk_comment_id=m[p + "zendesk_comment_id"],
            withdrawn=bool(m[p + "withdrawn"]),
            acknowledges_solution=bool(m[p + "acknowledges_solution"]),
            attachments=files,
            html=m[p + "html"],
            user_id=m[p + "user_id"],
        )

    @staticmethod
    def _outbox(row: Row[Any], prefix: str = "") -> OutboxEntry:
        """An outbox row; ``prefix``: its columns' label prefix in a joined select (``o_`` …)."""
        m = row._mapping
        p = prefix
        return OutboxEntry(
            id=m[p + "id"],
            ordering_key=m[p + "ordering_key"],
            kind=m[p + "kind"],
            payload=dict(m[p + "payload"]),
            account_id=m[p + "account_id"],
            case_id=m[p + "case_id"],
            status=m[p + "status"],
            attempts=m[p + "attempts"],
            next_attempt_at=m[p + "next_attempt_at"],
            first_attempt_at=m[p + "first_attempt_at"],
            last_error=m[p + "last_error"],
            lease_owner=m[p + "lease_owner"],
            lease_until=m[p + "lease_until"],
            created_at=m[p + "created_at"],
            delivered_at=m[p + "delivered_at"],
        )

    @staticmethod
    def _inbox(row: Row[Any], covers: tuple[int, ...] = ()) -> InboxEntry:
        m = row._mapping
        return InboxEntry(
            id=m["id"],
            ticket_id=m["ticket_id"],
            source=m["source"],
            dedupe_key=m["dedupe_key"],
            payload=dict(m["payload"]),
            status=m["status"],
            attempts=m["attempts"],
            next_attempt_at=m["next_attempt_at"],
            last_error=m["last_error"],
            lease_owner=m["lease_owner"],
            lease_until=m["lease_until"],
            created_at=m["created_at"],
            covers=covers,
        )
