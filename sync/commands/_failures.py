"""How a command reports a failure to reach or use Zendesk: one line for stderr and an exit code.

Every command that talks to Zendesk (``sync --once``, ``reconcile``, ``backfill``, ``setup-zendesk``) ends
a Zendesk or network failure the same way: one line naming what happened in words an operator can act on —
the root cause ("[Errno 111] Connection refused"), never the HTTP library's wrapping of it — and:

* exit 2 when the credentials were refused (a configuration error: fix ``CASESYNC_ZENDESK_TOKEN``);
* exit 1 when Zendesk was unreachable or answered an error (the job failed; the next run may succeed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sync.commands import EXIT_CONFIG, EXIT_FAILED

if TYPE_CHECKING:
    from sync.settings import Settings

__all__ = ["describe_zendesk_failure", "root_cause", "short"]


def describe_zendesk_failure(exc: BaseException, settings: Settings) -> tuple[int, str] | None:
    """``(exit code, one line)`` for a Zendesk or network failure; ``None`` for any other exception.

    Raw ``requests``/``urllib3`` exceptions (a call that escaped the gateway's translation) are translated
    by :func:`sync.gateway.errors.translate`, the one place that knows them.
    """
    from sync.errors import AuthenticationFailed, NetworkError, ServerUnavailable, SyncError

    if not isinstance(exc, SyncError):
        exc = _translated(exc)
        if not isinstance(exc, SyncError):
            return None
    url = settings.zendesk_url
    if isinstance(exc, AuthenticationFailed):
        variable = "CASESYNC_ZENDESK_OAUTH_TOKEN" if settings.zendesk_oauth_token else "CASESYNC_ZENDESK_TOKEN"
        status = f" (HTTP {exc.status})" if exc.status else ""
        return EXIT_CONFIG, f"{variable}: Zendesk at {url} refused the credentials{status}"
    if isinstance(exc, NetworkError | ServerUnavailable):
        return EXIT_FAILED, f"Zendesk is unreachable at {url}: {root_cause(exc)}"
    return EXIT_FAILED, f"Zendesk at {url} answered an error: {type(exc).__name__}: {short(exc)}"


def _translated(exc: BaseException) -> BaseException:
    import requests
    from urllib3.exceptions import HTTPError as Urllib3Error

    if not isinstance(exc, requests.RequestException | Urllib3Error):
        return exc
    from sync.gateway.errors import translate

    translated: BaseException = translate(exc)
    translated.__cause__ = exc
    return translated


def root_cause(exc: BaseException) -> str:
    """The innermost cause ("[Errno 111] Connection refused"), not the HTTP library's wrapping of it."""
    seen: set[int] = set()
    inner: BaseException = exc
    while id(inner) not in seen:
        seen.add(id(inner))
        nxt = inner.__cause__ or inner.__context__
        if nxt is None:
            break
        inner = nxt
        # urllib3 keeps the socket error in ``reason`` rather than in the exception chain
        reason = getattr(inner, "reason", None)
        if isinstance(reason, BaseException):
            inner = reason
    text = short(inner if inner is not exc else exc)
    # urllib3 prefixes the socket error with the connection object's repr: keep what follows it.
    marker = ">: "
    return text.split(marker, 1)[1] if marker in text else text


def short(exc: BaseException) -> str:
    """The exception's message on one line, at most 200 characters."""
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."
