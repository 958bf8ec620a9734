"""The functions behind ``casesync reconcile``, ``backfill`` and ``setup-zendesk``.

Each prints its result to the given :class:`rich.console.Console` (standard output) and returns the exit
code (docs/design.md §6 and §8): the CLI only parses arguments and calls them.  A failure is one line on
stderr, never a traceback and never on the result's stream:

* configuration and database errors, and credentials Zendesk refuses: exit 2;
* Zendesk unreachable or answering an error: exit 1 for ``backfill`` and ``setup-zendesk`` (the job
  failed, a later run may succeed), 2 for ``reconcile``, whose contract is "2 on error".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from rich.console import Console

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


def _guarded(settings: Settings, what: str, body: Callable[[], int], *, zendesk_error_code: int | None = None) -> int:
    from sync.commands._failures import describe_zendesk_failure

    try:
        return body()
    except BrokenPipeError:
        raise  # the reader went away: the CLI ends quietly
    except Exception as exc:
        described = describe_zendesk_failure(exc, settings)
        if described is not None:
            code, line = described
            if zendesk_error_code is not None and code != EXIT_ERROR:
                code = zendesk_error_code
        else:
            # casesync's own errors and database errors outside its types: still one line.
            code = EXIT_ERROR
            line = str(exc) if isinstance(exc, CaseSyncError) else f"{type(exc).__name__}: {exc}"
        print(f"casesync {what}: {' '.join(line.split())}", file=sys.stderr, flush=True)
        return code


def reconcile_command(settings: Settings, *, repair: bool, console: Console, as_json: bool = False) -> int:
    """``casesync reconcile [--repair] [--json]``: 0 when it ran (with or without repairs), 1 when drift was
    found and not repaired, 2 on error (including a check that could not be completed)."""

    def body() -> int:
        with _wired(settings) as (store, gateway):
            report = Reconciler(store, gateway, settings).run(repair)
        if as_json:
            console.out(json.dumps(report.as_json(repair=repair), indent=2), highlight=False)
        else:
            render_report(report, console, repair=repair)
        if report.errors:
            return EXIT_ERROR
        return EXIT_DRIFT if report.drift and not repair else EXIT_OK

    return _guarded(settings, "reconcile", body, zendesk_error_code=EXIT_ERROR)


def backfill_command(settings: Settings, *, since: datetime, create_users: bool, console: Console) -> int:
    """``casesync backfill --since DATE [--create-users]``: 0 when every ticket was imported or skipped.

    Progress (one log line per export page, and every wait for the export's budget) goes to the log on
    stderr; the result to ``console``.
    """

    def body() -> int:
        with _wired(settings) as (store, gateway):
            result = Backfiller(store, gateway, settings).run(since, create_users=create_users)
        result.render(console, since=since)
        return EXIT_OK

    return _guarded(settings, "backfill", body)


def setup_zendesk_command(settings: Settings, *, console: Console) -> int:
    """``casesync setup-zendesk``: 0 when the field and webhook exist and CCs are on; 1 when CCs are off."""

    def body() -> int:
        settings.require_zendesk()
        outcome = ZendeskSetup(ZendeskGateway(settings), settings).run()
        outcome.render(console)
        return EXIT_OK if outcome.ok else EXIT_DRIFT

    return _guarded(settings, "setup-zendesk", body)
