"""Commands that need only the database: ``status``, ``dead-letters``, ``migrate`` (run in-process)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sync.status import EVENTS_CURSOR, TICKETS_CURSOR, WEBHOOK_SOURCE

Cli = Callable[..., tuple[int, str, str]]


def test_status_constants_match_the_poller() -> None:
    from sync.inbound import poller

    assert (TICKETS_CURSOR, EVENTS_CURSOR) == (poller.TICKETS_CURSOR, poller.EVENTS_CURSOR)
    assert WEBHOOK_SOURCE == "webhook"


def test_status_of_an_empty_store(db_url: str, cli: Cli) -> None:
    assert cli("migrate")[0] == 0
    code, out, err = cli("status", "--json")
    assert (code, err) == (0, "")
    status = json.loads(out)
    assert status["queue_depth"] == 0
    assert status["dead_letters"] == 0
    assert status["conflicts"] == 0
    assert status["oldest_pending_at"] is None
    assert status["last_successful_poll_at"] is None
    assert status["webhook_deliveries"] == 0
    assert status["reconcile_drift"] is None

    code, out, err = cli("status")
    assert (code, err) == (0, "")
    for label in ("Queue depth", "Age of the oldest pending change", "Dead letters", "Open conflicts",
                  "Last successful poll", "Cursor lag", "Webhook deliveries", "Drift found by the last reconcile"):
        assert label in out


def test_status_of_a_busy_store(busy_store: dict[str, Any], cli: Cli) -> None:
    code, out, err = cli("status", "--json")
    assert (code, err) == (0, "")
    status = json.loads(out)
    assert status["queue_depth"] == 3
    # The fixture dates things an hour before its own "now"; the command reads the clock a little later.
    assert 3590 <= status["oldest_pending_age_s"] <= 3600 + 600
    assert status["dead_letters"] == 2
    assert (status["dead_letters_outbox"], status["dead_letters_inbox"]) == (1, 1)
    assert status["conflicts"] == 1
    assert status["webhook_deliveries"] == 4
    assert status["last_webhook_at"] is not None
    assert status["last_successful_poll_at"] is not None
    assert 3590 <= status["cursor_lag_s"] <= 3600 + 600
    assert (status["reconcile_drift"], status["reconcile_repaired"]) == (2, 1)
    assert status["generated_at"].endswith("+00:00")

    code, out, _ = cli("status")
    assert code == 0
    row = next(line for line in out.splitlines() if "Age of the oldest pending change" in line)
    assert re.search(r"\b6\d min", row), row
    assert "Dead letters" in out and "Drift found by the last reconcile" in out


def test_dead_letters_list_and_show(busy_store: dict[str, Any], cli: Cli) -> None:
    outbox_id, inbox_id = busy_store["outbox_dead"], busy_store["inbox_dead"]
    code, out, _ = cli("dead-letters", "list")
    assert code == 0
    assert f"outbox:{outbox_id}" in out and f"inbox:{inbox_id}" in out
    assert "422 RecordInvalid" in out and "unknown ticket status" in out

    code, out, _ = cli("dead-letters", "list", "--json")
    letters = {d["id"]: d for d in json.loads(out)}
    assert letters[f"outbox:{outbox_id}"]["case_id"] == 9
    assert letters[f"inbox:{inbox_id}"]["ticket_id"] == 600

    code, out, _ = cli("dead-letters", "show", f"outbox:{outbox_id}")
    assert code == 0
    assert "reason: Zendesk refused the comment: 422 RecordInvalid" in out
    assert '"message_id": 7' in out
    code, out, _ = cli("dead-letters", "show", str(inbox_id), "--queue", "inbox", "--json")
    assert json.loads(out)["kind"] == "poll"

    code, _, err = cli("dead-letters", "show", "outbox:999")
    assert code == 1 and "no dead letter outbox:999" in err
    code, _, err = cli("dead-letters", "show", "mailbox:1")
    assert code == 2 and "not a dead-letter id" in err


def test_dead_letters_replay_one_and_all(busy_store: dict[str, Any], cli: Cli) -> None:
    outbox_id = busy_store["outbox_dead"]
    code, out, _ = cli("dead-letters", "replay", f"outbox:{outbox_id}")
    assert code == 0 and f"replayed outbox:{outbox_id}" in out
    code, out, _ = cli("status", "--json")
    status = json.loads(out)
    assert (status["dead_letters"], status["queue_depth"]) == (1, 4)

    code, out, _ = cli("dead-letters", "replay", "--all")
    assert code == 0 and "replayed 1 dead letter(s)" in out
    code, out, _ = cli("dead-letters", "list")
    assert "no dead letters" in out
    code, out, _ = cli("dead-letters", "replay", "--all")
    assert code == 0 and "replayed 0" in out


def test_dead_letters_discard_asks_for_confirmation(
    busy_store: dict[str, Any], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox_id, inbox_id = busy_store["outbox_dead"], busy_store["inbox_dead"]
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, err = cli("dead-letters", "discard", f"outbox:{outbox_id}")
    assert code == 1 and "Discard outbox" in out and "kept" in err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: nothing is confirmed
    assert cli("dead-letters", "discard", f"outbox:{outbox_id}")[0] == 1
    assert json.loads(cli("status", "--json")[1])["dead_letters"] == 2

    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    code, out, _ = cli("dead-letters", "discard", f"outbox:{outbox_id}")
    assert code == 0 and f"discarded outbox:{outbox_id}" in out
    code, out, _ = cli("dead-letters", "discard", f"inbox:{inbox_id}", "--yes")
    assert code == 0 and f"discarded inbox:{inbox_id}" in out
    status = json.loads(cli("status", "--json")[1])
    assert status["dead_letters"] == 0
    assert status["queue_depth"] == 3  # discarded, not queued again


def test_migrate_twice(db_url: str, cli: Cli) -> None:
    code, out, err = cli("migrate")
    assert code == 0
    from sync.store.migrations import revisions
    from sync.store.schema import SCHEMA_VERSION

    # the result on stdout, the log on stderr
    assert out.splitlines() == [
        f"created the schema (version {SCHEMA_VERSION}) in an empty database, stamped revision {revisions()[-1]}"
    ]
    assert json.loads(err.splitlines()[-1])["event"] == "migrate.done"
    code, out, _ = cli("migrate")
    assert code == 0 and "already current" in out and "nothing to apply" in out


def test_migrate_upgrades_a_release_1_database_and_names_the_revisions(db_url: str, cli: Cli) -> None:
    from sync.store.migrations import revisions
    from sync.store.schema import SCHEMA_VERSION
    from tests.store.release1 import make_release_1

    make_release_1(db_url)
    code, out, _ = cli("migrate")
    assert code == 0
    assert out.splitlines() == [
        f"upgraded the schema from version 1 to {SCHEMA_VERSION} (applied revisions: {', '.join(revisions()[1:])})"
    ]


def test_migrate_upgrades_and_serve_refuses_an_outdated_postgresql_schema(
    pg_database: str, cli: Cli, monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    import psycopg

    from sync.store import open_store
    from sync.store import schema as s
    from tests.store.next_revision import add_next_revision

    with psycopg.connect(pg_database, autocommit=True) as conn:  # the session's database, emptied
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    monkeypatch.setenv("CASESYNC_DATABASE_URL", pg_database)
    assert cli("migrate")[0] == 0
    now = s.SCHEMA_VERSION
    add_next_revision(monkeypatch, tmp_path / "next", "CREATE TABLE cli_probe (x int)")
    monkeypatch.setenv("CASESYNC_ZENDESK_URL", "http://127.0.0.1:9")  # never contacted
    monkeypatch.setenv("CASESYNC_ZENDESK_EMAIL", "agent@example.test")
    monkeypatch.setenv("CASESYNC_ZENDESK_TOKEN", "t")
    code, out, err = cli("serve")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "casesync migrate" in err and "CASESYNC_DATABASE_URL" in err
    code, _, err = cli("status")
    assert code == 2 and "casesync migrate" in err

    code, out, _ = cli("migrate")
    assert code == 0 and f"from version {now} to {now + 1} (applied revisions: test_next_{now + 1})" in out
    store = open_store(pg_database)
    try:
        assert store.schema_status().state == "current"
    finally:
        store.close()
