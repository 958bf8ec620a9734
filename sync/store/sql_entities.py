"""SQL implementation of the store's cases, ticket links and per-ticket state.

Messages and attachments are in :mod:`sync.store.sql_messages`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, cast

from sqlalchemy import and_, bindparam, select, text

from mappings.models import Actor, AttachmentRef, Case, CaseStatus, Message, Priority
from sync.store import schema as s
from sync.store._sqlbase import ATTACHMENT_META, touch_values
from sync.store.search_index import insert_case
from sync.store.sql_messages import MessagesMixin
from sync.store.types import (
    CaseRecord,
    MessageRecord,
    TicketState,
)

__all__ = ["EntitiesMixin"]

# The outbox worker runs these for every delivery: built once with bound parameters, so a call costs the
# execution only, not the building and cache-keying of a fresh statement.
_l = s.ticket_links.c
_CASE_BY_ID = (
    select(s.cases, _l.ticket_id)
    .outerjoin(s.ticket_links, _l.case_id == s.cases.c.id)
    .where(s.cases.c.id == bindparam("case_id"))
)
# PostgreSQL locks only the case's row: the nullable side of an outer join cannot be locked.
_CASE_BY_ID_LOCKED = _CASE_BY_ID.with_for_update(of=s.cases)
# One case with its visible messages and their attachments' metadata, in one round trip (``get`` and the
# answer of every console write): the messages' columns labelled ``m_...``, the attachments' ``a_...``.
_m = s.messages.c
_a = s.attachments.c
_CASE_WITH_MESSAGES = (
    select(
        s.cases,
        _l.ticket_id,
        *(c.label(f"m_{c.name}") for c in s.messages.c),
        *(c.label(f"a_{c.name}") for c in ATTACHMENT_META),
    )
    .select_from(s.cases)
    .outerjoin(s.ticket_links, _l.case_id == s.cases.c.id)
    .outerjoin(s.messages, and_(_m.case_id == s.cases.c.id, _m.withdrawn.is_(False)))
    .outerjoin(s.attachments, _a.message_id == _m.id)
    .where(s.cases.c.id == bindparam("case_id"))
    .order_by(_m.id, _a.filename)
)
# A case's row: the columns come from the parameters; with the touch's columns, or without them for a case
# created by the same transaction.
_UPDATE_CASE = {
    (pg, touch): s.cases.update()
    .where(s.cases.c.id == bindparam("b_case_id"))
    .values(**(touch_values(s.cases, is_pg=pg) if touch else {}))
    for pg in (False, True)
    for touch in (False, True)
}
_TICKET_OF = select(_l.ticket_id).where(_l.case_id == bindparam("case_id"))
_CASE_OF_TICKET = select(_l.case_id).where(_l.ticket_id == bindparam("ticket_id"))


class EntitiesMixin(MessagesMixin):
    """Cases, ticket links and per-ticket state; messages and attachments come from :class:`MessagesMixin`."""

    # -- cases -------------------------------------------------------------------------------------

    def next_case_number(self) -> int:
        self._check_writable()
        if self.is_pg:
            number = int(self.conn.execute(text("SELECT nextval('case_number_seq')")).scalar_one())
        else:
            c = s.counters.c
            number = int(
                self.conn.execute(
                    s.counters.update().where(c.name == "case_number").values(value=c.value + 1).returning(c.value)
                ).scalar_one()
            )
        self.allocated_case_numbers.append(number)
        return number

    def create_case(
        self,
        case_id: int,
        account_id: str,
        requester_id: str,
        subject: str,
        *,
        status: CaseStatus = CaseStatus.NEW,
        refers_to: int | None = None,
    ) -> CaseRecord:
        self._check_writable()
        values: dict[str, Any] = dict(
            id=case_id,
            account_id=account_id,
            requester_id=requester_id,
            subject=subject,
            status=status.value,
            refers_to=refers_to,
            cc=[],
            created_at=self.now,
            updated_at=self.now,
            revision=self._revision_value(),  # what _touch_case would write, in the insert itself
        )
        insert_case(self.conn, values)
        self.created_case_ids.add(case_id)
        # What reading the row back would give, without the round trip: a new case has no link yet.
        return CaseRecord(
            id=case_id,
            account_id=account_id,
            requester_id=requester_id,
            subject=subject,
            status=status,
            refers_to=refers_to,
            merged_into=None,
            closed_by=None,
            closed_reason=None,
            cc=[],
            ticket_id=None,
            created_at=self.now,
            updated_at=self.now,
            priority=None,
            status_label=None,
            fields={},
        )

    def get_case(self, case_id: int, *, for_update: bool = False) -> CaseRecord | None:
        memo_key = ("case", case_id)
        if self.read_memo is not None and memo_key in self.read_memo:
            found: CaseRecord | None = self.read_memo[memo_key]
            return replace(found, cc=list(found.cc), fields=dict(found.fields)) if found else None
        q = _CASE_BY_ID_LOCKED if for_update and self.is_pg else _CASE_BY_ID
        row = self.conn.execute(q, {"case_id": case_id}).first()
        record = self._case(row, row._mapping["ticket_id"]) if row else None
        if self.read_memo is not None:
            self.read_memo[memo_key] = record
            # Each caller gets lists of its own: the memo's copy is never handed out.
            return replace(record, cc=list(record.cc), fields=dict(record.fields)) if record else None
        return record

    def case_records(self, account_id: str, *, open_only: bool = False) -> list[CaseRecord]:
        c = s.cases.c
        q = (
            select(s.cases, s.ticket_links.c.ticket_id)
            .outerjoin(s.ticket_links, s.ticket_links.c.case_id == c.id)
            .where(c.account_id == account_id)
            .order_by(c.id)
        )
        if open_only:
            q = q.where(c.status != CaseStatus.CLOSED.value)
        return [self._case(r, r._mapping["ticket_id"]) for r in self.conn.execute(q)]

    def case(self, case_id: int) -> Case | None:
        rows = list(self.conn.execute(_CASE_WITH_MESSAGES, {"case_id": case_id}))
        if not rows:
            return None
        record = self._case(rows[0], rows[0]._mapping["ticket_id"])
        return self._build([record], {case_id: self._fold_messages(rows, "m_")})[0]

    def cases(self, account_id: str, *, status: CaseStatus | None = None) -> list[Case]:
        records = self.case_records(account_id)
        if status is not None:
            records = [r for r in records if r.status == status]
        return self._assemble(records)

    def _assemble(self, records: list[CaseRecord]) -> list[Case]:
        """Build console ``Case`` values with three queries, whatever the number of cases."""
        if not records:
            return []
        ids = [r.id for r in records]
        by_case: dict[int, list[MessageRecord]] = defaultdict(list)
        for m in self._messages_of(ids, include_withdrawn=False):
            by_case[m.case_id].append(m)
        return self._build(records, by_case)

    @staticmethod
    def _build(records: list[CaseRecord], by_case: Mapping[int, list[MessageRecord]]) -> list[Case]:
        """Console ``Case`` values from the cases' records and their visible messages."""
        return [
            Case(
                id=r.id,
                account_id=r.account_id,
                requester_id=r.requester_id,
                subject=r.subject,
                status=r.status,
                refers_to=r.refers_to,
                merged_into=r.merged_into,
                ticket_id=r.ticket_id,
                cc=r.cc,
                closed_by=r.closed_by,
                created_at=r.created_at,
                updated_at=r.updated_at,
                status_label=r.status_label,
                priority=cast(Priority | None, r.priority),  # only the four names are ever stored
                fields=r.fields,
                messages=[
                    Message(
                        id=m.id,
                        author=m.author,
                        author_name=m.author_name,
                        body=m.body,
                        created_at=m.created_at,
                        user_id=m.user_id,
                        attachments=[
                            AttachmentRef(
                                id=a.id,
                                filename=a.filename,
                                content_type=a.content_type,
                                size=a.size,
                                sha256=a.sha256,
                                inline=a.inline,
                            )
                            for a in m.attachments
                        ],
                        html=m.html if m.origin != "console" else None,
                    )
                    for m in by_case.get(r.id, ())
                ],
            )
            for r in records
        ]

    def set_case_status(
        self, case_id: int, status: CaseStatus, *, closed_by: Actor | None = None, reason: str | None = None
    ) -> None:
        self._check_writable()
        closed = status == CaseStatus.CLOSED
        self._update_case(
            case_id,
            status=status.value,
            closed_by=closed_by if closed else None,
            closed_reason=reason if closed else None,
        )

    def set_case_cc(self, case_id: int, cc: list[str]) -> None:
        self._check_writable()
        current = self.conn.execute(select(s.cases.c.cc).where(s.cases.c.id == case_id)).scalar()
        if list(current or []) == list(cc):
            return  # an unchanged list is no change the console sees
        self._update_case(case_id, cc=list(cc))

    def set_case_details(self, case_id: int, **details: Any) -> None:
        self._check_writable()
        unknown = set(details) - {"priority", "status_label", "fields"}
        if unknown:
            raise KeyError(f"not a case detail: {sorted(unknown)}")
        self._update_case(case_id, **details)

    def set_case_refs(self, case_id: int, *, refers_to: int | None = None, merged_into: int | None = None) -> None:
        self._check_writable()
        values: dict[str, Any] = {}
        if refers_to is not None:
            values["refers_to"] = refers_to
        if merged_into is not None:
            values["merged_into"] = merged_into
        if not values:
            return
        self._update_case(case_id, **values)

    def _update_case(self, case_id: int, **values: Any) -> None:
        """Write ``values`` to the case's row and touch it (see ``_touch_case``) in the same statement."""
        touch = case_id not in self.created_case_ids
        params = {**values, "b_case_id": case_id, **(self._touch_params() if touch else {})}
        self.conn.execute(_UPDATE_CASE[self.is_pg, touch], params)

    def continuation_of(self, case_id: int) -> int | None:
        c = s.case_continuations.c
        found = self.conn.execute(select(c.continuation_id).where(c.case_id == case_id)).scalar()
        return int(found) if found is not None else None

    def set_continuation(self, case_id: int, continuation_id: int) -> None:
        self._check_writable()
        self.conn.execute(
            s.case_continuations.insert().values(case_id=case_id, continuation_id=continuation_id, created_at=self.now)
        )

    # -- links and ticket state --------------------------------------------------------------------

    def link_ticket(self, case_id: int, ticket_id: int) -> None:
        self._check_writable()
        existing = self.ticket_of(case_id)
        other = self.case_of_ticket(ticket_id)
        if existing == ticket_id and other == case_id:
            return
        if existing is not None or other is not None:
            raise ValueError(
                f"cannot link case {case_id} to ticket {ticket_id}: case linked to {existing},"
                f" ticket linked to case {other}"
            )
        self.conn.execute(s.ticket_links.insert().values(case_id=case_id, ticket_id=ticket_id, linked_at=self.now))
        self._touch_case(case_id)  # Case.ticket_id changed

    def ticket_of(self, case_id: int) -> int | None:
        return self.conn.execute(_TICKET_OF, {"case_id": case_id}).scalar()

    def case_of_ticket(self, ticket_id: int) -> int | None:
        return self.conn.execute(_CASE_OF_TICKET, {"ticket_id": ticket_id}).scalar()

    def linked_cases(self, *, after_case_id: int = 0, limit: int = 1000) -> list[tuple[int, int]]:
        t = s.ticket_links.c
        q = select(t.case_id, t.ticket_id).where(t.case_id > after_case_id).order_by(t.case_id).limit(limit)
        return [(r[0], r[1]) for r in self.conn.execute(q)]

    def ticket_state(self, ticket_id: int) -> TicketState | None:
        row = self.conn.execute(select(s.ticket_state).where(s.ticket_state.c.ticket_id == ticket_id)).first()
        if row is None:
            return None
        m = row._mapping
        return TicketState(
            m["ticket_id"],
            m["case_id"],
            m["updated_at"],
            m["generated_timestamp"],
            m["status"],
            dict(m["extra"] or {}),
        )

    def put_ticket_state(self, state: TicketState) -> None:
        self._check_writable()
        values = dict(
            case_id=state.case_id,
            updated_at=state.updated_at,
            generated_timestamp=state.generated_timestamp,
            status=state.status,
            extra=dict(state.extra),
        )
        ins = self._insert(s.ticket_state).values(ticket_id=state.ticket_id, **values)
        self.conn.execute(ins.on_conflict_do_update(index_elements=["ticket_id"], set_=values))

    def seen_comments(self, ticket_id: int) -> set[int]:
        q = select(s.seen_comments.c.comment_id).where(s.seen_comments.c.ticket_id == ticket_id)
        return {r[0] for r in self.conn.execute(q)}

    def mark_comments_seen(self, ticket_id: int, comment_ids: set[int]) -> None:
        self._check_writable()
        if not comment_ids:
            return
        ins = self._insert(s.seen_comments).values(
            [{"ticket_id": ticket_id, "comment_id": c} for c in sorted(comment_ids)]
        )
        self.conn.execute(ins.on_conflict_do_nothing())
