"""SQL implementation of redaction: a message's text overwritten, an attachment deleted, and the redacted strings
removed from every other place the store may hold them (docs/design.md §8)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mappings.redaction import REDACTION_MARK
from sync.store import schema as s
from sync.store._sqlbase import TxBase
from sync.store.kv_keys import ticket_text_keys
from sync.store.search_index import reindex_case

__all__ = ["RedactionMixin"]


def _scrubbed(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTION_MARK * len(secret))
        return value
    if isinstance(value, list):
        return [_scrubbed(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, secrets) for k, v in value.items()}
    return value


class RedactionMixin(TxBase):
    def redact_message(self, message_id: int, body: str, html: str | None) -> None:
        self._check_writable()
        m = s.messages.c
        case_id = self.conn.execute(select(m.case_id).where(m.id == message_id)).scalar()
        self.conn.execute(s.messages.update().where(m.id == message_id).values(body=body, html=html))
        if case_id is not None:
            reindex_case(self.conn, case_id)  # the redacted words leave the search index too
            self._touch_case(case_id)

    def remove_attachment(self, attachment_id: str) -> None:
        self._check_writable()
        a = s.attachments.c
        case_id = self.conn.execute(select(a.case_id).where(a.id == attachment_id)).scalar()
        self.conn.execute(s.attachments.delete().where(a.id == attachment_id))
        if case_id is not None:
            self._touch_case(case_id)

    def scrub_text(self, secrets: list[str], *, ticket_id: int, case_id: int) -> int:
        self._check_writable()
        secrets = sorted({x for x in secrets if x}, key=len, reverse=True)
        if not secrets:
            return 0
        rewritten = 0
        i = s.inbox.c
        for inbox_row in self.conn.execute(select(i.id, i.payload, i.last_error).where(i.ticket_id == ticket_id)):
            payload, error = _scrubbed(inbox_row.payload, secrets), _scrubbed(inbox_row.last_error, secrets)
            if payload != inbox_row.payload or error != inbox_row.last_error:
                self.conn.execute(
                    s.inbox.update().where(i.id == inbox_row.id).values(payload=payload, last_error=error)
                )
                rewritten += 1
        k = s.kv.c
        # The ticket's own keys: carried export comments, privacy and gap markers.
        for kv_row in self.conn.execute(select(k.key, k.value).where(k.key.in_(ticket_text_keys(ticket_id)))):
            value = _scrubbed(kv_row.value, secrets)
            if value != kv_row.value:
                self.conn.execute(s.kv.update().where(k.key == kv_row.key).values(value=value, updated_at=self.now))
                rewritten += 1
        for table in (s.feed, s.conflicts):
            c = table.c
            key = c.seq if table is s.feed else c.id
            for row in self.conn.execute(select(key.label("key"), c.detail).where(c.case_id == case_id)):
                detail = _scrubbed(row.detail, secrets)
                if detail != row.detail:
                    self.conn.execute(table.update().where(key == row.key).values(detail=detail))
                    rewritten += 1
        return rewritten
