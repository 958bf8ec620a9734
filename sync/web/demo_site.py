"""The pages of ``casesync demo --web``: the console's Support page and a minimal agent view of the sandbox.

Both are static files of this package (plain HTML, CSS and a small script each; no build step), served
under ``/demo/``:

* ``/demo/support/`` — the console's Support page, built only on the HTTP API (``/api/v1/``): it is what a
  console written in another language would do, and reads its bearer token from the URL's fragment (never
  sent to a server);
* ``/demo/agent/`` — support staff's side: the sandbox's tickets, public replies and internal notes,
  pending and solved, through the sandbox's ordinary Zendesk API (``/demo/zendesk/api/v2/…`` is forwarded
  to the sandbox with the agent's credentials, so the page holds none).

Everything else goes to the ``casesync serve`` app given to :func:`create_demo_site`.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

from sync.web.api.transport import PrefixDispatch

__all__ = ["PAGE_CSP", "STATIC_DIR", "create_demo_site"]

#: The package directory holding the pages (installed as package data).
STATIC_DIR = Path(str(files("sync.web") / "static"))

#: The pages load only their own script and style; images are the API's attachments, as blob: URLs.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

_FORWARDED_METHODS = ["GET", "PUT", "POST"]


class _Pages(StaticFiles):
    """Static files with the pages' security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = PAGE_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response


def create_demo_site(
    app: ASGIApp,
    *,
    zendesk_url: str,
    agent_auth: tuple[str, str],
    on_agent_write: Callable[[], None],
) -> ASGIApp:
    """``app`` (the serve app, with the API) plus the demo's pages under ``/demo/``.

    ``agent_auth`` is the agent's ``(email/token, token)`` pair for the forwarded Zendesk API calls;
    ``on_agent_write`` runs after every forwarded write (the demo uses it to let the sync pick it up).
    """
    upstream = httpx.AsyncClient(base_url=zendesk_url.rstrip("/"), auth=agent_auth, timeout=30)

    async def forward(request: Request) -> Response:
        path = request.path_params["path"]
        answer = await upstream.request(
            request.method,
            f"/api/v2/{path}",
            params=request.query_params,
            content=await request.body(),
            headers={"Content-Type": request.headers.get("content-type", "application/json")},
        )
        if request.method != "GET" and answer.is_success:
            on_agent_write()
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
        )

    async def home(_request: Request) -> Response:
        return RedirectResponse("/demo/support/")

    site = Starlette(
        routes=[
            Route("/demo", home),
            Route("/demo/", home),
            Route("/demo/zendesk/api/v2/{path:path}", forward, methods=_FORWARDED_METHODS),
            Mount("/demo/support", _Pages(directory=STATIC_DIR / "support", html=True)),
            Mount("/demo/agent", _Pages(directory=STATIC_DIR / "agent", html=True)),
        ],
    )
    return PrefixDispatch(app, prefix="/demo", api=site)
