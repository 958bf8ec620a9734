"""The ``casesync`` command line.

``main(argv)`` parses the arguments, runs one subcommand (see :mod:`sync.commands`) and returns its exit
code.  The house style of every command:

* standard output carries the command's result only; logs (structlog, and the standard library's
  ``logging`` bridged into it) go to stderr in the format ``CASESYNC_LOG_FORMAT`` names;
* every error an operator can cause — a missing or malformed variable, an unreachable database, bad
  usage — ends as one line on stderr naming what to fix, with exit code 2, never a traceback; Zendesk
  being unreachable is one line and exit 1 (see :mod:`sync.commands._failures`);
* a reader that goes away (``casesync status --json | head -1``) ends the command quietly with exit 0.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from sync.commands import COMMAND_MODULES, EXIT_CONFIG, EXIT_FAILED, EXIT_OK

__all__ = ["build_parser", "error_line", "main"]

_EPILOG = """\
configuration: CASESYNC_* environment variables (or a .env file); `status`, `migrate` and
`dead-letters` need only CASESYNC_DATABASE_URL.
exit codes: 0 done; 1 done but something failed (Zendesk unreachable, a sync pass with errors,
drift not repaired); 2 bad usage, a configuration error, or the store missing or unusable.
logs go to stderr (CASESYNC_LOG_FORMAT, CASESYNC_LOG_LEVEL); stdout carries only the result."""


def build_parser() -> argparse.ArgumentParser:
    """The full parser: one subparser per command module of :data:`sync.commands.COMMAND_MODULES`."""
    parser = argparse.ArgumentParser(
        prog="casesync",
        description="Keeps a management console's support cases and Zendesk tickets in sync, both ways.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"casesync {_version()}")
    parser.add_argument(
        "--traceback", action="store_true", help="on an unexpected error, print the full traceback (for bug reports)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("casesync")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
        return "unknown"


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
    except SystemExit as exc:  # --help, --version, or a usage error (argparse prints it and exits with 2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_CONFIG
    try:
        _start_logging()
        code: int = args.handler(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        print("casesync: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _report_failure(args, exc)


def _start_logging() -> None:
    """Logs to stderr in the configured format, for every command (a bad level or format is exit 2)."""
    from sync.logging import configure_logging
    from sync.settings import load_log_settings

    chosen = load_log_settings()
    configure_logging(chosen.log_format, chosen.log_level)


def _silence_stdout() -> None:
    # The reader closed the pipe: the rest of the output has nobody to go to.  Point stdout at /dev/null
    # so the interpreter's final flush does not raise again ("Exception ignored ... BrokenPipeError").
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (in-process tests): nothing to flush
        pass


def _report_failure(args: argparse.Namespace, exc: Exception) -> int:
    """One line on stderr; exit 2 for configuration and database errors, Zendesk's own code, else 1."""
    from sync.errors import ConfigurationError

    if args.traceback:
        import traceback

        traceback.print_exc()
    known = isinstance(exc, ConfigurationError) or "sqlalchemy" in type(exc).__module__
    zendesk = None if known else _zendesk_failure(exc)
    if zendesk is not None:
        code, line = zendesk
    else:
        code, line = (EXIT_CONFIG if known else EXIT_FAILED), error_line(exc)
    print(f"casesync {args.command}: {line}", file=sys.stderr)
    return code


def _zendesk_failure(exc: Exception) -> tuple[int, str] | None:
    """:func:`sync.commands._failures.describe_zendesk_failure` of ``exc``, if the settings can be read."""
    from sync.commands._failures import describe_zendesk_failure
    from sync.settings import load_settings

    try:
        settings = load_settings()
    except Exception:  # the command failed before its settings were valid: not a Zendesk failure
        return None
    return describe_zendesk_failure(exc, settings)


if __name__ == "__main__":  # pragma: no cover - `python -m sync.cli`
    sys.exit(main())
