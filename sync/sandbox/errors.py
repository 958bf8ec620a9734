"""Zendesk-shaped API errors raised by handlers and rendered by the HTTP layer."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "bad_request",
    "conflict",
    "forbidden",
    "not_found",
    "record_invalid",
    "too_many_values",
    "unauthorized",
]


class ApiError(Exception):
    """An error answered with ``status`` and a JSON (or text) ``body``."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def not_found() -> ApiError:
    """404 exactly as Zendesk answers an unknown or soft-deleted record."""
    return ApiError(404, {"error": "RecordNotFound", "description": "Not found"})


def record_invalid(field: str, description: str, error: str | None = None) -> ApiError:
    """422 RecordInvalid with Zendesk's ``details`` keyed by field."""
    detail: dict[str, Any] = {"description": description}
    if error:
        detail["error"] = error
    return ApiError(
        422,
        {"error": "RecordInvalid", "description": "Record validation errors", "details": {field: [detail]}},
    )


def too_many_values(param: str, limit: int = 100) -> ApiError:
    """400 TooManyValues (bulk endpoints past their 100-value limit)."""
    return ApiError(
        400,
        {
            "error": "TooManyValues",
            "description": f"Parameter {param} cannot specify more than {limit} values",
            "max_count": limit,
        },
    )


def unauthorized() -> ApiError:
    """401 with Zendesk's body for bad credentials."""
    return ApiError(401, {"error": "Couldn't authenticate you"}, {"WWW-Authenticate": 'Basic realm="Web Password"'})


def forbidden(message: str | None = None) -> ApiError:
    """403 as Zendesk answers a role that may not use an endpoint."""
    return ApiError(
        403,
        {
            "error": {
                "title": "Forbidden",
                "message": message
                or "You do not have access to this page. Please contact the account owner of this help desk "
                "for further help.",
            }
        },
    )


def bad_request(error: str, description: str) -> ApiError:
    """400 with the classic ``error``/``description`` envelope."""
    return ApiError(400, {"error": error, "description": description})


def conflict(error: str, description: str) -> ApiError:
    """409 with the classic envelope (safe update collisions)."""
    return ApiError(409, {"error": error, "description": description})
