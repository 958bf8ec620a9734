"""SQL implementation of the store's messages and their attachments."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, false, select

from mappings.models import Author
from sync.store import schema as s
from sync.store._sqlbase import ATTACHMENT_META, TxBase
from sync.store.search_index import append_to_document, reindex_case, with_document_append
from sync.store.types import (
    AttachmentRecord,
    MessageRecord,
    Origin,
)

__all__ = ["ADD_MESSAGE", "MessagesMixin"]

_m = s.messages.c
#: A message inserted from its case's row (``m_...`` parameters), returning the new row.
ADD_MESSAGE = (
    s.messages.insert()
    .from_select(
        [
            "case_id", "account_id", "author", "author_name", "body", "html", "created_at", "origin",
            "zendesk_comment_id", "withdrawn", "acknowledges_solution", "user_id",
        ],
        select(
            s.cases.c.id,
            s.cases.c.account_id,
            bindparam("m_author", type_=_m.author.type),
            bindparam("m_author_name", type_=_m.author_name.type),
            bindparam("m_body", type_=_m.body.type),
            bindparam("m_html", type_=_m.html.type),
            bindparam("m_created_at", type_=_m.created_at.type),
            bindparam("m_origin", type_=_m.origin.type),
            bindparam("m_zendesk_comment_id", type_=_m.zendesk_comment_id.type),
            false(),
            bindparam("m_acknowledges_solution", type_=_m.acknowledges_solution.type),
            bindparam("m_user_id", type_=_m.user_id.type),
        ).where(s.cases.c.id == bindparam("m_case_id", type_=s.cases.c.id.type)),
    )
    .returning(*s.messages.c)
)

_PG_ADD_MESSAGE = with_document_append(ADD_MESSAGE)

# A case's messages and their attachments' metadata in one round trip (a message without files: one row
# with NULL attachment columns).
_MESSAGES_WITH_FILES = (
    select(s.messages, *(c.label(f"a_{c.name}") for c in ATTACHMENT_META))
    .outerjoin(s.attachments, s.attachments.c.message_id == _m.id)
    .where(_m.case_id.in_(bindparam("case_ids", expanding=True)))
    .order_by(_m.id, s.attachments.c.filename)
)
_VISIBLE_MESSAGES_WITH_FILES = _MESSAGES_WITH_FILES.where(_m.withdrawn.is_(False))
_MESSAGE_WITH_FILES = (
    select(s.messages, *(c.label(f"a_{c.name}") for c in ATTACHMENT_META))
    .outerjoin(s.attachments, s.attachments.c.message_id == _m.id)
    .where(_m.id == bindparam("message_id"))
    .order_by(s.attachments.c.filename)
)

# Run for every delivery: built once with bound parameters (see sql_entities).
_FILES_OF_MESSAGE = (
    select(*ATTACHMENT_META)
    .where(s.attachments.c.message_id == bindparam("message_id"))
    .order_by(s.attachments.c.filename)
)
_SET_MESSAGE_COMMENT = (
    s.messages.update()
    .where(s.messages.c.id == bindparam("b_message_id"))
    .values(zendesk_comment_id=bindparam("b_comment_id"))
)


class MessagesMixin(TxBase):
    """Adding, reading, withdrawing, moving and attaching to messages."""

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
        self._check_writable()
        if zendesk_comment_id is not None:
            known = self.message_by_comment(zendesk_comment_id)
            if known is not None:
                return known
        # Named m_...: no parameter may share a column's name, or an UPDATE in the same statement takes it.
        values = {
            "m_case_id": case_id,
            "m_author": author,
            "m_author_name": author_name,
            "m_body": body,
            "m_html": html,
            "m_created_at": created_at or self.now,
            "m_origin": origin,
            "m_zendesk_comment_id": zendesk_comment_id,
            "m_acknowledges_solution": acknowledges_solution,
            "m_user_id": user_id,
        }
        # The case's account is read by the INSERT itself, and the new row comes back from it.
        touch = None if case_id in self.created_case_ids else self._touch_params()
        if self.is_pg:
            # The search document (and the touch) in the same statement: one round trip.
            params = {**values, "b_case_id": case_id, "b_body": body, **(touch or {})}
            row = self.conn.execute(_PG_ADD_MESSAGE[touch is not None], params).first()
            if row is None:
                raise KeyError(f"case {case_id} does not exist")
            return self._message(row, [])
        row = self.conn.execute(ADD_MESSAGE, values).first()
        if row is None:
            raise KeyError(f"case {case_id} does not exist")
        append_to_document(self.conn, case_id, body)
        if touch is not None:
            self._touch_case(case_id)
        return self._message(row, [])  # a new message has no attachments yet

    def _messages_of(self, case_ids: list[int], *, include_withdrawn: bool) -> list[MessageRecord]:
        """The cases' messages by id, each with its attachments by filename, read by one query."""
        rows = self.conn.execute(
            _MESSAGES_WITH_FILES if include_withdrawn else _VISIBLE_MESSAGES_WITH_FILES, {"case_ids": case_ids}
        )
        return self._fold_messages(rows, "")

    def _fold_messages(self, rows: Iterable[Row[Any]], prefix: str) -> list[MessageRecord]:
        """Messages from rows of messages outer-joined to attachments (labelled ``a_...``), ordered by message.

        ``prefix``: how the message's columns are labelled; a row whose message id is NULL holds none.
        """
        out: list[MessageRecord] = []
        last_id: int | None = None
        for r in rows:
            m = r._mapping
            if m[prefix + "id"] is None:
                continue
            if m[prefix + "id"] != last_id:
                last_id = m[prefix + "id"]
                out.append(self._message(r, [], prefix))
            if m["a_id"] is not None:
                out[-1].attachments.append(self._attachment(r, "a_"))
        return out

    def case_messages(self, case_id: int, *, include_withdrawn: bool = False) -> list[MessageRecord]:
        return self._messages_of([case_id], include_withdrawn=include_withdrawn)

    def _message_with_files(self, row: Any) -> MessageRecord | None:
        if row is None:
            return None
        files = self.conn.execute(_FILES_OF_MESSAGE, {"message_id": row._mapping["id"]})
        return self._message(row, [self._attachment(r) for r in files])

    def message(self, message_id: int) -> MessageRecord | None:
        found = self._fold_messages(self.conn.execute(_MESSAGE_WITH_FILES, {"message_id": message_id}), "")
        return found[0] if found else None

    def message_by_comment(self, zendesk_comment_id: int) -> MessageRecord | None:
        q = select(s.messages).where(s.messages.c.zendesk_comment_id == zendesk_comment_id)
        return self._message_with_files(self.conn.execute(q).first())

    def set_message_comment(self, message_id: int, zendesk_comment_id: int) -> None:
        self._check_writable()
        self.conn.execute(_SET_MESSAGE_COMMENT, {"b_message_id": message_id, "b_comment_id": zendesk_comment_id})

    def withdraw_message(self, message_id: int) -> None:
        self._check_writable()
        case_id = self.conn.execute(select(s.messages.c.case_id).where(s.messages.c.id == message_id)).scalar()
        self.conn.execute(s.messages.update().where(s.messages.c.id == message_id).values(withdrawn=True))
        if case_id is not None:
            reindex_case(self.conn, case_id)
            self._touch_case(case_id)

    def move_message(self, message_id: int, case_id: int) -> None:
        self._check_writable()
        before = self.conn.execute(select(s.messages.c.case_id).where(s.messages.c.id == message_id)).scalar()
        self.conn.execute(s.messages.update().where(s.messages.c.id == message_id).values(case_id=case_id))
        self.conn.execute(
            s.attachments.update().where(s.attachments.c.message_id == message_id).values(case_id=case_id)
        )
        for touched in {case_id, before} - {None}:
            assert touched is not None
            reindex_case(self.conn, touched)
            self._touch_case(touched)

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
        self._check_writable()
        msg = self.conn.execute(select(s.messages.c.case_id).where(s.messages.c.id == message_id)).first()
        if msg is None:
            raise KeyError(f"message {message_id} does not exist")
        record = AttachmentRecord(
            id=attachment_id or uuid.uuid4().hex,
            message_id=message_id,
            case_id=msg[0],
            filename=filename,
            content_type=content_type,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            zendesk_attachment_id=zendesk_attachment_id,
            inline=inline,
        )
        self.conn.execute(
            s.attachments.insert().values(
                id=record.id,
                message_id=message_id,
                case_id=record.case_id,
                filename=filename,
                content_type=content_type,
                size=record.size,
                sha256=record.sha256,
                content=data,
                zendesk_attachment_id=zendesk_attachment_id,
                inline=inline,
            )
        )
        return record

    def attachment_content(self, attachment_id: str) -> tuple[AttachmentRecord, bytes] | None:
        row = self.conn.execute(select(s.attachments).where(s.attachments.c.id == attachment_id)).first()
        return (self._attachment(row), bytes(row._mapping["content"])) if row else None

    def set_attachment_zendesk(self, attachment_id: str, zendesk_attachment_id: int) -> None:
        self._check_writable()
        self.conn.execute(
            s.attachments.update()
            .where(s.attachments.c.id == attachment_id)
            .values(zendesk_attachment_id=zendesk_attachment_id)
        )
