"""``casesync trace CASE_ID`` and ``casesync outbox list``: where a case stands, what is still to deliver.

Both read the store alone (``CASESYNC_DATABASE_URL``), never create it, and print plain text in a pipe
or ``--json``.  ``trace`` exits 1 when there is no such case (in that account, with ``--account``).
States and reasons are those of :mod:`sync.case_trace`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sync.commands import EXIT_FAILED, EXIT_OK

__all__ = ["register", "render_trace", "run_outbox_list", "run_trace"]


def _case_id(text: str) -> int:
    digits = text.strip().removeprefix("#")
    if not digits.isdigit() or int(digits) >= 2**63:
        raise argparse.ArgumentTypeError(f"{text!r} is not a case number such as 1042")
    return int(digits)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``trace`` and ``outbox list`` to the command line."""
    trace = sub.add_parser(
        "trace",
        help="show where a case stands: its ticket, outbox entries (held and why), inbound, feed",
        description="Where a case stands, read from the store alone: its ticket, its outbox entries "
        "(pending, held and why, dead), what was last applied from its ticket, its recent feed entries. "
        "Exit 1 when there is no such case.",
    )
    trace.add_argument("case_id", type=_case_id, metavar="CASE_ID", help="the console's case number, e.g. 1042")
    trace.add_argument("--account", help="only if the case belongs to this account")
    trace.add_argument("--json", action="store_true", help="print it as JSON")
    trace.set_defaults(handler=run_trace)

    outbox = sub.add_parser(
        "outbox", help="list the console changes not delivered to Zendesk yet (needs only the database)",
        description="The outbox: console changes waiting for Zendesk, with their state and why.",
    )
    actions = outbox.add_subparsers(dest="action", metavar="ACTION", title="actions")
    actions.required = True
    listing = actions.add_parser("list", help="list pending and held entries, oldest first, with why")
    listing.add_argument("--json", action="store_true", help="print them as JSON")
    listing.add_argument("--limit", type=int, default=1000, help="at most this many entries (default 1000)")
    listing.set_defaults(handler=run_outbox_list)


def _open() -> Any:
    from sync.commands._common import load, open_existing_database

    return open_existing_database(load())


def run_trace(args: argparse.Namespace) -> int:
    """Print where the case stands."""
    from datetime import UTC, datetime

    from sync.case_trace import trace_case
    from sync.commands._common import err, stdout_console

    store = _open()
    try:
        trace = trace_case(store, args.case_id, account_id=args.account, now=datetime.now(UTC))
    finally:
        store.close()
    if trace is None:
        where = f" in account {args.account!r}" if args.account else ""
        err(f"casesync trace: no case #{args.case_id}{where}")
        return EXIT_FAILED
    if args.json:
        print(json.dumps(trace, indent=2))
        return EXIT_OK
    render_trace(trace, stdout_console())
    return EXIT_OK


def render_trace(trace: dict[str, Any], console: Any) -> None:
    """The trace as text: a few lines about the case, then one table per section."""
    from rich.markup import escape

    from sync.tables import print_table

    case = trace["case"]
    inbound = trace["last_inbound"]
    lines = [
        f"case #{case['id']} of account {case['account_id']}: {case['status']}"
        + (f" (closed by {case['closed_by']})" if case["closed_by"] else ""),
        f"subject: {case['subject']}",
        "ticket: " + (f"#{trace['ticket_id']}" if trace["ticket_id"] else "none yet (the submit is not delivered)"),
        "last applied from Zendesk: "
        + (f"ticket {inbound['ticket_status']} as of {inbound['ticket_updated_at']}" if inbound else "nothing yet"),
    ]
    for line in lines:
        console.out(line, highlight=False)
    sections = (
        ("outbox", ["id", "kind", "state", "attempts", "created", "why"],
         [[e["id"], e["kind"], e["state"], str(e["attempts"]), e["created_at"] or "—", escape(e["why"])]
          for e in trace["outbox"]]),
        ("inbox (changes read from its ticket)", ["id", "source", "status", "attempts", "created", "last error"],
         [[e["id"], e["source"], e["status"], str(e["attempts"]), e["created_at"] or "—",
           escape(e["last_error"] or "—")] for e in trace["inbox"]]),
        ("feed (latest last)", ["seq", "kind", "at", "detail"],
         [[str(e["seq"]), e["kind"], e["at"] or "—", escape(e["detail"])] for e in trace["feed"]]),
    )
    for title, columns, rows in sections:
        console.out("", highlight=False)
        if rows:
            print_table(console, title, columns, rows)
        else:
            console.out(f"{title}: none", highlight=False)


def run_outbox_list(args: argparse.Namespace) -> int:
    """Print the pending and held outbox entries."""
    from datetime import UTC, datetime

    from rich.markup import escape

    from sync.case_trace import pending_outbox
    from sync.commands._common import stdout_console
    from sync.tables import print_table

    store = _open()
    try:
        entries = pending_outbox(store, now=datetime.now(UTC), limit=max(1, args.limit))
    finally:
        store.close()
    if args.json:
        print(json.dumps(entries, indent=2))
        return EXIT_OK
    if not entries:
        print("nothing waiting in the outbox")
        return EXIT_OK
    held = sum(1 for e in entries if e["state"] == "held")
    rows = [
        [e["id"], e["kind"], escape(e["account_id"] or "—"), str(e["case_id"] or "—"), e["state"],
         str(e["attempts"]), e["created_at"] or "—", escape(e["why"])]
        for e in entries
    ]
    columns = ["id", "kind", "account", "case", "state", "attempts", "created", "why"]
    print_table(stdout_console(), f"{len(entries)} outbox entries not delivered ({held} held)", columns, rows)
    return EXIT_OK
