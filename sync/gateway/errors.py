"""The one place where zenpy and requests errors become :mod:`sync.errors`.

+----------------------------------------------+-------------------------------------------------------+
| what happened                                | raised                                                |
+==============================================+=======================================================+
| 429                                          | RateLimited(retry_after from ``Retry-After``)         |
| 503                                          | ServerUnavailable(retry_after when given)             |
| other 5xx                                    | ServerUnavailable (ambiguous for a write)             |
| 409                                          | UpdateConflict                                        |
| 422 "closed prevents ticket update"          | TicketClosedRemotely                                  |
| 401, 403                                     | AuthenticationFailed                                  |
| 404                                          | RecordNotFound                                        |
| other 4xx                                    | ZendeskRejected                                       |
| refused, DNS failure, connect timeout        | NetworkError(ambiguous=False): nothing was sent       |
| read timeout, reset, disconnect, broken body | NetworkError(ambiguous=True for anything but GET)     |
| a 2xx JSON answer cut short (does not parse) | NetworkError(ambiguous=True for anything but GET)     |
| a 2xx answer that is not JSON at all         | MappingError                                          |
| zenpy could not decode a 2xx                 | MappingError                                          |
+----------------------------------------------+-------------------------------------------------------+

A 500, 502 or 504 answer to a write is *ambiguous*: Zendesk (or a proxy in front of it) may have applied
the change before failing.  A 429 or a 503 is not: Zendesk refused the request before acting on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from zenpy.lib.exception import APIException, ZenpyException

from sync.errors import (
    AuthenticationFailed,
    MappingError,
    NetworkError,
    PermanentError,
    RateLimited,
    RecordNotFound,
    ServerUnavailable,
    SyncError,
    TicketClosedRemotely,
    UpdateConflict,
    ZendeskRejected,
)

__all__ = ["BrokenAnswer", "broken_answer", "error_for_response", "parse_retry_after", "translate", "translating"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_BODY_KEPT = 2000
_CLOSED_MARKER = "closed prevents ticket update"


class BrokenAnswer(requests.RequestException):
    """A 2xx answer announced as JSON whose body does not parse; raised by the gateway session's response
    hook, so that zenpy's calls and the raw ones meet it alike (zenpy would hand the bare response back)."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: integer, decimal, or an HTTP date.

    A date is counted from ``now`` (Zendesk's ``Date`` header when known, else the local clock).
    ``None`` when absent or unreadable; never negative.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max((when - reference).total_seconds(), 0.0)


def _where(method: str, url: str | None) -> str:
    # The path only: query strings may hold email addresses.
    path = urlsplit(url).path if url else "?"
    return f"{method} {path}"


def error_for_response(response: requests.Response, method: str | None = None) -> SyncError:
    """The typed error for a non-2xx ``response``."""
    status = response.status_code
    verb = (method or (response.request.method if response.request is not None else None) or "GET").upper()
    where = _where(verb, response.url)
    try:
        body = response.text[:_BODY_KEPT]
    except (requests.RequestException, RuntimeError):  # the body was streamed and cannot be read again
        body = ""
    message = f"{where}: HTTP {status}: {_summary(body)}"
    if status == 429:
        return RateLimited(message, retry_after=_retry_after(response), status=status, body=body)
    if status >= 500:
        err = ServerUnavailable(
            message, status=status, body=body, retry_after=_retry_after(response) if status == 503 else None
        )
        err.ambiguous = verb not in _SAFE_METHODS and status != 503
        return err
    if status == 409:
        return UpdateConflict(message, status=status, body=body)
    if status == 422 and _CLOSED_MARKER in body.lower():
        return TicketClosedRemotely(message, status=status, body=body)
    if status in (401, 403):
        return AuthenticationFailed(message, status=status, body=body)
    if status == 404:
        return RecordNotFound(message, status=status, body=body)
    return ZendeskRejected(message, status=status, body=body)


def broken_answer(response: requests.Response, method: str | None = None) -> SyncError:
    """The error for a 2xx ``response`` whose body is not the JSON object it should be.

    A body announced as JSON that does not parse was cut on the way (a proxy or a connection giving up
    mid-answer, with a ``Content-Length`` that matches the cut): no usable answer, like a reset, so it is
    retried, and for a write it is ambiguous (the change may have been applied).  Any other body (an HTML
    page, JSON that is not an object) is not Zendesk's answer to this request: a :class:`MappingError`.
    """
    verb = (method or (response.request.method if response.request is not None else None) or "GET").upper()
    where = _where(verb, response.url)
    content_type = response.headers.get("Content-Type", "").lower()
    text = response.content[:_BODY_KEPT].decode("utf-8", "replace").lstrip()
    if ("json" in content_type or not content_type) and text.startswith(("{", "[")):
        try:
            json.loads(response.content)
        except ValueError:
            return NetworkError(
                f"{where}: HTTP {response.status_code} with a JSON body cut short ({len(response.content)} bytes)",
                ambiguous=verb not in _SAFE_METHODS,
            )
    return MappingError(f"{where}: zendesk answered {response.status_code} without a JSON object")


def _retry_after(response: requests.Response) -> float | None:
    now: datetime | None = None
    date = response.headers.get("Date")
    if date:
        try:
            now = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            now = None
    return parse_retry_after(response.headers.get("Retry-After"), now=now)


def _summary(body: str) -> str:
    """A one-line reason from a Zendesk error body (JSON envelopes or plain text)."""
    try:
        data = json.loads(body)
    except ValueError:
        return " ".join(body.split())[:300] or "(empty body)"
    if isinstance(data, dict):
        error: object = data.get("error")
        description: object = data.get("description")
        if isinstance(error, dict):  # {"error": {"title", "message"}}
            description = error.get("message")
            error = error.get("title")
        parts = [str(p) for p in (error, description) if p]
        if data.get("details"):
            parts.append(json.dumps(data["details"], sort_keys=True)[:300])
        if not parts and isinstance(data.get("errors"), list):  # the JSON:API-like shape of newer endpoints
            parts = [
                str(e.get("detail") or e.get("title") or e) if isinstance(e, dict) else str(e)
                for e in data["errors"][:3]
            ]
        if parts:
            return ": ".join(parts)
    return json.dumps(data)[:300]


def _connect_failure(exc: BaseException) -> bool:
    """True when the chain shows the connection was never made (so nothing was sent)."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectTimeoutError | NewConnectionError | NameResolutionError):
            return True
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError
        stack.extend(e for e in (reason, current.__cause__, current.__context__) if isinstance(e, BaseException))
        stack.extend(a for a in current.args if isinstance(a, BaseException))
    return False


def translate(exc: BaseException, *, method: str | None = None) -> SyncError:
    """The :mod:`sync.errors` error for any exception zenpy or requests raised (others unchanged type).

    ``method`` is the HTTP method when the exception does not carry its request.
    """
    if isinstance(exc, SyncError):
        return exc
    response = getattr(exc, "response", None)
    if isinstance(exc, APIException | requests.HTTPError) and isinstance(response, requests.Response):
        return error_for_response(response, method)
    if isinstance(exc, BrokenAnswer | requests.exceptions.JSONDecodeError) and isinstance(response, requests.Response):
        return broken_answer(response, method)  # a 2xx cut short
    if isinstance(exc, requests.RequestException):
        request = exc.request
        verb = (method or (request.method if request is not None else None) or "GET").upper()
        where = _where(verb, request.url if request is not None else None)
        if isinstance(exc, requests.ConnectTimeout) or (
            isinstance(exc, requests.ConnectionError) and _connect_failure(exc)
        ):
            return NetworkError(f"{where}: could not connect: {exc}", ambiguous=False)
        if isinstance(exc, requests.Timeout | requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
            return NetworkError(f"{where}: no complete answer: {exc}", ambiguous=verb not in _SAFE_METHODS)
        return PermanentError(f"{where}: request failed: {exc}")
    if isinstance(exc, APIException):
        return ZendeskRejected(f"zendesk refused the request: {exc}")
    if isinstance(exc, ZenpyException):
        if "Could not handle response" in str(exc):
            return MappingError(f"unexpected answer from zendesk: {str(exc)[:300]}")
        return PermanentError(f"zenpy: {exc}")
    raise TypeError(f"not a zenpy or requests error: {exc!r}") from exc


@contextmanager
def translating(method: str | None = None) -> Iterator[None]:
    """Re-raise zenpy and requests errors from the block as :mod:`sync.errors` errors."""
    try:
        yield
    except SyncError:
        raise
    except (requests.RequestException, APIException, ZenpyException) as exc:
        raise translate(exc, method=method) from exc
