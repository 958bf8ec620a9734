"""Authentication: account-wide API token (Basic ``email/token:TOKEN``) and OAuth Bearer tokens.

The API token is account-wide: any user's email pairs with it and the request then has that user's role,
as on Zendesk. An OAuth token with the ``impersonate`` scope may send ``X-On-Behalf-Of`` (an end user's
email or id): the request is then that end user's own.
"""

from __future__ import annotations

import base64
import binascii

from .errors import ApiError, forbidden, unauthorized
from .routing import Ctx, Resp
from .state import Record, State

__all__ = [
    "authenticate",
    "create_oauth_client",
    "create_oauth_token",
    "current_token",
    "require_admin",
    "require_staff",
]

_INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}


def authenticate(st: State, ctx: Ctx) -> None:
    """Fill ``ctx.user``/``ctx.auth_user``/``ctx.scopes`` or raise 401/403."""
    header = ctx.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    user: Record | None = None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise unauthorized() from exc
        ident, _, secret = decoded.partition(":")
        if not ident.endswith("/token") or secret != st.config.agent_token:
            raise unauthorized()
        user = st.user_by_email(ident[: -len("/token")])
        if user is None or not user["active"] or user["suspended"]:
            raise unauthorized()
        ctx.scopes = None
    elif scheme.lower() == "bearer":
        tok = st.oauth_tokens.get(value.strip())
        if tok is None:
            raise ApiError(401, dict(_INVALID_TOKEN))
        user = st.users.get(tok["user_id"])
        if user is None:
            raise ApiError(401, dict(_INVALID_TOKEN))
        ctx.scopes = frozenset(tok["scopes"])
        _check_scopes(ctx)
    else:
        raise unauthorized()
    ctx.auth_user = user
    ctx.user = user
    behalf = ctx.headers.get("x-on-behalf-of")
    if behalf:
        if ctx.scopes is None or "impersonate" not in ctx.scopes or user["role"] != "admin":
            raise forbidden("Impersonation needs an admin's OAuth token with the impersonate scope")
        target = st.user_by_email(behalf) if "@" in behalf else st.users.get(_int(behalf))
        if target is None:
            raise ApiError(404, {"error": "RecordNotFound", "description": "Not found"})
        if target["role"] != "end-user":
            raise forbidden("Only end users can be impersonated")
        ctx.user = target
        ctx.impersonated = True


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return -1


def _check_scopes(ctx: Ctx) -> None:
    scopes = ctx.scopes or frozenset()
    # "write" is accepted for reads too: a client holding only impersonate+write (the documented
    # impersonation recipe) must still read back the requests it writes.
    needed = "read" if ctx.method == "GET" else "write"
    ok = needed in scopes or "write" in scopes or any(s.endswith(":" + needed) for s in scopes)
    if not ok:
        raise ApiError(
            403, {"error": "Forbidden", "description": f"You are missing the following required scopes: {needed}"}
        )


def require_staff(ctx: Ctx) -> Record:
    """The acting user, who must be an agent or admin (403 for end users)."""
    if ctx.user is None or ctx.user["role"] not in ("agent", "admin"):
        raise forbidden()
    return ctx.user


def require_admin(ctx: Ctx) -> Record:
    """The acting user, who must be an admin."""
    if ctx.user is None or ctx.user["role"] != "admin":
        raise forbidden()
    return ctx.user


def create_oauth_client(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/oauth/clients`` (admins)."""
    admin = require_admin(ctx)
    body = ctx.json().get("client") or {}
    now = st.clock.now()
    from .clock import iso

    cid = st.next_id("oauth")
    client: Record = {
        "id": cid,
        "url": f"{ctx.base}/api/v2/oauth/clients/{cid}.json",
        "name": body.get("name") or "client",
        "identifier": body.get("identifier") or f"client_{cid}",
        "kind": body.get("kind", "public"),
        "company": body.get("company"),
        "description": body.get("description"),
        "redirect_uri": body.get("redirect_uri") or [],
        "secret": st.token(32),
        "user_id": admin["id"],
        "created_at": iso(now),
        "updated_at": iso(now),
    }
    st.oauth_clients[cid] = client
    return Resp(201, {"client": client})


def create_oauth_token(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/oauth/tokens``: a token for the authenticated admin with the given scopes."""
    admin = require_admin(ctx)
    body = ctx.json().get("token") or {}
    client_id = body.get("client_id")
    if client_id is None or _int(str(client_id)) not in st.oauth_clients:
        from .errors import record_invalid

        raise record_invalid("client_id", "Client: cannot be blank")
    scopes = body.get("scopes") or ["read"]
    from .clock import iso

    full = st.token(32)
    tid = st.next_id("oauth")
    tok: Record = {
        "id": tid,
        "user_id": admin["id"],
        "client_id": int(client_id),
        "scopes": list(scopes),
        "token": full[:10],
        "full_token": full,
        "created_at": iso(st.clock.now()),
        "expires_at": None,
        "refresh_token": None,
        "used_at": None,
        "url": f"{ctx.base}/api/v2/oauth/tokens/{tid}.json",
    }
    st.oauth_tokens[full] = tok
    return Resp(201, {"token": tok})


def current_token(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/oauth/tokens/current``: the Bearer token in use (without its secret)."""
    header = ctx.headers.get("authorization", "")
    scheme, _sep, value = header.partition(" ")
    tok = st.oauth_tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if tok is None:
        from .errors import not_found

        raise not_found()
    shown = {k: v for k, v in tok.items() if k != "full_token"}
    return Resp(200, {"token": shown})
