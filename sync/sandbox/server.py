"""The HTTP layer: a threading HTTP/1.1 server with keep-alive, auth, rate limits, faults and stats.

Socket-level control matters here: a "reset" fault closes the connection with SO_LINGER 0 (an RST)
before the request is processed, and "drop_after_commit" processes and commits the request, then
resets the connection without answering.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from .auth import authenticate
from .drift import spoil
from .errors import ApiError
from .faults import Faults
from .job_runner import run_due_jobs
from .ratelimit import RateLimiter
from .routing import Ctx, Resp, Router, parse_query
from .state import State
from .tickets import auto_close
from .validation import validate_request

__all__ = ["App", "SandboxHTTPServer", "limiter_of"]

_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
            422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}
_LIMITERS: dict[int, RateLimiter] = {}


def limiter_of(st: State) -> RateLimiter:
    """The rate limiter of a state (handlers use it for the per-ticket update limit)."""
    return _LIMITERS[id(st)]


class _Drop(Exception):
    """Reset the connection without answering."""


class App:
    """Dispatches parsed requests: control endpoints, then the API with auth, limits and faults."""

    def __init__(self, st: State, api: Router, control: Router) -> None:
        self.st = st
        self.api = api
        self.control = control
        self.faults = Faults()
        self.limiter = RateLimiter(st)
        _LIMITERS[id(st)] = self.limiter

    def handle(self, ctx: Ctx) -> Resp:
        """Answer one request; raises :class:`_Drop` to reset the connection instead."""
        if ctx.path.startswith("/__sandbox/"):
            found = self.control.match(ctx.method, ctx.path)
            if found is None:
                return Resp(404, {"error": "NotFound", "description": f"No control endpoint {ctx.path}"})
            with self.st.lock:
                try:
                    return found[1](self.st, ctx, found[2])
                except ApiError as exc:
                    return Resp(exc.status, exc.body, dict(exc.headers))
        is_api = ctx.path.startswith("/api/v2/")
        if is_api and ctx.path.endswith(".json"):
            ctx.path = ctx.path[: -len(".json")]
        decision = self.faults.decide(ctx.method, ctx.path) if is_api else None
        if decision is not None:
            if decision.latency_ms:
                time.sleep(decision.latency_ms / 1000.0)
            if decision.reset:
                raise _Drop()
        st = self.st
        with st.lock:
            found = self.api.match(ctx.method, ctx.path)
            ctx.route = found[0] if found else ctx.path
            if is_api:
                st.total_requests += 1
                key = f"{ctx.method} {ctx.route}"
                st.stats[key] = st.stats.get(key, 0) + 1
            headers, limited = self.limiter.account() if is_api else ({}, None)
            reset = headers.pop("_reset", "60")
            ticket_route = ctx.route.startswith(("/api/v2/tickets", "/api/v2/uploads", "/api/v2/incremental"))
            if ticket_route:
                headers.update({"ratelimit-limit": headers.get("X-Rate-Limit", ""),
                                "ratelimit-remaining": headers.get("X-Rate-Limit-Remaining", ""),
                                "ratelimit-reset": reset})
            if limited is not None:
                return Resp(429, limited.body, {**limited.headers}, content_type="text/plain; charset=utf-8")
            if decision is not None and decision.status is not None:
                return self._fault_response(decision.status, headers)
            try:
                if found is None:
                    raise ApiError(404, {"error": "InvalidEndpoint", "description": "Not found"})
                authenticate(st, ctx)
                validate_request(ctx, found[2])
                auto_close(st)
                run_due_jobs(st)
                resp = found[1](st, ctx, found[2])
            except ApiError as exc:
                resp = Resp(exc.status, exc.body, dict(exc.headers))
                if isinstance(exc.body, str):
                    resp.content_type = exc.headers.pop("Content-Type", "text/plain; charset=utf-8")
                    resp.headers.pop("Content-Type", None)
            for k, v in headers.items():
                resp.headers.setdefault(k, v)
        if decision is not None and decision.drop_after_commit:
            raise _Drop()
        if decision is not None and (decision.truncate or decision.drift):
            decision.truncate = decision.truncate and spoil(resp, decision)
            decision.drift = decision.drift and not decision.truncate and spoil(resp, decision)
        return resp

    @staticmethod
    def _fault_response(status: int, headers: dict[str, str]) -> Resp:
        if status == 429:
            return Resp(429, "Number of allowed API requests per minute exceeded: 0",
                        {**headers, "Retry-After": "1"}, content_type="text/plain; charset=utf-8")
        if status == 503:
            return Resp(503, {"error": "ServiceUnavailable", "description": "Service temporarily unavailable"},
                        {**headers, "Retry-After": "1"})
        return Resp(500, "<html><body><h1>500 Internal Server Error</h1></body></html>", headers,
                    content_type="text/html; charset=utf-8")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log line (the stats endpoint counts requests)."""

    def setup(self) -> None:
        super().setup()
        # One write per response and no Nagle delay: keep-alive clients otherwise stall on delayed ACKs.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _serve(self) -> None:
        app = self.server.app
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        ctx = Ctx(method=self.command, path=parts.path, route=parts.path, query=parse_query(parts.query),
                  headers={k.lower(): v for k, v in self.headers.items()}, raw=raw, base=f"http://{host}")
        try:
            resp = app.handle(ctx)
        except _Drop:
            self._reset()
            return
        except Exception as exc:  # a bug must answer 500, not kill the connection thread silently
            resp = Resp(500, {"error": "InternalError", "description": repr(exc)})
        self._send(resp)

    def _reset(self) -> None:
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass

    def _send(self, resp: Resp) -> None:
        if resp.raw is not None:
            body = resp.raw
        elif resp.body is None:
            body = b""
        elif isinstance(resp.body, str):
            body = resp.body.encode()
        else:
            body = json.dumps(resp.body, separators=(",", ":")).encode()
        lines = [f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Unknown')}",
                 f"Date: {self.server.app.st.clock.http_date()}",
                 "X-Zendesk-API-Version: v2"]
        if resp.status != 204:
            lines.append(f"Content-Type: {resp.content_type}")
            lines.append(f"Content-Length: {len(body)}")
        for k, v in resp.headers.items():
            lines.append(f"{k}: {v}")
        if self.close_connection:
            lines.append("Connection: close")
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body if resp.status != 204 else b""))

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class SandboxHTTPServer(ThreadingHTTPServer):
    """Threading server on 127.0.0.1 whose handlers dispatch to :class:`App`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(addr, _Handler)
