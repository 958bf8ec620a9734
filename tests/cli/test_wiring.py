"""In-process wiring: the reconcile schedule hook, ``demo`` delegation, ``healthcheck`` and error lines."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sync.cli import error_line
from sync.commands.serve import _schedule_reconcile, load_reconciler
from sync.consistency import DriftReport
from sync.errors import ConfigurationError
from sync.settings import Settings
from sync.store import open_store

Cli = Callable[..., tuple[int, str, str]]


class FakeReconciler:
    """Counts the schedule's runs and whether each one repairs."""

    def __init__(self) -> None:
        self.runs: list[bool] = []

    def run(self, repair: bool) -> DriftReport:
        self.runs.append(repair)
        return DriftReport(at=datetime(2026, 1, 1, tzinfo=UTC))


def test_serve_schedules_the_consistency_reconciler(tmp_path: Path) -> None:
    from sync.consistency import Reconciler

    store = open_store(f"sqlite:///{tmp_path}/c.db")
    try:
        assert isinstance(load_reconciler(store, object(), Settings()), Reconciler)  # type: ignore[arg-type]
    finally:
        store.close()


class Ticks:
    """A stand-in for the stop event: ``wait`` returns at once, False ``n`` times (n intervals), then True."""

    def __init__(self, n: int) -> None:
        self.left = n

    def wait(self, _timeout: float | None = None) -> bool:
        self.left -= 1
        return self.left < 0


def test_the_reconcile_schedule_runs_with_repair_on_one_replica_per_interval(tmp_path: Path) -> None:
    reconciler = FakeReconciler()
    settings = Settings(database_url=f"sqlite:///{tmp_path}/c.db", reconcile_interval_s=3600)
    store = open_store(settings.database_url)
    try:
        running = types.SimpleNamespace(paused=None)  # the Zendesk connection is not paused
        first, second = (
            types.SimpleNamespace(store=store, gateway=object(), worker_id=f"replica-{n}", connection=running)
            for n in (1, 2)
        )
        _schedule_reconcile(first, settings, Ticks(2), reconciler)()  # type: ignore[arg-type]
        assert reconciler.runs == [True, True]  # each interval, with repair
        _schedule_reconcile(second, settings, Ticks(3), reconciler)()  # type: ignore[arg-type]
        assert reconciler.runs == [True, True]  # the first replica holds this interval's lease
    finally:
        store.close()


def test_demo_delegates_to_run_demo(monkeypatch: pytest.MonkeyPatch, cli: Cli) -> None:
    calls: list[bool] = []
    module = types.ModuleType("sync.demo")

    def run_demo(*, verbose: bool = True) -> int:
        calls.append(verbose)
        return 3

    module.run_demo = run_demo  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sync.demo", module)
    assert cli("demo")[0] == 3
    assert cli("demo", "--quiet")[0] == 3
    assert calls == [True, False]


def test_healthcheck_with_nothing_listening_or_a_bad_port(monkeypatch: pytest.MonkeyPatch, cli: Cli) -> None:
    from .procs import free_port

    monkeypatch.setenv("CASESYNC_HTTP_PORT", str(free_port()))
    code, _, err = cli("healthcheck", "--timeout", "1")
    assert code == 1 and err.startswith("unhealthy:")
    monkeypatch.setenv("CASESYNC_HTTP_PORT", "eighty")
    code, _, err = cli("healthcheck")
    assert code == 1 and "CASESYNC_HTTP_PORT" in err


def test_error_lines_are_single_lines_without_secrets() -> None:
    from sqlalchemy.exc import OperationalError

    assert error_line(ConfigurationError("CASESYNC_X: bad\nmore")) == "CASESYNC_X: bad"
    exc = OperationalError("SELECT 1", {}, Exception('connection to "db" failed\n  hint'))
    line = error_line(exc)
    assert line.startswith("CASESYNC_DATABASE_URL: the database cannot be used:") and "\n" not in line
    assert error_line(RuntimeError("boom\nstack")) == "RuntimeError: boom"
