"""SQL implementation of erasing one console user's personal data from the store (right to erasure).

What counts as the user's data: their ``users`` row (email, name), the messages they wrote (by
``messages.user_id``; a user message of the account under their name when it predates authorship), those
messages' attachments, the subjects of the cases they requested, and every copy of their email, name or
message text elsewhere: other messages that quote them (text and HTML), CC lists, registered recipients,
feed details, conflicts, inbox and outbox payloads, kv values, per-ticket state, stored idempotency
results and the search index.  Copies are replaced by :data:`ERASED`; rows that only exist to carry the
user's data are deleted.  Pending outbox entries that would send the erased data to Zendesk are
discarded.  ``case_continuations`` holds case numbers only, and the cases stay: nothing of it is the user's.

On SQLite every connection runs with ``PRAGMA secure_delete`` on (see :mod:`sync.store.engine`), so freed
space is overwritten with zeros, and the FTS5 index is merged (``optimize``) so no old segment keeps the
words; ``Store.compact`` then vacuums the file and checkpoints the WAL into it, truncating the WAL.  On
PostgreSQL ``Store.compact`` vacuums the tables so the old row versions are reclaimed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, text

from mappings.closer import CloseEvidence, CloseWitness, who_closed
from mappings.models import CaseStatus
from sync.store import schema as s
from sync.store._sqlbase import email_key
from sync.store.search_index import reindex_case
from sync.store.sql_entities import EntitiesMixin

__all__ = ["ERASED", "ERASED_NAME", "ErasureMixin", "scrub"]

#: What erased text reads as.
ERASED = "[erased]"
#: The author name of an erased user's messages.
ERASED_NAME = "Erased user"


def scrub(value: Any, pattern: re.Pattern[str]) -> tuple[Any, bool]:
    """``value`` (JSON-like) with every match of ``pattern`` in its strings replaced by :data:`ERASED`."""
    if isinstance(value, str):
        new = pattern.sub(ERASED, value)
        return new, new != value
    if isinstance(value, list):
        items = [scrub(v, pattern) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    if isinstance(value, dict):
        pairs = {k: scrub(v, pattern) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    return value, False


def _needles(pattern_parts: Iterable[str]) -> re.Pattern[str] | None:
    parts = sorted({p for p in pattern_parts if p and p.strip()}, key=len, reverse=True)
    if not parts:
        return None
    return re.compile("|".join(re.escape(p) for p in parts), re.IGNORECASE)


class ErasureMixin(EntitiesMixin):
    def erase_user_data(self, account_id: str, user_id: str) -> dict[str, Any]:
        """Erase the user's data in this transaction; returns what was removed where (counts and ids).

        The caller checked that the user exists.  Returns ``zendesk_user_id`` (None when never linked).
        """
        self._check_writable()
        user = self.get_user(account_id, user_id)
        assert user is not None
        c, m = s.cases.c, s.messages.c
        own_cases = [r[0] for r in self.conn.execute(
            select(c.id).where(c.account_id == account_id, c.requester_id == user_id).order_by(c.id)
        )]
        # Their messages: those the store knows they wrote (``user_id``), and, for messages stored before
        # authorship was kept, the account's user messages under their name.
        written = list(self.conn.execute(
            select(m.id, m.case_id, m.body).where(
                m.account_id == account_id,
                m.author == "user",
                (m.user_id == user_id) | (m.user_id.is_(None) & (m.author_name == user.name)),
            )
        ))
        subjects = [r[0] for r in self.conn.execute(select(c.subject).where(c.id.in_(own_cases)))]
        pattern = _needles([user.email, user.name, *subjects, *(r[2] for r in written)])
        assert pattern is not None  # the email is never empty
        report: dict[str, Any] = {"zendesk_user_id": user.zendesk_user_id, "scrubbed": {}}
        message_ids = [r[0] for r in written]

        # The user's own messages and files.
        a = s.attachments.c
        report["attachments_removed"] = int(
            self.conn.execute(s.attachments.delete().where(a.message_id.in_(message_ids))).rowcount or 0
        )
        if message_ids:
            self.conn.execute(
                s.messages.update()
                .where(m.id.in_(message_ids))
                .values(body=ERASED, html=None, author_name=ERASED_NAME, user_id=None)
            )
        report["messages_erased"] = len(message_ids)
        report["outbox_discarded"] = self._discard_pending(account_id, user_id, own_cases, message_ids)

        # Copies in the account's other text, then everywhere else the data may have been kept.
        touched = set(own_cases) | {r[1] for r in written}
        # Every account's text: another account's messages may name or quote the user too.
        report["scrubbed"]["messages"] = self._scrub_column(s.messages, m.id, m.body, pattern, touched=touched)
        report["scrubbed"]["messages_html"] = self._scrub_column(s.messages, m.id, m.html, pattern, touched=touched)
        self.conn.execute(s.cases.update().where(c.id.in_(own_cases)).values(subject=ERASED))
        report["scrubbed"]["cases"] = self._scrub_column(s.cases, c.id, c.subject, pattern, touched=touched)
        report["scrubbed"]["cc_lists"] = self._drop_cc(account_id, user.email, touched)
        f = s.feed.c
        report["scrubbed"]["feed"] = self._scrub_column(s.feed, f.seq, f.detail, pattern)
        k = s.conflicts.c
        report["scrubbed"]["conflicts"] = self._scrub_column(s.conflicts, k.id, k.detail, pattern)
        report["scrubbed"]["inbox"] = self._scrub_json(s.inbox, s.inbox.c.id, s.inbox.c.payload, pattern)
        report["scrubbed"]["outbox"] = self._scrub_json(s.outbox, s.outbox.c.id, s.outbox.c.payload, pattern)
        t = s.ticket_state.c
        report["scrubbed"]["ticket_state"] = self._scrub_json(s.ticket_state, t.ticket_id, t.extra, pattern)
        report["kv_removed"] = self._delete_matching(s.kv, s.kv.c.key, s.kv.c.value, pattern)
        i = s.idempotency_keys.c
        report["idempotency_keys_removed"] = int(
            self.conn.execute(
                s.idempotency_keys.delete().where(i.account_id == account_id, i.result.is_not(None))
                .where(i.key.in_(self._matching_keys(account_id, pattern)))
            ).rowcount or 0
        )
        r = s.recipients.c
        self.conn.execute(
            s.recipients.delete().where(r.account_id == account_id, r.email_key == email_key(user.email))
        )
        self.conn.execute(
            s.users.delete().where(s.users.c.account_id == account_id, s.users.c.user_id == user_id)
        )

        # The user's cases stay, closed, for the account's other members.
        closed: list[int] = []
        closer = who_closed(CloseEvidence(witness=CloseWitness.ERASURE))
        assert closer is not None  # an erasure is its own answer
        for case_id in own_cases:
            record = self.get_case(case_id)
            if record is not None and record.status != CaseStatus.CLOSED:
                self.set_case_status(case_id, CaseStatus.CLOSED, closed_by=closer.actor, reason=closer.reason)
                self.append_change(account_id, case_id, closer.feed_kind, f"Closed: {closer.reason}")
                closed.append(case_id)
        for case_id in sorted(touched):
            reindex_case(self.conn, case_id)
            self._touch_case(case_id)
        if not self.is_pg:
            # Merge the FTS5 segments: the words of the erased text leave the index's pages too.
            self.conn.execute(text("INSERT INTO case_search(case_search) VALUES ('optimize')"))
        report["cases_closed"] = closed
        report["cases_kept"] = own_cases
        report["linked_cases_closed"] = [n for n in closed if self.ticket_of(n) is not None]
        return report

    # -- helpers ---------------------------------------------------------------------------------------

    def _discard_pending(
        self, account_id: str, user_id: str, own_cases: list[int], message_ids: list[int]
    ) -> int:
        """Discard pending entries that would send the erased data to Zendesk (or need the user row)."""
        o = s.outbox.c
        discard: list[int] = []
        rows = self.conn.execute(select(o.id, o.kind, o.payload, o.case_id).where(
            o.status == "pending", o.account_id == account_id
        ))
        for entry_id, kind, payload, case_id in rows:
            payload = payload or {}
            if (
                (kind == "upsert_user" and payload.get("user_id") == user_id)
                or (case_id is not None and case_id in own_cases)
                or (kind == "reply" and payload.get("message_id") in message_ids)
            ):
                discard.append(entry_id)
        if discard:
            self.conn.execute(
                s.outbox.update().where(o.id.in_(discard)).values(
                    status="discarded", last_error="discarded: the user's personal data was erased",
                    lease_owner=None, lease_until=None,
                )
            )
        return len(discard)

    def _scrub_column(
        self, table: Any, key: Any, column: Any, pattern: re.Pattern[str], *where: Any, touched: set[int] | None = None
    ) -> int:
        changed = 0
        for row_key, value in self.conn.execute(select(key, column).where(*where)):
            new = pattern.sub(ERASED, value or "")
            if new != (value or ""):
                self.conn.execute(table.update().where(key == row_key).values({column.name: new}))
                changed += 1
                if touched is not None:
                    case_id = (
                        row_key
                        if table is s.cases
                        else self.conn.execute(select(s.messages.c.case_id).where(key == row_key)).scalar()
                    )
                    if case_id is not None:
                        touched.add(int(case_id))
        return changed

    def _scrub_json(self, table: Any, key: Any, column: Any, pattern: re.Pattern[str]) -> int:
        changed = 0
        for row_key, value in self.conn.execute(select(key, column)):
            new, differs = scrub(value, pattern)
            if differs:
                self.conn.execute(table.update().where(key == row_key).values({column.name: new}))
                changed += 1
        return changed

    def _delete_matching(self, table: Any, key: Any, column: Any, pattern: re.Pattern[str]) -> int:
        doomed = [k for k, v in self.conn.execute(select(key, column)) if scrub(v, pattern)[1]]
        if doomed:
            self.conn.execute(table.delete().where(key.in_(doomed)))
        return len(doomed)

    def _matching_keys(self, account_id: str, pattern: re.Pattern[str]) -> list[str]:
        i = s.idempotency_keys.c
        rows = self.conn.execute(select(i.key, i.result).where(i.account_id == account_id))
        return [k for k, v in rows if scrub(v, pattern)[1]]

    def _drop_cc(self, account_id: str, email: str, touched: set[int]) -> int:
        c = s.cases.c
        wanted = email_key(email)
        changed = 0
        for case_id, cc in self.conn.execute(select(c.id, c.cc).where(c.account_id == account_id)):
            kept = [a for a in (cc or []) if email_key(str(a)) != wanted]
            if kept != list(cc or []):
                self.conn.execute(s.cases.update().where(c.id == case_id).values(cc=kept))
                touched.add(int(case_id))
                changed += 1
        return changed
