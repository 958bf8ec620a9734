"""The console's writes (``submit``, ``reply``, ``close``) in as few round trips as each backend allows.

A console write is latency-bound: under concurrent calls its cost follows its number of statements (each
one the driver's and SQLAlchemy's work on the interpreter and a wait on the server; docs/benchmarks.md).
So each step here is one statement where the backend can make it one:

* the checks — the acting user, the case (locked until commit), the idempotency key — are one SELECT;
* PostgreSQL opens a case with one statement: the case number drawn by ``nextval`` inside the case's
  INSERT, its search document written from the subject and the first body by the same INSERT, and the
  message inserted by a second data-modifying CTE;
* PostgreSQL adds a reply (message, document, touch, status) and closes a case by one statement that also
  answers with the changed case and its visible messages (the case's CTE ``RETURNING`` joined to them; a
  reply's new message comes from its own CTE, since a statement does not see its CTEs' rows);
* the outbox entry and the idempotency key with its result are one statement on PostgreSQL
  (:mod:`sync.store.sql_idempotency`).

SQLite, which has no data-modifying CTEs, runs the same steps as separate statements; its writers take
turns (``BEGIN IMMEDIATE``), so the checks it read still hold when it writes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    CTE,
    Row,
    Select,
    bindparam,
    false,
    func,
    literal_column,
    select,
    text,
    true,
    union_all,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import TSVECTOR

from mappings.models import Actor, Case, CaseStatus
from sync.store import schema as s
from sync.store._sqlbase import ATTACHMENT_META, touch_values
from sync.store.console_types import IdempotencyRecord, NewFile, WriteContext
from sync.store.search_index import PG_CASES, SIMPLE_CONFIG
from sync.store.sql_entities import EntitiesMixin
from sync.store.sql_messages import ADD_MESSAGE
from sync.store.sql_queues import QueuesMixin
from sync.store.types import AttachmentRecord, CaseRecord, MessageRecord

__all__ = ["ConsoleWritesMixin"]

_c = s.cases.c
_l = s.ticket_links.c
_m = s.messages.c
_a = s.attachments.c
_k = s.idempotency_keys.c
_u = s.users.c

# -- the checks: one SELECT ----------------------------------------------------------------------------

_W_ACCOUNT = bindparam("w_account", type_=_u.account_id.type)
_W_KEY = bindparam("w_key", type_=_k.key.type)
_USER_NAME = (
    select(_u.name)
    .where(_u.account_id == _W_ACCOUNT, _u.user_id == bindparam("w_user", type_=_u.user_id.type))
    .scalar_subquery()
    .label("w_user_name")
)
_KEY_COLUMNS = [
    select(col).where(_k.account_id == _W_ACCOUNT, _k.key == _W_KEY).scalar_subquery().label(f"k_{col.name}")
    for col in (_k.operation, _k.fingerprint, _k.result, _k.created_at)
]
_CONTEXT = select(_USER_NAME, *_KEY_COLUMNS)
_CONTEXT_WITH_CASE = (
    select(s.cases, _l.ticket_id, _USER_NAME, *_KEY_COLUMNS)
    .outerjoin(s.ticket_links, _l.case_id == _c.id)
    .where(_c.id == bindparam("w_case_id", type_=_c.id.type))
)
# PostgreSQL locks the case's row only (the nullable side of an outer join cannot be locked).
_CONTEXT_WITH_CASE_LOCKED = _CONTEXT_WITH_CASE.with_for_update(of=s.cases)

# -- answers: a changed case's row (a CTE's RETURNING) with its visible messages and their files ---------

_CASE_COLUMNS = [c.name for c in s.cases.c]


def _answer(changed: CTE, messages: Any) -> Select[Any]:
    """The rows ``EntitiesMixin.case`` reads, for the case row ``changed`` returns and ``messages``."""
    return (
        select(
            *(changed.c[n] for n in _CASE_COLUMNS),
            _l.ticket_id,
            *(messages.c[c.name].label(f"m_{c.name}") for c in s.messages.c),
            messages.c.is_new.label("m_is_new"),
            *(c.label(f"a_{c.name}") for c in ATTACHMENT_META),
        )
        .select_from(changed)
        .outerjoin(s.ticket_links, _l.case_id == changed.c.id)
        .outerjoin(messages, messages.c.case_id == changed.c.id)
        .outerjoin(s.attachments, _a.message_id == messages.c.id)
        .order_by(messages.c.id, _a.filename)
    )


_B_CASE = bindparam("b_case_id", type_=_c.id.type)
_VISIBLE = select(*s.messages.c, false().label("is_new")).where(_m.case_id == _B_CASE, _m.withdrawn.is_(False))

# Close (and any status change without a message): the UPDATE with its touch, answering with the case.
_PG_SET_STATUS = (
    s.cases.update()
    .where(_c.id == _B_CASE)
    .values(
        status=bindparam("b_status", type_=_c.status.type),
        closed_by=bindparam("b_closed_by", type_=_c.closed_by.type),
        closed_reason=bindparam("b_closed_reason", type_=_c.closed_reason.type),
        **touch_values(s.cases, is_pg=True),
    )
    .returning(*s.cases.c)
    .cte("changed")
)
_PG_CLOSE_ANSWERING = _answer(_PG_SET_STATUS, _VISIBLE.subquery("m"))


def _pg_reply(status: bool) -> Select[Any]:
    """A user's message, its case's document, touch and (``status``) new status, answering with the case."""
    new_message = ADD_MESSAGE.cte("new_message")
    document = PG_CASES.c.search_vector
    changed = (
        PG_CASES.update()
        .where(PG_CASES.c.id == _B_CASE)
        .values(
            search_vector=func.coalesce(document, literal_column("''::tsvector")).op("||")(
                func.to_tsvector(SIMPLE_CONFIG, bindparam("b_body", type_=_m.body.type), type_=TSVECTOR)
            ),
            **touch_values(PG_CASES, is_pg=True),
            **(
                {
                    "status": bindparam("b_status", type_=_c.status.type),
                    "closed_by": None,
                    "closed_reason": None,
                }
                if status
                else {}
            ),
        )
        .returning(*(PG_CASES.c[n] for n in _CASE_COLUMNS))
        .cte("changed")
    )
    messages = union_all(_VISIBLE, select(*new_message.c, true().label("is_new"))).subquery("m")
    return _answer(changed, messages).add_cte(new_message)


_PG_REPLY_ANSWERING = {status: _pg_reply(status) for status in (False, True)}

# -- opening a case --------------------------------------------------------------------------------------

_O_SUBJECT = bindparam("o_subject", type_=_c.subject.type)
_O_NOW = bindparam("o_now", type_=_c.created_at.type)
_O_ACCOUNT = bindparam("o_account", type_=_c.account_id.type)
_PG_NEW_CASE = (
    PG_CASES.insert()
    .values(
        id=literal_column("nextval('case_number_seq')"),
        account_id=_O_ACCOUNT,
        requester_id=bindparam("o_requester", type_=_c.requester_id.type),
        subject=_O_SUBJECT,
        status=CaseStatus.NEW.value,
        refers_to=bindparam("o_refers_to", type_=_c.refers_to.type),
        cc=[],
        created_at=_O_NOW,
        updated_at=_O_NOW,
        revision=literal_column("pg_current_xact_id()::text::bigint"),
        search_vector=func.to_tsvector(SIMPLE_CONFIG, _O_SUBJECT, type_=TSVECTOR).op("||")(
            func.to_tsvector(SIMPLE_CONFIG, bindparam("m_body", type_=_m.body.type), type_=TSVECTOR)
        ),
    )
    .returning(PG_CASES.c.id)
    .cte("new_case")
)
_MESSAGE_COLUMNS = [
    "case_id", "account_id", "author", "author_name", "body", "html", "created_at", "origin",
    "zendesk_comment_id", "withdrawn", "acknowledges_solution", "user_id",
]
_PG_OPEN_CASE = select(
    s.messages.insert()
    .from_select(
        _MESSAGE_COLUMNS,
        select(
            _PG_NEW_CASE.c.id,
            _O_ACCOUNT,
            *(bindparam(f"m_{n}", type_=_m[n].type) for n in _MESSAGE_COLUMNS[2:9]),
            false(),
            false(),
            bindparam("m_user_id", type_=_m.user_id.type),
        ),
    )
    .returning(*s.messages.c)
    .cte("new_message")
)
# SQLite draws the case number and, when the transaction has none yet, its revision (see
# ``TxBase._touch_case``) by one upsert of both counters; ``case_number``'s row is always there.
_SQLITE_NUMBER_AND_REVISION = (
    sqlite.insert(s.counters)
    .values([{"name": "case_number", "value": 1}, {"name": "case_revision", "value": 1}])
    .on_conflict_do_update(index_elements=["name"], set_={"value": s.counters.c.value + 1})
    .returning(s.counters.c.name, s.counters.c.value)
)
_SQLITE_NEW_CASE = s.cases.insert()
_SQLITE_NEW_DOCUMENT = text("INSERT INTO case_search(rowid, subject, body) VALUES (:id, :s, :b)")
_NEW_FILE = s.attachments.insert()

class ConsoleWritesMixin(EntitiesMixin, QueuesMixin):
    """The console API's checks, its three writes and their outbox entry with the idempotency key."""

    def console_write_context(
        self, account_id: str, user_id: str, *, case_id: int | None = None, key: str | None = None
    ) -> WriteContext:
        params = {"w_account": account_id, "w_user": user_id, "w_key": key}
        if case_id is not None:
            q = _CONTEXT_WITH_CASE_LOCKED if self.is_pg and self.writable else _CONTEXT_WITH_CASE
            row = self.conn.execute(q, {**params, "w_case_id": case_id}).first()
            if row is not None:
                return self._write_context(row, account_id, key, self._case(row, row._mapping["ticket_id"]))
        row = self.conn.execute(_CONTEXT, params).first()
        assert row is not None  # a SELECT without FROM: always one row
        return self._write_context(row, account_id, key, None)

    @staticmethod
    def _write_context(row: Row[Any], account_id: str, key: str | None, case: CaseRecord | None) -> WriteContext:
        m = row._mapping
        found = None
        if key is not None and m["k_operation"] is not None:
            found = IdempotencyRecord(
                account_id, key, m["k_operation"], m["k_fingerprint"], m["k_result"], m["k_created_at"]
            )
        return WriteContext(user_name=m["w_user_name"], case=case, key=found)

    def open_case(
        self,
        account_id: str,
        user_id: str,
        author_name: str,
        subject: str,
        body: str,
        *,
        refers_to: int | None = None,
        details: Mapping[str, Any] | None = None,
        files: Sequence[NewFile] = (),
    ) -> Case:
        self._check_writable()
        message_params = self._user_message(author_name, body, user_id)
        if self.is_pg:
            row = self.conn.execute(
                _PG_OPEN_CASE,
                {
                    **message_params,
                    "o_account": account_id,
                    "o_requester": user_id,
                    "o_subject": subject,
                    "o_refers_to": refers_to,
                    "o_now": self.now,
                },
            ).one()
            number = int(row._mapping["case_id"])
        else:
            number = self._sqlite_case_number()
            values = dict(
                id=number, account_id=account_id, requester_id=user_id, subject=subject, status=CaseStatus.NEW.value,
                refers_to=refers_to, cc=[], created_at=self.now, updated_at=self.now, revision=self._revision_value(),
            )
            self.conn.execute(_SQLITE_NEW_CASE, values)
            self.conn.execute(_SQLITE_NEW_DOCUMENT, {"id": number, "s": subject, "b": body})
            params = {**message_params, "m_case_id": number, "m_acknowledges_solution": False}
            row = self.conn.execute(ADD_MESSAGE, params).one()
        self.created_case_ids.add(number)
        message = self._with_files(self._message(row, []), files)
        if details:
            self.set_case_details(number, **details)
            answer = self.case(number)  # the details as stored
            assert answer is not None
            return answer
        # What reading the case back would give, without the round trip: a new case has no link yet.
        record = CaseRecord(
            id=number, account_id=account_id, requester_id=user_id, subject=subject, status=CaseStatus.NEW,
            refers_to=refers_to, merged_into=None, closed_by=None, closed_reason=None, cc=[], ticket_id=None,
            created_at=self.now, updated_at=self.now,
        )
        return self._build([record], {number: [message]})[0]

    def _sqlite_case_number(self) -> int:
        if self._revision is not None:
            return self.next_case_number()
        drawn = {r[0]: int(r[1]) for r in self.conn.execute(_SQLITE_NUMBER_AND_REVISION)}
        self._revision = drawn["case_revision"]
        self.allocated_case_numbers.append(drawn["case_number"])
        return drawn["case_number"]

    def add_reply(
        self,
        case: CaseRecord,
        author_name: str,
        body: str,
        *,
        user_id: str,
        acknowledges_solution: bool,
        status: CaseStatus | None = None,
        files: Sequence[NewFile] = (),
    ) -> tuple[int, Case]:
        self._check_writable()
        if not self.is_pg or files or case.id in self.created_case_ids:
            message = self.add_message(
                case.id, "user", author_name, body, origin="console",
                acknowledges_solution=acknowledges_solution, user_id=user_id,
            )
            self._with_files(message, files)
            if status is not None:
                self.set_case_status(case.id, status)
            answer = self.case(case.id)
            assert answer is not None
            return message.id, answer
        params = {
            "m_case_id": case.id,
            **self._user_message(author_name, body, user_id),
            "m_acknowledges_solution": acknowledges_solution,
            "b_case_id": case.id,
            "b_body": body,
            **self._touch_params(),
            **({"b_status": status.value} if status is not None else {}),
        }
        rows = list(self.conn.execute(_PG_REPLY_ANSWERING[status is not None], params))
        if not rows:
            raise KeyError(f"case {case.id} does not exist")
        new_id = next(r._mapping["m_id"] for r in rows if r._mapping["m_is_new"])
        return int(new_id), self._answer_of(rows)

    def close_case(self, case_id: int, status: CaseStatus, *, closed_by: Actor, reason: str | None) -> Case:
        self._check_writable()
        if not self.is_pg or case_id in self.created_case_ids:
            self.set_case_status(case_id, status, closed_by=closed_by, reason=reason)
            answer = self.case(case_id)
            assert answer is not None
            return answer
        closed = status == CaseStatus.CLOSED
        params = {
            "b_case_id": case_id,
            "b_status": status.value,
            "b_closed_by": closed_by if closed else None,
            "b_closed_reason": reason if closed else None,
            **self._touch_params(),
        }
        rows = list(self.conn.execute(_PG_CLOSE_ANSWERING, params))
        if not rows:
            raise KeyError(f"case {case_id} does not exist")
        return self._answer_of(rows)

    def _user_message(self, author_name: str, body: str, user_id: str) -> dict[str, Any]:
        """The parameters of a console user's new message (``m_…``, as :data:`ADD_MESSAGE` names them)."""
        return {"m_author": "user", "m_author_name": author_name, "m_body": body, "m_html": None,
                "m_created_at": self.now, "m_origin": "console", "m_zendesk_comment_id": None, "m_user_id": user_id}

    def _answer_of(self, rows: list[Row[Any]]) -> Case:
        record = self._case(rows[0], rows[0]._mapping["ticket_id"])
        return self._build([record], {record.id: self._fold_messages(rows, "m_")})[0]

    def _with_files(self, message: MessageRecord, files: Sequence[NewFile]) -> MessageRecord:
        """Attach ``files`` to a message this transaction added (one INSERT for all); the message with them."""
        if not files:
            return message
        records = [
            AttachmentRecord(
                id=uuid.uuid4().hex, message_id=message.id, case_id=message.case_id, filename=name,
                content_type=content_type, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                zendesk_attachment_id=None, inline=False,
            )
            for name, content_type, data in files
        ]
        self.conn.execute(
            _NEW_FILE,
            [
                {"id": r.id, "message_id": r.message_id, "case_id": r.case_id, "filename": r.filename,
                 "content_type": r.content_type, "size": r.size, "sha256": r.sha256, "content": data,
                 "zendesk_attachment_id": None, "inline": False}
                for r, (_, _, data) in zip(records, files, strict=True)
            ],
        )
        # Read back, a case's files come by filename (see EntitiesMixin.case): the answer keeps that order.
        message.attachments.extend(sorted(records, key=lambda r: r.filename))
        return message
