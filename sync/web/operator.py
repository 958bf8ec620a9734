"""The operator's sign-in and actions on the status page: replay and discard dead letters.

Only with ``CASESYNC_OPERATOR_TOKEN`` set; without it the page is read-only and these routes answer 404.
Signing in posts the token to ``/operator/login``; the answer sets a session cookie (random, kept in this
process's memory, ``HttpOnly``, ``SameSite=Strict``, ``Secure`` behind https, for 8 hours).  Every action is
a POST that carries the session's CSRF token in the form, compared in constant time: a page of another
site can neither read that token nor send the cookie (``SameSite=Strict``), so it cannot act for an
operator.  Sessions end with the process (a restart signs operators out).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from sync.logging import get_logger
from sync.workplace import Workplace

__all__ = ["COOKIE", "OperatorSessions", "Session", "operator_routes"]

log = get_logger(__name__)

COOKIE = "casesync_operator"
SESSION_S = 8 * 3600.0
_MAX_SESSIONS = 100
_MAX_FORM_BYTES = 4096


@dataclass(frozen=True)
class Session:
    """A signed-in operator: the CSRF token their forms carry, and when the session ends."""

    csrf: str
    expires: float


class OperatorSessions:
    """The sessions of this process; ``token`` is the configured operator token."""

    def __init__(self, token: str, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._token = token.encode()
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def login(self, offered: str) -> str | None:
        """A new session id when ``offered`` is the operator token, else None."""
        if not hmac.compare_digest(offered.encode(), self._token):
            return None
        sid = secrets.token_urlsafe(32)
        now = self._monotonic()
        with self._lock:
            self._sessions = {k: v for k, v in self._sessions.items() if v.expires > now}
            if len(self._sessions) >= _MAX_SESSIONS:  # bounded: the oldest goes
                oldest = min(self._sessions, key=lambda k: self._sessions[k].expires)
                del self._sessions[oldest]
            self._sessions[sid] = Session(csrf=secrets.token_urlsafe(32), expires=now + SESSION_S)
        return sid

    def get(self, sid: str | None) -> Session | None:
        """The live session of ``sid``, if any."""
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
        if session is None or session.expires <= self._monotonic():
            return None
        return session

    def logout(self, sid: str | None) -> None:
        """End the session of ``sid`` (nothing when there is none)."""
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)

    def session_of(self, request: Request) -> Session | None:
        """The session of the request's cookie, if live."""
        return self.get(request.cookies.get(COOKIE))


async def _form(request: Request) -> dict[str, str]:
    """The fields of a small ``application/x-www-form-urlencoded`` body (the page's forms; stdlib parsing,
    as these forms never upload files)."""
    body = await request.body()
    if len(body) > _MAX_FORM_BYTES:
        return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    return {k: v[0] for k, v in fields.items() if v}


def _back(path: str = "/status") -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def operator_routes(sessions: OperatorSessions, workplace: Workplace) -> list[Route]:
    """The routes of sign-in, sign-out and the dead-letter actions."""

    async def login(request: Request) -> Response:
        form = await _form(request)
        sid = sessions.login(str(form.get("token") or ""))
        if sid is None:
            log.warning("operator.login_refused", client=request.client.host if request.client else None)
            return PlainTextResponse("wrong operator token", status_code=403)
        response = _back()
        response.set_cookie(
            COOKIE, sid, max_age=int(SESSION_S), httponly=True, samesite="strict",
            secure=request.url.scheme == "https", path="/",
        )
        log.info("operator.login")
        return response

    async def logout(request: Request) -> Response:
        session = sessions.session_of(request)
        form = await _form(request)
        if session is None or not hmac.compare_digest(str(form.get("csrf") or ""), session.csrf):
            return PlainTextResponse("not signed in, or the form is stale", status_code=403)
        sessions.logout(request.cookies.get(COOKIE))
        response = _back()
        response.delete_cookie(COOKIE, path="/")
        return response

    async def act(request: Request) -> Response:
        session = sessions.session_of(request)
        if session is None:
            return PlainTextResponse("sign in first", status_code=401)
        form = await _form(request)
        if not hmac.compare_digest(str(form.get("csrf") or ""), session.csrf):
            log.warning("operator.csrf_refused")
            return PlainTextResponse("the form's CSRF token does not match this session", status_code=403)
        queue, action, raw_id = (request.path_params[k] for k in ("queue", "action", "entry_id"))
        if queue not in ("outbox", "inbox") or action not in ("replay", "discard") or not raw_id.isdigit():
            return PlainTextResponse("no such action", status_code=404)
        done = await run_in_threadpool(workplace.act, queue, int(raw_id), action)
        log.info("operator.dead_letter", queue=queue, entry_id=int(raw_id), action=action, done=done)
        if not done:
            return PlainTextResponse(f"{queue} entry {raw_id} is not a dead letter", status_code=409)
        return _back()

    return [
        Route("/operator/login", login, methods=["POST"]),
        Route("/operator/logout", logout, methods=["POST"]),
        Route("/operator/dead-letters/{queue}/{entry_id}/{action}", act, methods=["POST"]),
    ]
