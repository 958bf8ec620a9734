"""``casesync status [--json]``: queue depth, dead letters, conflicts, polling, webhooks, drift.

Reads the store only (``CASESYNC_DATABASE_URL``).  Exit 0 whenever the store could be read, whatever it
shows — alerting belongs to whoever reads the figures — and 2 when it could not.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sync.commands import EXIT_OK

__all__ = ["format_value", "register", "run"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status`` to the command line."""
    parser = sub.add_parser(
        "status",
        help="show queue depth, dead letters, conflicts, polling, webhooks and drift (needs only the database)",
        description="Show how casesync is doing, read from the store alone. Exit 0 when the store could be read.",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (ISO-8601 datetimes)")
    parser.set_defaults(handler=run)


def format_value(key: str, value: Any) -> str:
    """A figure as an operator reads it: durations in s/min/h, missing values as a dash."""
    if value is None:
        return "—"
    if key.endswith("_s") and isinstance(value, int | float):
        seconds = float(value)
        if seconds < 120:
            return f"{seconds:.0f} s"
        if seconds < 7200:
            return f"{seconds / 60:.0f} min"
        if seconds < 172_800:
            return f"{seconds / 3600:.1f} h"
        return f"{seconds / 86400:.1f} d"
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Print the status as a table or JSON."""
    from datetime import UTC, datetime

    from sync.commands._common import load, open_existing_database, stdout_console
    from sync.status import STATUS_FIELDS, collect_status
    from sync.tables import print_table

    settings = load()
    store = open_existing_database(settings)
    try:
        status = collect_status(store, now=datetime.now(UTC))
    finally:
        store.close()
    if args.json:
        print(json.dumps(status, indent=2))
        return EXIT_OK

    attention = ("dead_letters", "conflicts", "reconcile_drift", "console_webhook_failures")
    rows: list[list[str]] = []
    for key, label in STATUS_FIELDS.items():
        value = status.get(key)
        text = format_value(key, value)
        if key in attention and isinstance(value, int) and value > 0:
            text = f"[bold red]{text}[/]"
        rows.append([label, text])
    print_table(stdout_console(), "casesync status", ["figure", "value"], rows, right_aligned=["value"])
    return EXIT_OK
