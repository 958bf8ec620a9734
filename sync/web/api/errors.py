"""How the HTTP API answers errors: the library's typed errors as the statuses of docs/design.md §8.

Every error body is ``{"error": "<class name>", "message": "…"}``.  A request body or parameter that does not
even have the right shape (a missing field, a string for a number, bad base64) is ``InvalidInput`` too, with
status 400, never FastAPI's default 422 shape: 422 means ``UnknownUser`` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from sync.errors import CaseClosed, CaseNotFound, CaseSyncError, InvalidInput, UnknownUser
from sync.logging import get_logger
from sync.web.api.models import ErrorBody

__all__ = ["STATUS_OF", "error_response", "install_error_handlers", "responses"]

log = get_logger(__name__)

#: The HTTP status of each library error (docs/design.md §8); any other error is a 500.
STATUS_OF: dict[type[CaseSyncError], int] = {
    InvalidInput: 400,
    CaseNotFound: 404,
    CaseClosed: 409,
    UnknownUser: 422,
}

_DESCRIPTIONS = {
    400: "InvalidInput: the input breaks one of the library's rules, or the request is malformed",
    401: "Unauthorized: no bearer token, or not the API token",
    404: "CaseNotFound: no such case in this account (another account's case reads the same)",
    409: "CaseClosed: the case is Closed (final)",
    413: "PayloadTooLarge: the request body is over the limit",
    422: "UnknownUser: the user is not a user of this account",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` entries of a route's error statuses (401 and a default always included)."""
    out: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in (*statuses, 401)
    }
    # Documents the 500 answer; it also stops FastAPI from documenting its own 422 validation shape.
    out["default"] = {"model": ErrorBody, "description": "Unexpected error"}
    return out


def error_response(status: int, error: str, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=headers)


def _status_of(exc: CaseSyncError) -> int | None:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return None


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Map library errors, validation errors and HTTP errors onto ``ErrorBody`` answers."""

    async def library_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, CaseSyncError)
        status = _status_of(exc)
        if status is None:
            log.error("api.library_error", error=type(exc).__name__, message=str(exc))
            return error_response(500, type(exc).__name__, str(exc))
        return error_response(status, type(exc).__name__, str(exc))

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = [f"{_where(tuple(e.get('loc', ())))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return error_response(400, InvalidInput.__name__, "; ".join(problems) or "invalid request")

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        names = {401: "Unauthorized", 404: "NotFound", 405: "MethodNotAllowed", 413: "PayloadTooLarge"}
        return error_response(
            exc.status_code, names.get(exc.status_code, "HTTPError"), str(exc.detail), headers=dict(exc.headers or {})
        )

    async def unexpected(_request: Request, exc: Exception) -> Response:
        log.exception("api.unexpected_error", error=type(exc).__name__)
        return error_response(500, "InternalError", "an unexpected error occurred; see the server's log")

    app.add_exception_handler(CaseSyncError, library_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
