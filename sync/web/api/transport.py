"""ASGI wrappers around the API app: where it is mounted, how large a body may be, and when it is off."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "api_off", "unmounted"]


def unmounted(app: ASGIApp) -> ASGIApp:
    """Let ``app`` see full paths under a Starlette ``Mount``.

    The API's routes and its OpenAPI document spell the full ``/api/v1/…`` paths, so the app must not see
    the mount prefix as its root path.
    """

    async def wrapper(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = dict(scope, root_path=scope.get("app_root_path", ""))
        await app(scope, receive, send)

    return wrapper


async def _send_json(send: Send, status: int, body: dict[str, str]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class _TooLarge(HTTPException):
    """Raised from ``receive``: the API's error handlers answer it as 413 ``PayloadTooLarge``."""


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, whether they announce a length or are chunked."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = {
            "error": "PayloadTooLarge",
            "message": f"the request body is over {self.max_bytes} bytes",
        }
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _send_json(send, 413, message)
                return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            event = await receive()
            if event["type"] == "http.request":
                seen += len(event.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(413, message["message"])
            return event

        async def tracking_send(event: Message) -> None:
            nonlocal started
            if event["type"] == "http.response.start":
                started = True
            await send(event)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, message)


async def api_off(scope: Scope, receive: Receive, send: Send) -> None:
    """What ``/api/v1/`` answers when ``CASESYNC_API_TOKEN`` is not set: 404, as if it were not there."""
    if scope["type"] == "http":
        await _send_json(
            send, 404, {"error": "NotFound", "message": "the HTTP API is off: set CASESYNC_API_TOKEN to turn it on"}
        )
