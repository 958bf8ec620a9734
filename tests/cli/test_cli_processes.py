"""``casesync`` as an operator runs it: the help, configuration errors and ``sync --once`` exit codes."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .procs import CASESYNC, cli_env, run_cli, running, sandbox_process, wait_until, zendesk_env

COMMANDS = ("demo", "sandbox", "serve", "sync", "status", "dead-letters", "reconcile", "backfill", "setup-zendesk",
            "migrate", "healthcheck")


@pytest.fixture(scope="module")
def sandbox_process_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with sandbox_process(tmp_path_factory.mktemp("sandbox")) as url:
        yield url


@pytest.fixture
def sandbox_url(sandbox_process_url: str) -> str:
    """The module's sandbox, emptied: each test's fresh store numbers its cases from 1 again."""
    assert httpx.post(f"{sandbox_process_url}/__sandbox/reset", timeout=10).status_code == 200
    return sandbox_process_url


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_help_lists_every_command(tmp_path: Path) -> None:
    result = run_cli(["--help"], cli_env(), tmp_path)
    assert result.returncode == 0
    for command in COMMANDS:
        assert f"\n    {command}" in result.stdout, command
    assert "exit codes" in result.stdout
    usage = run_cli(["no-such-command"], cli_env(), tmp_path)
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


@pytest.mark.parametrize(
    ("args", "variables", "named"),
    [
        (["sync", "--once"], {"CASESYNC_ZENDESK_URL": "https://acme.zendesk.com", "CASESYNC_ZENDESK_EMAIL": "a@b.test"},
         "CASESYNC_ZENDESK_TOKEN"),
        (["serve"], {"CASESYNC_ZENDESK_URL": "https://acme.zendesk.com", "CASESYNC_ZENDESK_EMAIL": "a@b.test",
                     "CASESYNC_ZENDESK_TOKEN": ""}, "CASESYNC_ZENDESK_TOKEN"),
        (["sync", "--once"], {"CASESYNC_ZENDESK_URL": "acme.zendesk.com", "CASESYNC_ZENDESK_TOKEN": "t"},
         "CASESYNC_ZENDESK_URL"),
        (["serve"], {"CASESYNC_ZENDESK_URL": "http://localhost:8080", "CASESYNC_ZENDESK_TOKEN": "t"},
         "CASESYNC_ZENDESK_URL"),
        (["status"], {"CASESYNC_DATABASE_URL": "sqlite:////nonexistent-dir/deeper/casesync.db"},
         "CASESYNC_DATABASE_URL"),
        (["migrate"], {"CASESYNC_DATABASE_URL": "mysql://db.example.test/casesync"}, "CASESYNC_DATABASE_URL"),
        (["dead-letters", "list"], {"CASESYNC_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/casesync"},
         "CASESYNC_DATABASE_URL"),
        (["serve"], {"CASESYNC_HTTP_PORT": "eighty"}, "CASESYNC_HTTP_PORT"),
    ],
)
def test_configuration_errors_are_one_line_naming_the_variable(
    tmp_path: Path, args: list[str], variables: dict[str, str], named: str
) -> None:
    env = cli_env(**{"CASESYNC_DATABASE_URL": f"sqlite:///{tmp_path}/c.db", **variables})
    result = run_cli(args, env, tmp_path)
    assert result.returncode == 2, result.stderr
    assert named in _one_line(result.stderr)


def test_zendesk_commands_without_credentials_exit_2(tmp_path: Path) -> None:
    env = cli_env(CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/c.db")
    for args in (["reconcile"], ["backfill", "--since", "2024-01-01"], ["setup-zendesk"]):
        result = run_cli(args, env, tmp_path)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "CASESYNC_ZENDESK_URL" in result.stdout + result.stderr
        assert "Traceback" not in result.stdout + result.stderr
    assert run_cli(["backfill", "--since", "yesterday"], env, tmp_path).returncode == 2


def test_sync_once_against_the_sandbox_delivers_and_exits_0(sandbox_url: str, tmp_path: Path) -> None:
    from sync.api import SupportCases
    from sync.settings import Settings

    db = f"sqlite:///{tmp_path}/casesync.db"
    support = SupportCases(Settings(database_url=db))
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "u1", "ada@acme.test", "Ada", admin=True)
    case = support.submit("acme", "u1", "Printer on fire", "It is on fire.")
    assert support.get("acme", case.id).ticket_id is None

    result = run_cli(["sync", "--once"], zendesk_env(sandbox_url, CASESYNC_DATABASE_URL=db), tmp_path)
    assert result.returncode == 0, result.stderr
    assert "delivered" in result.stdout
    assert support.get("acme", case.id).ticket_id is not None
    support.store.close()


def test_sync_without_once_runs_until_sigterm(sandbox_url: str, tmp_path: Path) -> None:
    from sync.api import SupportCases
    from sync.settings import Settings

    db = f"sqlite:///{tmp_path}/casesync.db"
    support = SupportCases(Settings(database_url=db))
    try:
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "u1", "ada@acme.test", "Ada", admin=True)
        with running([*CASESYNC, "sync"], zendesk_env(sandbox_url, CASESYNC_DATABASE_URL=db), tmp_path) as proc:
            case = support.submit("acme", "u1", "Worker loop", "Delivered by the loop.")
            wait_until(lambda: support.get("acme", case.id).ticket_id, timeout=20, what="the loop's delivery")
            proc.signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0, proc.output()
    finally:
        support.store.close()


def test_sync_once_with_a_wrong_token_exits_2_naming_it(sandbox_url: str, tmp_path: Path) -> None:
    env = zendesk_env(sandbox_url, CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/c.db", CASESYNC_ZENDESK_TOKEN="wrong")
    result = run_cli(["sync", "--once"], env, tmp_path)
    assert result.returncode == 2
    line = _first(result.stderr)
    assert "CASESYNC_ZENDESK_TOKEN" in line and "refused" in line and "401" in line


def test_sync_once_with_zendesk_unreachable_exits_1_quickly(tmp_path: Path) -> None:
    env = zendesk_env("http://127.0.0.1:1", CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/c.db")
    started = time.monotonic()
    result = run_cli(["sync", "--once"], env, tmp_path)
    assert result.returncode == 1
    line = _first(result.stderr)
    assert "unreachable" in line and "127.0.0.1:1" in line and "refused" in line.lower()
    assert time.monotonic() - started < 20


def _first(stderr: str) -> str:
    """The command's one-line reason (the JSON log lines that follow it are for log collectors)."""
    assert "Traceback" not in stderr
    reasons = [line for line in stderr.splitlines() if line.startswith("casesync ")]
    assert len(reasons) == 1, stderr
    return reasons[0]
