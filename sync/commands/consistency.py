"""``casesync reconcile [--repair]``, ``backfill --since DATE`` and ``setup-zendesk``.

Thin argument parsing around :mod:`sync.consistency`, which does the work, prints its report and returns
the exit code (reconcile: 0 ran, 1 drift found and not repaired, 2 error).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

__all__ = ["parse_since", "register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``reconcile``, ``backfill`` and ``setup-zendesk`` to the command line."""
    reconcile = sub.add_parser(
        "reconcile",
        help="compare every linked case with its ticket; --repair queues the fixes",
        description="Find drift between the store and Zendesk. Exit 0 when it ran (with or without repairs), "
        "1 when drift was found and not repaired, 2 on error.",
    )
    reconcile.add_argument("--repair", action="store_true", help="queue repairs for the drift found")
    reconcile.add_argument("--json", action="store_true", help="print the report (drift, cases not judged) as JSON")
    reconcile.set_defaults(handler=_reconcile)

    backfill = sub.add_parser(
        "backfill",
        help="import existing console tickets from Zendesk (resumable)",
        description="Import every console ticket updated since --since; running it again with the same date "
        "resumes an interrupted run.",
    )
    backfill.add_argument("--since", required=True, type=parse_since, help="ISO date or time, e.g. 2024-01-01")
    backfill.add_argument(
        "--create-users", action="store_true", help="create console users for requesters not known yet"
    )
    backfill.set_defaults(handler=_backfill)

    setup = sub.add_parser(
        "setup-zendesk",
        help="create the 'Console case' field and the webhook in Zendesk; check CCs are enabled",
        description="Prepare a Zendesk account for casesync (uses CASESYNC_PUBLIC_URL for the webhook).",
    )
    setup.set_defaults(handler=_setup)


def parse_since(text: str) -> datetime:
    """``2024-01-01`` or ``2024-01-01T12:00:00+02:00``; a time without a zone is UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date such as 2024-01-01") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _reconcile(args: argparse.Namespace) -> int:
    from sync.commands._common import load, stdout_console
    from sync.consistency import reconcile_command

    return reconcile_command(load(), repair=args.repair, console=stdout_console(), as_json=args.json)


def _backfill(args: argparse.Namespace) -> int:
    from sync.commands._common import load, stdout_console
    from sync.consistency import backfill_command

    return backfill_command(load(), since=args.since, create_users=args.create_users, console=stdout_console())


def _setup(_args: argparse.Namespace) -> int:
    from sync.commands._common import load, stdout_console
    from sync.consistency import setup_zendesk_command

    return setup_zendesk_command(load(), console=stdout_console())
