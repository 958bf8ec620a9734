"""The ``casesync`` command line.

``main(argv)`` parses the arguments, runs one subcommand (see :mod:`sync.commands`) and returns its exit
code.  Every error an operator can cause — a missing or malformed variable, an unreachable database — ends
as one line on stderr naming what to fix, with exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sync.commands import COMMAND_MODULES, EXIT_CONFIG, EXIT_FAILED

__all__ = ["build_parser", "error_line", "main"]

_EPILOG = """\
configuration: CASESYNC_* environment variables (or a .env file); `status`, `migrate` and
`dead-letters` need only CASESYNC_DATABASE_URL.
exit codes: 0 done; 1 the job failed (Zendesk unreachable, unhealthy, nothing to act on);
2 configuration or database error, or bad usage."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser: one subparser per command module of :data:`sync.commands.COMMAND_MODULES`."""
    parser = argparse.ArgumentParser(
        prog="casesync",
        description="Keeps a management console's support cases and Zendesk tickets in sync, both ways.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--traceback", action="store_true", help="on an unexpected error, print the full traceback (for bug reports)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def error_line(exc: BaseException) -> str:
    """One line describing ``exc`` for an operator; database driver errors name CASESYNC_DATABASE_URL."""
    from sync.errors import ConfigurationError

    if isinstance(exc, ConfigurationError):
        return _first_line(str(exc)) or type(exc).__name__
    sa_exc = sys.modules.get("sqlalchemy.exc")  # only loaded when a command touched the database
    if sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError):
        # The driver's own message, never the URL (it may hold a password).
        origin = getattr(exc, "orig", None) or exc
        return f"CASESYNC_DATABASE_URL: the database cannot be used: {_first_line(str(origin))}"
    return f"{type(exc).__name__}: {_first_line(str(exc))}"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``casesync`` with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:  # --help, or a usage error (argparse prints it and exits with 2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_CONFIG
    try:
        code: int = args.handler(args)
        return code
    except KeyboardInterrupt:
        print("casesync: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from sync.errors import ConfigurationError

        if args.traceback:
            import traceback

            traceback.print_exc()
        line = error_line(exc)
        print(f"casesync {args.command}: {line}", file=sys.stderr)
        known = isinstance(exc, ConfigurationError) or "sqlalchemy" in type(exc).__module__
        return EXIT_CONFIG if known else EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover - `python -m sync.cli`
    sys.exit(main())
