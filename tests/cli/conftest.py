"""Fixtures for the command-line tests: an isolated environment and a store with something in it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mappings.cursor import CursorPosition, encode_after_cursor
from sync.cli import main

#: When the busy store's entries were written: an hour ago, so ages and lags are easy to check.


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Only ``CASESYNC_DATABASE_URL`` set (a fresh SQLite file), in a directory without a ``.env``."""
    import os

    for name in list(os.environ):
        if name.startswith("CASESYNC_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps tables at the terminal width, 80 when unknown
    url = f"sqlite:///{tmp_path}/casesync.db"
    monkeypatch.setenv("CASESYNC_DATABASE_URL", url)
    return url


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``main(args)`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def fill_store(url: str) -> dict[str, Any]:
    """A busy store: pending and dead outbox entries, inbox dead letters, webhooks, conflicts, cursors.

    Returns the ids created, for the assertions.
    """
    from sync.store import open_store

    # An hour before the store is filled (not before the module was imported: a long run would age it).
    hour_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    store = open_store(url, clock=lambda: hour_ago)
    try:
        with store.transaction() as tx:
            tx.upsert_account("acme", "Acme")
            pending = [
                tx.enqueue("submit", {"case_id": n}, ordering_key=f"case:{n}", account_id="acme", case_id=n)
                for n in (1, 2, 3)
            ]
            doomed = tx.enqueue("reply", {"message_id": 7}, ordering_key="case:9", account_id="acme", case_id=9)
            for n in range(4):
                tx.add_inbox(500 + n, "webhook", f"webhook:event-{n}")
            tx.add_inbox(600, "poll", "poll:600")
            tx.record_conflict("ticket_moved", "ticket 77 moved to another organization", ticket_id=77)
            tx.set_cursor("zendesk.tickets", encode_after_cursor(CursorPosition(timestamp=int(hour_ago.timestamp()))))
            tx.set_cursor("zendesk.ticket_events", str(int(hour_ago.timestamp())))
            tx.kv_set("reconcile:last", {"at": hour_ago.isoformat(), "drift": 2, "repaired": 1})
        # Dead-letter the reply (outbox) and ticket 600's hint (inbox), as the workers would.
        [entry] = [e for e in store.claim_outbox("test", hour_ago, limit=10) if e.id == doomed]
        store.dead_letter(entry, "Zendesk refused the comment: 422 RecordInvalid")
        inbox = [e for e in store.claim_inbox("test", hour_ago, limit=10) if e.ticket_id == 600]
        with store.transaction() as tx:
            tx.dead_letter_inbox(inbox[0], "MappingError: unknown ticket status 'archived'")
        for claimed in store.claim_outbox("test", hour_ago, limit=10):
            store.release(claimed)
    finally:
        store.close()
    return {"pending": pending, "outbox_dead": doomed, "inbox_dead": inbox[0].id}


@pytest.fixture
def busy_store(db_url: str) -> Iterator[dict[str, Any]]:
    yield fill_store(db_url)
