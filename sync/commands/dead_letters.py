"""``casesync dead-letters list|show|replay|discard``: what failed for good, and putting it right.

Dead letters live in two queues: the outbox (console changes that Zendesk refused) and the inbox (Zendesk
changes that could not be applied).  They are named ``outbox:12`` / ``inbox:3``; a bare number is accepted
when ``--queue`` says which, or when only one queue has a dead letter with that number.  Only the database
is needed (``CASESYNC_DATABASE_URL``), and it must exist: no action creates a database or a schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from sync.commands import EXIT_CONFIG, EXIT_FAILED, EXIT_OK

if TYPE_CHECKING:
    from sync.store import DeadLetter, Store

__all__ = ["letter_name", "parse_letter_id", "register", "run"]

_QUEUES = ("outbox", "inbox")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``dead-letters`` and its actions to the command line."""
    parser = sub.add_parser(
        "dead-letters",
        help="list, show, replay or discard dead letters (needs only the database)",
        description="Dead letters: changes that failed for good, with their reasons. "
        "Ids look like outbox:12 or inbox:3.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions")
    actions.required = True

    def with_queue(p: argparse.ArgumentParser) -> None:
        p.add_argument("--queue", choices=_QUEUES, help="the queue of a bare numeric id")

    listing = actions.add_parser("list", help="list dead letters with their reasons")
    listing.add_argument("--json", action="store_true", help="print them as JSON")
    show = actions.add_parser("show", help="show one dead letter in full")
    show.add_argument("id", help="outbox:N, inbox:N, or N with --queue")
    show.add_argument("--json", action="store_true", help="print it as JSON")
    with_queue(show)
    replay = actions.add_parser("replay", help="put one dead letter (or --all) back in its queue, due now")
    replay.add_argument("id", nargs="?", help="outbox:N, inbox:N, or N with --queue")
    replay.add_argument("--all", action="store_true", help="replay every dead letter")
    with_queue(replay)
    discard = actions.add_parser("discard", help="drop one dead letter for good (asks for confirmation)")
    discard.add_argument("id", help="outbox:N, inbox:N, or N with --queue")
    discard.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    with_queue(discard)
    parser.set_defaults(handler=run)


def letter_name(letter: DeadLetter) -> str:
    """The id an operator types: ``outbox:12`` or ``inbox:3``."""
    return f"{letter.queue}:{letter.id}"


def parse_letter_id(text: str, queue: str | None) -> tuple[str | None, int]:
    """``"outbox:12"`` → ("outbox", 12); ``"12"`` → (queue, 12).  ValueError for anything else."""
    name, sep, number = text.strip().partition(":")
    if sep:
        if name not in _QUEUES or not number.isdigit():
            raise ValueError(f"{text!r} is not a dead-letter id (expected outbox:N or inbox:N)")
        if queue is not None and queue != name:
            raise ValueError(f"{text!r} contradicts --queue {queue}")
        return name, int(number)
    if not name.isdigit():
        raise ValueError(f"{text!r} is not a dead-letter id (expected outbox:N, inbox:N or N)")
    return queue, int(name)


def _find(letters: list[DeadLetter], text: str, queue: str | None) -> DeadLetter | str:
    """The dead letter named by ``text``, or a one-line reason why there is none."""
    try:
        wanted_queue, number = parse_letter_id(text, queue)
    except ValueError as exc:
        return str(exc)
    found = [d for d in letters if d.id == number and (wanted_queue is None or d.queue == wanted_queue)]
    if not found:
        where = f"{wanted_queue}:{number}" if wanted_queue else str(number)
        return f"no dead letter {where} (see `casesync dead-letters list`)"
    if len(found) > 1:
        return f"both outbox:{number} and inbox:{number} are dead letters: name one (outbox:{number} or inbox:{number})"
    return found[0]


def _as_dict(letter: DeadLetter) -> dict[str, object]:
    return {
        "id": letter_name(letter),
        "queue": letter.queue,
        "kind": letter.kind,
        "account_id": letter.account_id,
        "case_id": letter.case_id,
        "ticket_id": letter.ticket_id,
        "attempts": letter.attempts,
        "reason": letter.reason,
        "created_at": letter.created_at.isoformat(timespec="seconds"),
        "payload": letter.payload,
    }


def _replay(store: Store, letter: DeadLetter) -> bool:
    if letter.queue == "outbox":
        return store.replay(letter.id)
    with store.transaction() as tx:
        return tx.replay_inbox(letter.id)


def _discard(store: Store, letter: DeadLetter) -> bool:
    if letter.queue == "outbox":
        return store.discard(letter.id)
    with store.transaction() as tx:
        return tx.discard_inbox(letter.id)


def _confirm(letter: DeadLetter) -> bool:
    what = f"{letter_name(letter)} ({letter.kind}" + (f", case {letter.case_id}" if letter.case_id else "") + ")"
    print(f"Discard {what} for good? The change it holds will never be delivered. [y/N] ", end="", flush=True)
    try:
        answer = sys.stdin.readline()
    except (OSError, KeyboardInterrupt):
        answer = ""
    if not answer:
        print()  # end the prompt line when stdin is closed
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    """Carry out ``args.action``."""
    from sync.commands._common import err, load, open_existing_database

    if getattr(args, "id", None):
        try:
            parse_letter_id(args.id, args.queue)
        except ValueError as exc:  # a malformed id is bad usage, whatever the store holds
            err(f"casesync dead-letters {args.action}: {exc}")
            return EXIT_CONFIG
    # Every action needs a store that already exists: list and show only read it, and there is nothing
    # to replay or discard in a database this command would have to create.
    store = open_existing_database(load())
    try:
        with store.read() as tx:
            letters = tx.dead_letters()
        if args.action == "list":
            return _list(letters, as_json=args.json)
        if args.action == "replay" and args.all:
            if args.id:
                err("casesync dead-letters replay: give an id or --all, not both")
                return EXIT_CONFIG
            replayed = [letter_name(d) for d in letters if _replay(store, d)]
            print(f"replayed {len(replayed)} dead letter(s)" + (f": {', '.join(replayed)}" if replayed else ""))
            return EXIT_OK
        if not args.id:
            alternative = " or --all" if args.action == "replay" else ""
            err(f"casesync dead-letters {args.action}: give a dead-letter id{alternative}")
            return EXIT_CONFIG
        found = _find(letters, args.id, args.queue)
        if isinstance(found, str):
            err(f"casesync dead-letters {args.action}: {found}")
            return EXIT_FAILED
        if args.action == "show":
            return _show(found, as_json=args.json)
        if args.action == "replay":
            done = _replay(store, found)
            print(f"replayed {letter_name(found)}" if done else f"{letter_name(found)} is no longer a dead letter")
            return EXIT_OK if done else EXIT_FAILED
        if not args.yes and not _confirm(found):
            err(f"casesync dead-letters discard: {letter_name(found)} kept (not confirmed)")
            return EXIT_FAILED
        done = _discard(store, found)
        print(f"discarded {letter_name(found)}" if done else f"{letter_name(found)} is no longer a dead letter")
        return EXIT_OK if done else EXIT_FAILED
    finally:
        store.close()


def _list(letters: list[DeadLetter], *, as_json: bool) -> int:
    if as_json:
        print(json.dumps([_as_dict(d) for d in letters], indent=2, default=str))
        return EXIT_OK
    from rich.markup import escape

    from sync.commands._common import stdout_console
    from sync.tables import print_table

    if not letters:
        print("no dead letters")
        return EXIT_OK
    rows = [
        [
            letter_name(d), d.kind, escape(d.account_id or "—"), str(d.case_id or "—"), str(d.ticket_id or "—"),
            str(d.attempts), d.created_at.isoformat(timespec="seconds"), escape(d.reason or "—"),
        ]
        for d in letters
    ]
    columns = ["id", "kind", "account", "case", "ticket", "attempts", "since", "reason"]
    print_table(stdout_console(), f"{len(letters)} dead letter(s)", columns, rows)
    return EXIT_OK


def _show(letter: DeadLetter, *, as_json: bool) -> int:
    data = _as_dict(letter)
    if as_json:
        print(json.dumps(data, indent=2, default=str))
        return EXIT_OK
    for key, value in data.items():
        if key == "payload":
            print("payload:")
            print(json.dumps(value, indent=2, default=str, sort_keys=True))
        else:
            print(f"{key}: {'—' if value is None else value}")
    return EXIT_OK
