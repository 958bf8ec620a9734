"""The functions behind ``casesync reconcile``, ``backfill`` and ``setup-zendesk``.

Each prints to the given :class:`rich.console.Console` and returns the exit code (DESIGN.md §6): the CLI only
parses arguments and calls them.  Errors are one line on the console, never a traceback: configuration,
database and Zendesk errors are exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from rich.console import Console
from rich.markup import escape

from sync.consistency.backfill import Backfiller
from sync.consistency.drift import render_report
from sync.consistency.reconcile import Reconciler
from sync.consistency.setup import ZendeskSetup
from sync.errors import CaseSyncError
from sync.gateway import ZendeskGateway
from sync.settings import Settings
from sync.store import Store, open_store

__all__ = ["EXIT_DRIFT", "EXIT_ERROR", "EXIT_OK", "backfill_command", "reconcile_command", "setup_zendesk_command"]

EXIT_OK = 0
EXIT_DRIFT = 1  # reconcile: drift found and not repaired; setup-zendesk: CCs disabled; backfill: stopped
EXIT_ERROR = 2


@contextmanager
def _wired(settings: Settings) -> Iterator[tuple[Store, ZendeskGateway]]:
    settings.require_zendesk()
    store = open_store(settings.database_url)
    try:
        yield store, ZendeskGateway(settings)
    finally:
        store.close()


def _guarded(console: Console, what: str, body: Callable[[], int]) -> int:
    try:
        return body()
    except CaseSyncError as exc:
        console.print(f"[red]{what} failed:[/red] {escape(str(exc))}")
    except Exception as exc:  # database or network errors outside casesync's own types: still one line
        console.print(f"[red]{what} failed:[/red] {type(exc).__name__}: {escape(str(exc))}")
    return EXIT_ERROR


def reconcile_command(settings: Settings, *, repair: bool, console: Console) -> int:
    """``casesync reconcile [--repair]``: 0 when it ran (with or without repairs), 1 when drift was found and
    not repaired, 2 on error (including a check that could not be completed)."""

    def body() -> int:
        with _wired(settings) as (store, gateway):
            report = Reconciler(store, gateway, settings).run(repair)
        render_report(report, console, repair=repair)
        if report.errors:
            return EXIT_ERROR
        return EXIT_DRIFT if report.drift and not repair else EXIT_OK

    return _guarded(console, "reconcile", body)


def backfill_command(settings: Settings, *, since: datetime, create_users: bool, console: Console) -> int:
    """``casesync backfill --since DATE [--create-users]``: 0 when every ticket was imported or skipped."""

    def body() -> int:
        with _wired(settings) as (store, gateway):
            result = Backfiller(store, gateway, settings, console=console).run(since, create_users=create_users)
        result.render(console)
        return EXIT_OK

    return _guarded(console, "backfill", body)


def setup_zendesk_command(settings: Settings, *, console: Console) -> int:
    """``casesync setup-zendesk``: 0 when the field and webhook exist and CCs are on; 1 when CCs are off."""

    def body() -> int:
        settings.require_zendesk()
        outcome = ZendeskSetup(ZendeskGateway(settings), settings).run()
        outcome.render(console)
        return EXIT_OK if outcome.ok else EXIT_DRIFT

    return _guarded(console, "setup-zendesk", body)
