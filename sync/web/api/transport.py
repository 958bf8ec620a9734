"""ASGI wrappers around the API app: where it is mounted, how large a body may be, and when it is off."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "PrefixDispatch", "api_off"]


class PrefixDispatch:
    """ASGI middleware: requests under ``prefix`` go to ``api`` with their full path, the rest to ``app``.

    A middleware rather than a Starlette ``Mount``: the API's routes and its OpenAPI document spell the full
    ``/api/v1/…`` paths, and every path under the prefix (even one with characters a mount's pattern does
    not match, such as a percent-encoded newline) must get the API's JSON answers.
    """

    def __init__(self, app: ASGIApp, *, prefix: str, api: ASGIApp) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] in ("http", "websocket") else ""
        if path == self.prefix or path.startswith(self.prefix + "/"):
            await self.api(scope, receive, send)
        else:
            await self.app(scope, receive, send)


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
