"""The ``casesync`` subcommands, one module per command or concept.

Every module exposes ``register(subparsers)``, which adds its parser and sets ``handler`` to a function
taking the parsed arguments and returning an exit code.  Modules import only the standard library at the
top: the heavy imports (SQLAlchemy, zenpy, uvicorn) happen inside the handlers, so ``casesync --help`` and
``casesync healthcheck`` (the container's health probe) start fast and need nothing configured.

Exit codes shared by every command:

* ``0`` — done (for ``status``: the store could be read, whatever it shows);
* ``1`` — done but something failed (Zendesk unreachable, a ``sync --once`` pass with any delivery or
  poll error, drift found and not repaired, unhealthy, a dead letter or case not found, a discard declined);
* ``2`` — bad usage, a configuration error (a one-line message naming the variable), or the store
  unusable (unreachable, missing, or without casesync's schema for a read-only command).

Logs go to stderr only (see :mod:`sync.cli`); standard output carries the command's result.
"""

from __future__ import annotations

__all__ = ["COMMAND_MODULES", "EXIT_CONFIG", "EXIT_FAILED", "EXIT_OK"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

#: The modules registering subcommands, in the order ``casesync --help`` lists them.
COMMAND_MODULES = (
    "sync.commands.demo",
    "sync.commands.serve",
    "sync.commands.sync_once",
    "sync.commands.status",
    "sync.commands.dead_letters",
    "sync.commands.trace",
    "sync.commands.consistency",
    "sync.commands.migrate",
    "sync.commands.healthcheck",
)
