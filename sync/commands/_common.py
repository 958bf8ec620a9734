"""Helpers shared by the subcommands: settings, opening the store, printing."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from sync.settings import Settings
    from sync.store import Store

__all__ = [
    "err",
    "install_stop_signals",
    "load",
    "open_database",
    "open_existing_database",
    "require_zendesk",
    "start_logging",
    "start_sync_process",
    "stdout_console",
]


def load() -> Settings:
    """The settings from the environment; a bad variable is a one-line ``ConfigurationError``."""
    from sync.settings import load_settings

    return load_settings()


def require_zendesk(settings: Settings) -> None:
    """:meth:`Settings.require_zendesk`, with an empty variable (``CASESYNC_ZENDESK_TOKEN=``) counted as unset."""
    from sync.errors import ConfigurationError

    settings.require_zendesk()
    for name in ("zendesk_token", "zendesk_oauth_token"):
        secret = getattr(settings, name)
        if secret is not None and not secret.get_secret_value().strip():
            other = getattr(settings, "zendesk_oauth_token" if name == "zendesk_token" else "zendesk_token")
            if other is None or not other.get_secret_value().strip():
                raise ConfigurationError(f"CASESYNC_{name.upper()} is empty")
    if settings.zendesk_oauth_token is None and not (settings.zendesk_email or "").strip():
        raise ConfigurationError("CASESYNC_ZENDESK_EMAIL is not set (the agent paired with the token)")


def open_database(settings: Settings) -> Store:
    """Open the store and read it once, so an unreachable database or an unusable schema fails here.

    For a PostgreSQL schema that needs ``casesync migrate`` (or a newer casesync) the store raises a
    ``ConfigurationError`` that says so; a database that cannot be opened raises the driver's error,
    which :func:`sync.cli.error_line` turns into one line naming ``CASESYNC_DATABASE_URL``.
    """
    from sync.store import open_store

    store = open_store(settings.database_url)
    try:
        store.schema_status()
    except BaseException:
        store.close()
        raise
    return store


def open_existing_database(settings: Settings) -> Store:
    """Open the store for a read-only command: never create a database file or a schema.

    A SQLite file that does not exist, a database without casesync's schema, or one whose schema needs
    ``casesync migrate`` (a read must not upgrade it either) is a ``ConfigurationError`` saying so — exit 2.
    """
    from sync.errors import ConfigurationError
    from sync.store import open_store
    from sync.store.engine import normalise_url

    url = normalise_url(settings.database_url)
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :].split("?", 1)[0]
        if not os.path.isfile(path):
            raise ConfigurationError(
                f"CASESYNC_DATABASE_URL: no casesync database at {path} (run `casesync migrate` to create one,"
                " or point CASESYNC_DATABASE_URL at the service's database)"
            )
    store = open_store(settings.database_url)
    try:
        status = store.schema_status()
        if status.state == "empty":
            raise ConfigurationError(
                "CASESYNC_DATABASE_URL: the database has no casesync schema (run `casesync migrate` to create it,"
                " or point CASESYNC_DATABASE_URL at the service's database)"
            )
        if status.state != "current":
            raise ConfigurationError(f"CASESYNC_DATABASE_URL: {status.message}")
    except BaseException:
        store.close()
        raise
    return store


def stdout_console() -> Console:
    """A rich console on stdout: styled on a terminal; in a pipe plain text, no ANSI, never wrapped."""
    from sync.tables import ResultConsole

    if sys.stdout.isatty():
        return ResultConsole(highlight=False, soft_wrap=False)
    return ResultConsole(highlight=False, soft_wrap=True, no_color=True, color_system=None)


def err(*parts: Any) -> None:
    """Print one line on stderr."""
    print(*parts, file=sys.stderr, flush=True)


def install_stop_signals(stop: threading.Event, *, on_signal: Callable[[str], None] | None = None) -> None:
    """Turn SIGTERM and SIGINT into ``stop.set()`` (main thread only).

    The first signal asks for a clean stop: the item in hand is finished, the rest stays queued.  A second
    one while stopping exits at once with 130 — the operator insists; leases expire, so no work is lost.
    """
    if threading.current_thread() is not threading.main_thread():
        return

    def handle(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            os._exit(130)
        stop.set()
        if on_signal is not None:
            on_signal(name)

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def start_logging(settings: Settings) -> None:
    """Configure structlog from ``CASESYNC_LOG_FORMAT`` / ``CASESYNC_LOG_LEVEL`` (long-running commands)."""
    from sync.logging import configure_logging

    configure_logging(settings.log_format, settings.log_level)


def start_sync_process(
    *, on_stop_signal: Callable[[str], None] | None
) -> tuple[Settings, threading.Event, Store]:
    """The start of a command that syncs (``serve``, ``sync``): ``(settings, stop, store)``.

    Loads the settings (Zendesk required), starts logging, and opens the store.  With ``on_stop_signal``
    SIGTERM/SIGINT set ``stop`` (see :func:`install_stop_signals`), installed before the store is opened:
    a signal while starting up must also end in a clean stop, not a killed process.
    """
    settings = load()
    require_zendesk(settings)
    start_logging(settings)
    stop = threading.Event()
    if on_stop_signal is not None:
        install_stop_signals(stop, on_signal=on_stop_signal)
    return settings, stop, open_database(settings)
