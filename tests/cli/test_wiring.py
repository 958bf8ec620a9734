"""In-process wiring: the reconcile schedule hook, ``demo`` delegation, ``healthcheck`` and error lines."""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sync.cli import error_line
from sync.commands.serve import RECONCILER_MODULES, _schedule_reconcile, load_reconciler
from sync.errors import ConfigurationError
from sync.settings import Settings
from sync.store import open_store

Cli = Callable[..., tuple[int, str, str]]


class FakeReconciler:
    runs: list[bool] = []

    def __init__(self, store: Any, gateway: Any, settings: Settings) -> None:
        self.store, self.gateway, self.settings = store, gateway, settings

    def run(self, *, repair: bool) -> dict[str, int]:
        FakeReconciler.runs.append(repair)
        return {"drift": 0, "repaired": 0}


def test_serve_schedules_the_consistency_reconciler(tmp_path: Path) -> None:
    from sync.consistency import Reconciler

    store = open_store(f"sqlite:///{tmp_path}/c.db")
    try:
        assert isinstance(load_reconciler(store, object(), Settings()), Reconciler)
    finally:
        store.close()


def test_without_a_reconciler_the_schedule_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in RECONCILER_MODULES:
        monkeypatch.setitem(sys.modules, name, None)  # an import of it raises ModuleNotFoundError
    assert load_reconciler(None, None, Settings()) is None  # type: ignore[arg-type]


class Ticks:
    """A stand-in for the stop event: ``wait`` returns at once, False ``n`` times (n intervals), then True."""

    def __init__(self, n: int) -> None:
        self.left = n

    def wait(self, _timeout: float | None = None) -> bool:
        self.left -= 1
        return self.left < 0


def test_the_reconcile_schedule_runs_with_repair_on_one_replica_per_interval(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module = types.ModuleType("sync.consistency")
    module.Reconciler = FakeReconciler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sync.consistency", module)
    FakeReconciler.runs = []
    settings = Settings(database_url=f"sqlite:///{tmp_path}/c.db", reconcile_interval_s=3600)
    store = open_store(settings.database_url)
    try:
        first, second = (types.SimpleNamespace(store=store, gateway=object(), worker_id=f"replica-{n}") for n in (1, 2))
        loop = _schedule_reconcile(first, settings, Ticks(2))  # type: ignore[arg-type]
        assert loop is not None
        loop()
        assert FakeReconciler.runs == [True, True]  # each interval, with repair
        other = _schedule_reconcile(second, settings, Ticks(3))  # type: ignore[arg-type]
        assert other is not None
        other()
        assert FakeReconciler.runs == [True, True]  # the first replica holds this interval's lease
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
