"""Structured logging for casesync (structlog).

JSON lines in production, a readable console rendering in a terminal.  A pure processor,
:func:`redact_secrets`, runs on every event before rendering: tokens, secrets, passwords and
``Authorization`` headers never reach a log, wherever they are nested.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

__all__ = [
    "LOG_FORMATS",
    "LOG_LEVELS",
    "REDACTED",
    "configure_logging",
    "get_logger",
    "redact_secrets",
    "redact_value",
]

#: The values ``CASESYNC_LOG_LEVEL`` accepts (any case), and ``CASESYNC_LOG_FORMAT``.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("auto", "json", "console")

REDACTED = "[redacted]"

# Keys whose values are secrets, whatever their shape.
_SECRET_KEY = re.compile(r"(token|secret|password|authorization|api[_-]?key|signature|cookie)", re.I)
# Secrets embedded in free text: "Bearer xyz", "Basic xyz", "token:xyz" (Zendesk's email/token:TOKEN).
_SECRET_TEXT = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+|(/token:)[^\s\"',]+")


def redact_value(value: Any) -> Any:
    """Return ``value`` with secrets replaced, recursing into mappings and sequences."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and _SECRET_KEY.search(k) else redact_value(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    if isinstance(value, str):
        return _SECRET_TEXT.sub(_mask_match, value)
    if hasattr(value, "get_secret_value"):
        return REDACTED
    return value


def _mask_match(match: re.Match[str]) -> str:
    if match.group(1):
        return f"{match.group(1)} {REDACTED}"
    return f"{match.group(2)}{REDACTED}"


def redact_secrets(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: redact every secret-looking key and embedded credential."""
    return {
        key: (REDACTED if key != "event" and _SECRET_KEY.search(key) else redact_value(value))
        for key, value in event_dict.items()
    }


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is at the time of writing (it may be swapped after configuration)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def configure_logging(fmt: str = "auto", level: str = "INFO", stream: Any = None) -> None:
    """Configure structlog, and the standard library's ``logging``, once for the process.

    ``fmt`` is ``json``, ``console`` or ``auto`` (console on a TTY, JSON otherwise); ``level`` one of
    :data:`LOG_LEVELS`.  Without ``stream``, events go to the current ``sys.stderr``: standard output is
    the commands' results only.  Records of libraries and of stdlib loggers in casesync (urllib3,
    uvicorn, :mod:`sync.retry`) pass through the same processors — redaction included — and come out
    in the same format on the same stream.
    """
    from sync.errors import ConfigurationError

    if fmt not in LOG_FORMATS:
        raise ConfigurationError(f"CASESYNC_LOG_FORMAT: {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    if level.upper() not in LOG_LEVELS:
        raise ConfigurationError(f"CASESYNC_LOG_LEVEL: {level!r} is not one of {', '.join(LOG_LEVELS)}")
    numeric_level = logging.getLevelNamesMapping()[level.upper()]
    out = stream if stream is not None else _CurrentStderr()
    if fmt == "auto":
        fmt = "console" if getattr(out, "isatty", lambda: False)() else "json"
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False) if fmt == "console" else structlog.processors.JSONRenderer()
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, redact_secrets, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=out),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    _bridge_stdlib(out, numeric_level, shared, renderer)


class _BridgeHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler :func:`configure_logging` installs (replaced, never stacked, on reconfiguration)."""


def _bridge_stdlib(out: Any, level: int, shared: list[Any], renderer: Any) -> None:
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            *shared,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),  # `logger.info(msg, extra={...})` keeps its fields
            structlog.processors.format_exc_info,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, redact_secrets, renderer],
    )
    handler = _BridgeHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _BridgeHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic narrates at INFO each plugin it loads and each migration context it opens: noise beside a
    # command's result (`casesync migrate` names the revisions it applied itself); kept for DEBUG.
    logging.getLogger("alembic").setLevel(logging.WARNING if level > logging.DEBUG else level)


def get_logger(name: str) -> Any:
    """A bound structlog logger named after its module."""
    return structlog.get_logger(name)
