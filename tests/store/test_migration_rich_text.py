"""A store made before rich text upgrades in place: messages gain ``html``, attachments ``inline`` (a later version)."""

from __future__ import annotations

from sqlalchemy import inspect

from sync.store import StoreTx, open_store
from sync.store import schema as s
from tests.store.release1 import make_release_1
from tests.support.sql import engine_of


def _fill(tx: StoreTx) -> None:
    tx.upsert_account("acme", "Acme")
    tx.create_case(1, "acme", "alice", "Help")
    message = tx.add_message(1, "user", "Alice", "It broke", origin="console")
    tx.add_attachment(message.id, "log.txt", "text/plain", b"log")


def _as_version_1(store_url: str) -> None:
    """A database as the previous release left it: the same data, without the later versions' columns."""
    make_release_1(store_url, _fill)


def test_a_version_1_store_upgrades_and_keeps_its_messages(store_url: str) -> None:
    _as_version_1(store_url)
    store = open_store(store_url)
    try:
        assert store.schema_status().current == 1
        assert s.SCHEMA_VERSION in store.migrate()
        assert store.schema_status().state == "current"
        with engine_of(store).connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("messages")}
            assert "html" in columns
            assert "inline" in {c["name"] for c in inspect(conn).get_columns("attachments")}
        with store.read() as tx:
            message = tx.case_messages(1)[0]
        assert (message.body, message.html) == ("It broke", None)
        assert [(a.filename, a.inline) for a in message.attachments] == [("log.txt", False)]
        with store.transaction() as tx:
            added = tx.add_message(
                1, "staff", "Bob", "Fixed", origin="zendesk", zendesk_comment_id=7, html="<p>Fixed</p>"
            )
            tx.add_attachment(added.id, "shot.png", "image/png", b"png", inline=True, attachment_id="f" * 32)
        with store.read() as tx:
            case = tx.case(1)
        assert case is not None
        assert case.messages[-1].html == "<p>Fixed</p>"
        assert [(a.id, a.inline) for a in case.messages[-1].attachments] == [("f" * 32, True)]
    finally:
        store.close()
