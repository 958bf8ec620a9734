"""The rules every ``casesync`` command follows (docs/design.md §8), command by command, as real processes.

Standard output carries the result only; logs go to stderr in the configured format; exit codes are 0 done,
1 done but something failed, 2 bad usage, configuration error or unusable store; read-only commands never
create a database or a schema; a closed pipe ends a command quietly; in a pipe, output is plain text.
"""

from __future__ import annotations

import json
import os
import subprocess
from importlib.metadata import version
from pathlib import Path

import pytest

from .procs import CASESYNC, cli_env, free_port, run_cli, zendesk_env

READ_ONLY = (["status"], ["status", "--json"], ["dead-letters", "list"], ["dead-letters", "show", "outbox:1"],
             ["trace", "1"], ["outbox", "list"])


def _reason(stderr: str) -> str:
    """The command's one-line reason on stderr (log lines, JSON, may surround it)."""
    assert "Traceback" not in stderr
    reasons = [line for line in stderr.splitlines() if line.startswith("casesync ")]
    assert len(reasons) == 1, stderr
    return reasons[0]


def _migrated(tmp_path: Path) -> dict[str, str]:
    env = cli_env(CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/casesync.db")
    assert run_cli(["migrate"], env, tmp_path).returncode == 0
    return env


def test_version_names_the_installed_release(tmp_path: Path) -> None:
    result = run_cli(["--version"], cli_env(), tmp_path)
    assert (result.returncode, result.stdout.strip(), result.stderr) == (0, f"casesync {version('casesync')}", "")


@pytest.mark.parametrize("args", [["status"], ["migrate"], ["dead-letters", "list"], ["outbox", "list"]])
@pytest.mark.parametrize("variable", ["CASESYNC_LOG_LEVEL", "CASESYNC_LOG_FORMAT"])
def test_an_unknown_log_level_or_format_is_a_configuration_error(
    tmp_path: Path, args: list[str], variable: str
) -> None:
    env = cli_env(CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/casesync.db", **{variable: "verbose"})
    result = run_cli(args, env, tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    line = _reason(result.stderr)
    assert variable in line and "verbose" not in line.split(":", 1)[0]
    assert not (tmp_path / "casesync.db").exists()


def test_the_log_level_is_accepted_in_any_case(tmp_path: Path) -> None:
    env = cli_env(CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/casesync.db", CASESYNC_LOG_LEVEL="warning")
    result = run_cli(["migrate"], env, tmp_path)
    assert result.returncode == 0 and result.stderr == ""  # migrate's log line is at info


@pytest.mark.parametrize("args", READ_ONLY)
def test_read_only_commands_never_create_a_sqlite_file(tmp_path: Path, args: list[str]) -> None:
    env = cli_env(CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/casesync.db")
    result = run_cli(args, env, tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    line = _reason(result.stderr)
    assert "CASESYNC_DATABASE_URL" in line and "casesync migrate" in line
    assert list(tmp_path.iterdir()) == []


def test_read_only_commands_refuse_a_sqlite_file_without_the_schema(tmp_path: Path) -> None:
    (tmp_path / "casesync.db").write_bytes(b"")
    env = cli_env(CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/casesync.db")
    for args in READ_ONLY:
        result = run_cli(args, env, tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "no casesync schema" in _reason(result.stderr)
    import sqlite3

    with sqlite3.connect(tmp_path / "casesync.db") as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_read_only_commands_never_create_a_postgresql_schema(pg_database: str, tmp_path: Path) -> None:
    import psycopg

    with psycopg.connect(pg_database, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    env = cli_env(CASESYNC_DATABASE_URL=pg_database)
    for args in READ_ONLY:
        result = run_cli(args, env, tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert "no casesync schema" in _reason(result.stderr)
    with psycopg.connect(pg_database) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert tables == (0,)
    assert run_cli(["migrate"], env, tmp_path).returncode == 0  # the shared test database, usable again


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["dead-letters", "show", "foo"], "not a dead-letter id"),
        (["dead-letters", "replay", "outbox:x"], "not a dead-letter id"),
        (["dead-letters", "discard", "inbox:1", "--queue", "outbox"], "contradicts"),
        (["trace", "case-7"], "not a case number"),
        (["trace", str(2**64)], "not a case number"),
        (["status", "--jsn"], "unrecognized arguments"),
        (["no-such-command"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(tmp_path: Path, args: list[str], says: str) -> None:
    result = run_cli(args, _migrated(tmp_path), tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert says in result.stderr and "Traceback" not in result.stderr


def test_one_shot_commands_log_to_stderr_in_the_configured_format(tmp_path: Path) -> None:
    env = cli_env(CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/casesync.db", CASESYNC_LOG_FORMAT="json")
    result = run_cli(["migrate"], env, tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("created the schema") and len(result.stdout.splitlines()) == 1
    events = [json.loads(line) for line in result.stderr.splitlines()]
    assert [e["event"] for e in events] == ["migrate.done"] and events[0]["level"] == "info"

    env["CASESYNC_LOG_FORMAT"] = "console"
    result = run_cli(["migrate"], env, tmp_path)
    assert result.stdout.startswith("schema already current")
    assert "migrate.done" in result.stderr and not result.stderr.lstrip().startswith("{")


def test_a_closed_pipe_ends_a_command_quietly(tmp_path: Path) -> None:
    env = _migrated(tmp_path)
    for args in (["status", "--json"], ["status"], ["dead-letters", "list", "--json"], ["outbox", "list"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before the first line is written (`| head -0`)
        try:
            result = subprocess.run([*CASESYNC, *args], env=env, cwd=tmp_path, stdout=write_end,
                                    stderr=subprocess.PIPE, text=True, timeout=60, check=False)
        finally:
            os.close(write_end)
        assert result.returncode == 0, (args, result.stderr)
        assert "BrokenPipeError" not in result.stderr and "Exception ignored" not in result.stderr


def test_head_reads_the_first_line_of_status_json(tmp_path: Path) -> None:
    env = _migrated(tmp_path)
    status = subprocess.Popen([*CASESYNC, "status", "--json"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert status.stdout is not None and status.stderr is not None
    first = status.stdout.readline()
    status.stdout.close()
    assert status.wait(timeout=60) == 0
    assert first == "{\n" and "Error" not in status.stderr.read()
    status.stderr.close()


def test_tables_in_a_pipe_are_plain_lines_that_keep_ids_and_dates_whole(tmp_path: Path) -> None:
    from tests.cli.conftest import fill_store

    url = f"sqlite:///{tmp_path}/casesync.db"
    fill_store(url)
    env = {k: v for k, v in cli_env(CASESYNC_DATABASE_URL=url).items() if k not in ("COLUMNS", "LINES")}
    env["FORCE_COLOR"] = ""  # honoured by rich on terminals only; a pipe stays plain regardless
    for args, whole in (
        (["dead-letters", "list"], ["outbox:4", "inbox:5", "Zendesk refused the comment: 422 RecordInvalid"]),
        (["outbox", "list"], ["outbox:1", "delivered by the next pass"]),
        (["status"], ["Age of the oldest pending change", "Cursor lag"]),
    ):
        result = run_cli(args, env, tmp_path)
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and not set("│┃━─┏┗") & set(result.stdout)
        for text in whole:
            assert any(text in line for line in result.stdout.splitlines()), (text, result.stdout)
        dates = [line for line in result.stdout.splitlines() if "+00:00" in line]
        assert dates and all(len(line.split("T")[0].split()[-1]) == 10 for line in dates), result.stdout


def _a_linked_case(db: str) -> int:
    from sync.api import SupportCases
    from sync.settings import Settings

    support = SupportCases(Settings(database_url=db))
    try:
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "u1", "ada@acme.test", "Ada", admin=True)
        case = support.submit("acme", "u1", "Printer on fire", "It is on fire.")
        with support.store.transaction() as tx:
            tx.link_ticket(case.id, 4242)
        return case.id
    finally:
        support.store.close()


def test_reconcile_backfill_and_setup_with_zendesk_unreachable(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    db = f"sqlite:///{tmp_path}/casesync.db"
    _a_linked_case(db)
    env = zendesk_env(url, CASESYNC_DATABASE_URL=db, CASESYNC_PUBLIC_URL="https://casesync.example.test")
    for args, code in ((["reconcile"], 2), (["backfill", "--since", "2024-01-01"], 1), (["setup-zendesk"], 1)):
        result = run_cli(args, env, tmp_path, timeout=120)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        assert result.stdout == "", args  # nothing raw (nor anything else) on the result's stream
        line = _reason(result.stderr)
        assert f"Zendesk is unreachable at {url}" in line and "Connection refused" in line, line
        assert "HTTPConnectionPool" not in line and "urllib3" not in line and "object at 0x" not in line, line


def test_stdlib_log_records_come_out_in_the_configured_format_with_secrets_redacted() -> None:
    import io
    import logging

    from sync.logging import configure_logging

    stream = io.StringIO()
    configure_logging("json", "INFO", stream=stream)
    try:
        logging.getLogger("urllib3.connectionpool").warning("Retrying with Authorization: Bearer s3cr3t")
        logging.getLogger("sync.retry").debug("below the level")
        logging.getLogger("sync.retry").info("retry %d of %d", 2, 5, extra={"wait_s": 1.5, "api_token": "t0k"})
    finally:
        configure_logging("json", "INFO")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["logger"], r["level"], r["event"]) for r in records] == [
        ("urllib3.connectionpool", "warning", "Retrying with Authorization: Bearer [redacted]"),
        ("sync.retry", "info", "retry 2 of 5"),
    ]
    assert all("timestamp" in r for r in records)
    assert (records[1]["wait_s"], records[1]["api_token"]) == (1.5, "[redacted]")
    handlers = [h for h in logging.getLogger().handlers if type(h).__name__ == "_BridgeHandler"]
    assert len(handlers) == 1  # configured twice, bridged once


def test_sync_once_exits_1_when_the_pass_had_failures(tmp_path: Path) -> None:
    import httpx

    from sync.api import SupportCases
    from sync.settings import Settings

    from .procs import sandbox_process

    db = f"sqlite:///{tmp_path}/casesync.db"
    support = SupportCases(Settings(database_url=db))
    try:
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "u1", "ada@acme.test", "Ada", admin=True)
        with sandbox_process(tmp_path) as url:
            env = zendesk_env(url, CASESYNC_DATABASE_URL=db)
            assert run_cli(["sync", "--once"], env, tmp_path).returncode == 0  # account and user delivered
            case = support.submit("acme", "u1", "Printer on fire", "It is on fire.")
            faults = {"seed": 1, "rules": [{"path": "^/api/v2/tickets", "method": "POST", "error_503": 1.0}]}
            assert httpx.post(f"{url}/__sandbox/faults", json=faults, timeout=10).status_code == 200
            failed = run_cli(["sync", "--once"], env, tmp_path, timeout=120)
            assert failed.returncode == 1, (failed.stdout, failed.stderr)
            assert "1 error(s) in this pass" in failed.stdout and "Traceback" not in failed.stderr
            assert len(failed.stdout.splitlines()) == 1  # the result; the log is on stderr, as JSON lines
            events = [json.loads(line)["event"] for line in failed.stderr.splitlines() if line.startswith("{")]
            assert "sync_once.finished" in events
            assert support.get("acme", case.id).ticket_id is None
            # the clean pass's exit 0 is test_cli_processes.test_sync_once_against_the_sandbox_delivers_and_exits_0
    finally:
        support.store.close()


@pytest.mark.parametrize("args", [["dead-letters", "replay", "--all"], ["dead-letters", "discard", "outbox:1", "-y"]])
def test_dead_letter_actions_need_an_existing_store(tmp_path: Path, args: list[str]) -> None:
    result = run_cli(args, cli_env(CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/casesync.db"), tmp_path)
    assert result.returncode == 2 and "casesync migrate" in _reason(result.stderr)
    assert list(tmp_path.iterdir()) == []


def test_zendesk_commands_keep_logs_on_stderr_and_backfill_reports_progress(tmp_path: Path) -> None:
    from .procs import sandbox_process

    db = f"sqlite:///{tmp_path}/casesync.db"
    _a_linked_case(db)
    with sandbox_process(tmp_path) as url:
        env = zendesk_env(url, CASESYNC_DATABASE_URL=db, CASESYNC_PUBLIC_URL="https://casesync.example.test",
                          CASESYNC_LOG_FORMAT="json")
        for args, code, says, event in (
            (["backfill", "--since", "2024-01-01"], 0, "Imported 0 ticket(s)", "backfill.progress"),
            # ticket 4242 does not exist in this Zendesk: drift found and not repaired
            (["reconcile", "--json"], 1, '"kind": "vanished"', "reconciled"),
            (["setup-zendesk"], 0, "CASESYNC_WEBHOOK_SECRET", None),
        ):
            result = run_cli(args, env, tmp_path, timeout=120)
            assert result.returncode == code, (args, result.stdout, result.stderr)
            assert says in result.stdout, (args, result.stdout)
            assert not any(line.startswith('{"event"') for line in result.stdout.splitlines()), result.stdout
            events = [json.loads(line) for line in result.stderr.splitlines()]  # every stderr line is a log event
            if event is not None:
                assert event in [e["event"] for e in events], (args, result.stderr)
        progress = [json.loads(line) for line in run_cli(["backfill", "--since", "2024-01-01"], env, tmp_path)
                    .stderr.splitlines() if "backfill.progress" in line]
        assert progress and {"pages", "tickets_seen", "imported"} <= set(progress[-1])
