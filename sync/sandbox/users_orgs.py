"""Users, identities, organizations and organization memberships."""

from __future__ import annotations

from typing import Any

from . import deleted_users, render
from .auth import require_staff
from .errors import ApiError, forbidden, not_found, record_invalid
from .routing import Ctx, Resp, Router, paginate
from .state import Record, State

__all__ = ["add_membership", "register"]


def _user(st: State, raw: str) -> Record:
    u = st.users.get(int(raw)) if raw.isdigit() else None
    if u is None:
        raise not_found()
    return u


def _org(st: State, raw: Any) -> Record:
    o = st.organizations.get(int(raw)) if str(raw).isdigit() else None
    if o is None:
        raise not_found()
    return o


def add_membership(st: State, user: Record, org: Record) -> Record:
    """Make ``user`` a member of ``org`` (the first membership is the default organization)."""
    for existing in st.memberships.values():
        if existing["user_id"] == user["id"] and existing["organization_id"] == org["id"]:
            return existing
    now = st.clock.now()
    first = user["organization_id"] is None
    m: Record = {"id": st.next_id("membership"), "user_id": user["id"], "organization_id": org["id"],
                 "default": first, "organization_name": org["name"], "created_at": now, "updated_at": now}
    st.memberships[m["id"]] = m
    if first:
        user["organization_id"] = org["id"]
    return m


def _remove_membership(st: State, m: Record) -> None:
    del st.memberships[m["id"]]
    user = st.users.get(m["user_id"])
    if user is not None and user["organization_id"] == m["organization_id"]:
        rest = [x for x in st.memberships.values() if x["user_id"] == user["id"]]
        user["organization_id"] = rest[0]["organization_id"] if rest else None
        if rest:
            rest[0]["default"] = True


def _apply_user_fields(st: State, u: Record, body: dict[str, Any], *, creating: bool) -> None:
    for k in ("name", "phone", "notes", "details", "suspended", "tags", "user_fields"):
        if k in body and body[k] is not None:
            u[k] = body[k]
    if "external_id" in body:
        u["external_id"] = body["external_id"]
    if "role" in body and body["role"] in ("end-user", "agent", "admin"):
        u["role"] = body["role"]
    if body.get("verified"):
        u["verified"] = True
        for ident in st.identities.values():
            if ident["user_id"] == u["id"] and ident["primary"]:
                ident["verified"] = True
    email = body.get("email")
    if email and not creating and st.user_by_email(email) is None:
        # On update the email is added as a secondary identity, as on Zendesk.
        st.add_identity(u, str(email), verified=bool(body.get("verified")), primary=False)
    if body.get("organization_id") is not None:
        add_membership(st, u, _org(st, body["organization_id"]))
    u["updated_at"] = st.clock.now()


def _create_user(st: State, body: dict[str, Any]) -> Record:
    email = body.get("email")
    if email and st.user_by_email(str(email)) is not None:
        raise record_invalid("email", f"Email: {email} is already being used by another user", "DuplicateValue")
    if not body.get("name") and not email:
        raise record_invalid("name", "Name: is too short (minimum one character)", "BlankValue")
    u = st.new_user(body.get("name"), str(email) if email else None, role=str(body.get("role") or "end-user"),
                    external_id=body.get("external_id"), verified=bool(body.get("verified")))
    _apply_user_fields(st, u, body, creating=True)
    return u


def me(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/users/me``."""
    assert ctx.user is not None
    shown = render.user(ctx.user, ctx.base)
    shown["authenticity_token"] = st.token(32)  # only /users/me carries a CSRF token on Zendesk
    return Resp(200, {"user": shown})


def create(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/users`` (agents may create end users; admins any role)."""
    actor = require_staff(ctx)
    body = ctx.json().get("user") or {}
    if body.get("role") in ("agent", "admin") and actor["role"] != "admin":
        raise forbidden()
    u = _create_user(st, body)
    return Resp(201, {"user": render.user(u, ctx.base)}, {"Location": f"{ctx.base}/api/v2/users/{u['id']}.json"})


def create_or_update(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/users/create_or_update``: match by email, then external_id; 201 created, 200 updated."""
    require_staff(ctx)
    body = ctx.json().get("user") or {}
    u = st.user_by_email(body.get("email")) or st.user_by_external_id(body.get("external_id"))
    if u is None:
        u = _create_user(st, body)
        return Resp(201, {"user": render.user(u, ctx.base)},
                    {"Location": f"{ctx.base}/api/v2/users/{u['id']}.json"})
    _apply_user_fields(st, u, body, creating=False)
    return Resp(200, {"user": render.user(u, ctx.base)}, {"Location": f"{ctx.base}/api/v2/users/{u['id']}.json"})


def show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/users/{id}``."""
    require_staff(ctx)
    return Resp(200, {"user": render.user(_user(st, p["id"]), ctx.base)})


def update(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/users/{id}``."""
    require_staff(ctx)
    u = _user(st, p["id"])
    _apply_user_fields(st, u, ctx.json().get("user") or {}, creating=False)
    return Resp(200, {"user": render.user(u, ctx.base)})


def delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/users/{id}``: the user is (soft) deleted, see :mod:`.deleted_users`."""
    require_staff(ctx)
    u = _user(st, p["id"])
    if u.get("deleted_at") is not None:
        raise not_found()  # deleted already: no longer among the account's users
    deleted_users.soft_delete(st, u)
    return Resp(200, {"user": render.user(u, ctx.base)})


def list_users(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/users`` (``role``/``external_id`` filters)."""
    require_staff(ctx)
    role, ext = ctx.q("role"), ctx.q("external_id")
    items = [u for u in st.users.values() if (role is None or u["role"] == role)
             and (ext is None or str(u["external_id"]).lower() == ext.lower())]
    return paginate(ctx, "users", items, lambda u: render.user(u, ctx.base))


def show_many(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/users/show_many?ids=`` or ``?external_ids=``."""
    require_staff(ctx)
    found: list[Record] = []
    if "external_ids" in ctx.query:
        for ext in ctx.ids_param("external_ids"):
            u = st.user_by_external_id(ext)
            if u is not None:
                found.append(u)
    else:
        for raw in ctx.ids_param("ids"):
            u = st.users.get(int(raw)) if raw.isdigit() else None
            if u is not None:
                found.append(u)
    return Resp(200, {"users": [render.user(u, ctx.base) for u in found], "next_page": None,
                      "previous_page": None, "count": len(found)})


def search(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/users/search?query=`` (``email:x`` or free text) or ``?external_id=``."""
    require_staff(ctx)
    ext = ctx.q("external_id")
    if ext is not None:
        u = st.user_by_external_id(ext)
        items = [u] if u else []
    else:
        query = (ctx.q("query") or "").strip()
        if query.lower().startswith("email:"):
            u = st.user_by_email(query[6:].strip().strip('"'))
            items = [u] if u else []
        else:
            needle = query.lower()
            items = [u for u in st.users.values() if needle and (needle in u["name"].lower()
                     or needle in (u["email"] or ""))]
    return paginate(ctx, "users", items, lambda u: render.user(u, ctx.base))


def identities(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/users/{id}/identities``."""
    require_staff(ctx)
    u = _user(st, p["id"])
    items = [i for i in st.identities.values() if i["user_id"] == u["id"]]
    return paginate(ctx, "identities", items, lambda i: render.identity(i, ctx.base))


def identity_create(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``POST /api/v2/users/{id}/identities`` (``{"identity": {"type": "email", "value": …}}``)."""
    require_staff(ctx)
    u = _user(st, p["id"])
    body = ctx.json().get("identity") or {}
    if body.get("type", "email") != "email" or not body.get("value"):
        raise record_invalid("value", "Value: is invalid", "InvalidValue")
    if st.user_by_email(str(body["value"])) is not None:
        raise record_invalid("value", f"Value: {body['value']} is already being used by another user",
                             "DuplicateValue")
    has_primary = any(i["user_id"] == u["id"] and i["primary"] for i in st.identities.values())
    ident = st.add_identity(u, str(body["value"]), verified=bool(body.get("verified")),
                            primary=not has_primary)
    u["updated_at"] = st.clock.now()
    return Resp(201, {"identity": render.identity(ident, ctx.base)})


def _identity(st: State, u: Record, raw: str) -> Record:
    ident = st.identities.get(int(raw)) if raw.isdigit() else None
    if ident is None or ident["user_id"] != u["id"]:
        raise not_found()
    return ident


def identity_show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/users/{id}/identities/{iid}``."""
    require_staff(ctx)
    return Resp(200, {"identity": render.identity(_identity(st, _user(st, p["id"]), p["iid"]), ctx.base)})


def make_primary(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/users/{id}/identities/{iid}/make_primary``: the user's email follows."""
    require_staff(ctx)
    u = _user(st, p["id"])
    ident = _identity(st, u, p["iid"])
    for other in st.identities.values():
        if other["user_id"] == u["id"]:
            other["primary"] = other["id"] == ident["id"]
    u["email"] = ident["value"]
    u["updated_at"] = st.clock.now()
    items = [i for i in st.identities.values() if i["user_id"] == u["id"]]
    return Resp(200, {"identities": [render.identity(i, ctx.base) for i in items]})


def identity_verify(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/users/{id}/identities/{iid}/verify``."""
    require_staff(ctx)
    ident = _identity(st, _user(st, p["id"]), p["iid"])
    ident["verified"] = True
    return Resp(200, {"identity": render.identity(ident, ctx.base)})


def identity_delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/users/{id}/identities/{iid}`` (the primary one cannot be deleted while others exist)."""
    require_staff(ctx)
    u = _user(st, p["id"])
    ident = _identity(st, u, p["iid"])
    others = [i for i in st.identities.values() if i["user_id"] == u["id"] and i["id"] != ident["id"]]
    if ident["primary"] and others:
        raise ApiError(403, {"error": "Forbidden", "description": "Cannot delete the primary identity"})
    del st.identities[ident["id"]]
    if ident["primary"]:
        u["email"] = None
    return Resp(204, None)


def user_memberships(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/users/{id}/organization_memberships``."""
    require_staff(ctx)
    u = _user(st, p["id"])
    items = [m for m in st.memberships.values() if m["user_id"] == u["id"]]
    return paginate(ctx, "organization_memberships", items, lambda m: render.membership(m, ctx.base))


# ----- organizations ------------------------------------------------------------------------------

def _new_org(st: State, body: dict[str, Any]) -> Record:
    if not body.get("name"):
        raise record_invalid("name", "Name: cannot be blank", "BlankValue")
    if any(o["name"].lower() == str(body["name"]).lower() for o in st.organizations.values()):
        raise record_invalid("name", "Name: has already been taken", "DuplicateValue")
    now = st.clock.now()
    o: Record = {"id": st.next_id("organization"), "name": str(body["name"]), "external_id": body.get("external_id"),
                 "created_at": now, "updated_at": now, "domain_names": body.get("domain_names") or [],
                 "details": body.get("details"), "notes": body.get("notes"), "tags": body.get("tags") or [],
                 "organization_fields": body.get("organization_fields") or {}}
    st.organizations[o["id"]] = o
    return o


def _update_org(st: State, o: Record, body: dict[str, Any]) -> None:
    if body.get("name") and body["name"] != o["name"]:
        if any(x["name"].lower() == str(body["name"]).lower() and x["id"] != o["id"]
               for x in st.organizations.values()):
            raise record_invalid("name", "Name: has already been taken", "DuplicateValue")
        o["name"] = str(body["name"])
        for m in st.memberships.values():
            if m["organization_id"] == o["id"]:
                m["organization_name"] = o["name"]
    for k in ("external_id", "domain_names", "details", "notes", "tags", "organization_fields"):
        if k in body:
            o[k] = body[k]
    o["updated_at"] = st.clock.now()


def _org_by_external(st: State, ext: Any) -> Record | None:
    if ext is None:
        return None
    for o in st.organizations.values():
        if o["external_id"] is not None and str(o["external_id"]).lower() == str(ext).lower():
            return o
    return None


def org_create(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/organizations``."""
    require_staff(ctx)
    o = _new_org(st, ctx.json().get("organization") or {})
    return Resp(201, {"organization": render.organization(o, ctx.base)},
                {"Location": f"{ctx.base}/api/v2/organizations/{o['id']}.json"})


def org_create_or_update(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/organizations/create_or_update`` (matched by external_id, then id)."""
    require_staff(ctx)
    body = ctx.json().get("organization") or {}
    o = _org_by_external(st, body.get("external_id"))
    if o is None and body.get("id") is not None:
        o = st.organizations.get(int(body["id"]))
    if o is None:
        o = _new_org(st, body)
        return Resp(201, {"organization": render.organization(o, ctx.base)})
    _update_org(st, o, body)
    return Resp(200, {"organization": render.organization(o, ctx.base)})


def org_show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/organizations/{id}``."""
    require_staff(ctx)
    return Resp(200, {"organization": render.organization(_org(st, p["id"]), ctx.base)})


def org_update(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT /api/v2/organizations/{id}`` (rename)."""
    require_staff(ctx)
    o = _org(st, p["id"])
    _update_org(st, o, ctx.json().get("organization") or {})
    return Resp(200, {"organization": render.organization(o, ctx.base)})


def org_delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/organizations/{id}``."""
    require_staff(ctx)
    o = _org(st, p["id"])
    for m in [m for m in st.memberships.values() if m["organization_id"] == o["id"]]:
        _remove_membership(st, m)
    del st.organizations[o["id"]]
    return Resp(204, None)


def org_list(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/organizations``."""
    require_staff(ctx)
    items = list(st.organizations.values())
    return paginate(ctx, "organizations", items, lambda o: render.organization(o, ctx.base))


def org_show_many(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/organizations/show_many?ids=`` or ``?external_ids=``."""
    require_staff(ctx)
    found: list[Record] = []
    if "external_ids" in ctx.query:
        for ext in ctx.ids_param("external_ids"):
            o = _org_by_external(st, ext)
            if o is not None:
                found.append(o)
    else:
        for raw in ctx.ids_param("ids"):
            o2 = st.organizations.get(int(raw)) if raw.isdigit() else None
            if o2 is not None:
                found.append(o2)
    return Resp(200, {"organizations": [render.organization(o, ctx.base) for o in found], "next_page": None,
                      "previous_page": None, "count": len(found)})


def org_search(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/organizations/search?external_id=`` or ``?name=``."""
    require_staff(ctx)
    ext, name = ctx.q("external_id"), ctx.q("name")
    items = [o for o in st.organizations.values()
             if (ext is not None and str(o["external_id"]).lower() == ext.lower())
             or (name is not None and o["name"].lower() == name.lower())]
    return paginate(ctx, "organizations", items, lambda o: render.organization(o, ctx.base))


def memberships_list(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/organization_memberships`` and ``/organizations/{id}/organization_memberships``."""
    require_staff(ctx)
    oid = int(_org(st, p["id"])["id"]) if "id" in p else None
    items = [m for m in st.memberships.values() if oid is None or m["organization_id"] == oid]
    return paginate(ctx, "organization_memberships", items, lambda m: render.membership(m, ctx.base))


def membership_create(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/organization_memberships``."""
    require_staff(ctx)
    body = ctx.json().get("organization_membership") or {}
    u = st.users.get(int(body.get("user_id") or 0))
    if u is None:
        raise record_invalid("user", "User: cannot be blank", "BlankValue")
    o = st.organizations.get(int(body.get("organization_id") or 0))
    if o is None:
        raise record_invalid("organization", "Organization: cannot be blank", "BlankValue")
    if any(m["user_id"] == u["id"] and m["organization_id"] == o["id"] for m in st.memberships.values()):
        raise record_invalid("user_id", "User: is already a member of this organization", "DuplicateValue")
    m = add_membership(st, u, o)
    return Resp(201, {"organization_membership": render.membership(m, ctx.base)})


def membership_show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/organization_memberships/{id}``."""
    require_staff(ctx)
    m = st.memberships.get(int(p["id"])) if p["id"].isdigit() else None
    if m is None:
        raise not_found()
    return Resp(200, {"organization_membership": render.membership(m, ctx.base)})


def membership_delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/organization_memberships/{id}``."""
    require_staff(ctx)
    m = st.memberships.get(int(p["id"])) if p["id"].isdigit() else None
    if m is None:
        raise not_found()
    _remove_membership(st, m)
    return Resp(204, None)


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("GET", "/api/v2/users/me", me)
    r.add("GET", "/api/v2/users", list_users)
    r.add("POST", "/api/v2/users", create)
    r.add("POST", "/api/v2/users/create_or_update", create_or_update)
    r.add("GET", "/api/v2/users/show_many", show_many)
    r.add("GET", "/api/v2/users/search", search)
    r.add("GET", "/api/v2/users/{id}", show)
    r.add("PUT", "/api/v2/users/{id}", update)
    r.add("DELETE", "/api/v2/users/{id}", delete)
    r.add("GET", "/api/v2/users/{id}/identities", identities)
    r.add("POST", "/api/v2/users/{id}/identities", identity_create)
    r.add("GET", "/api/v2/users/{id}/identities/{iid}", identity_show)
    r.add("PUT", "/api/v2/users/{id}/identities/{iid}/make_primary", make_primary)
    r.add("PUT", "/api/v2/users/{id}/identities/{iid}/verify", identity_verify)
    r.add("DELETE", "/api/v2/users/{id}/identities/{iid}", identity_delete)
    r.add("GET", "/api/v2/users/{id}/organization_memberships", user_memberships)
    r.add("GET", "/api/v2/organizations", org_list)
    r.add("POST", "/api/v2/organizations", org_create)
    r.add("POST", "/api/v2/organizations/create_or_update", org_create_or_update)
    r.add("GET", "/api/v2/organizations/show_many", org_show_many)
    r.add("GET", "/api/v2/organizations/search", org_search)
    r.add("GET", "/api/v2/organizations/{id}", org_show)
    r.add("PUT", "/api/v2/organizations/{id}", org_update)
    r.add("DELETE", "/api/v2/organizations/{id}", org_delete)
    r.add("GET", "/api/v2/organizations/{id}/organization_memberships", memberships_list)
    r.add("GET", "/api/v2/organization_memberships", memberships_list)
    r.add("POST", "/api/v2/organization_memberships", membership_create)
    r.add("GET", "/api/v2/organization_memberships/{id}", membership_show)
    r.add("DELETE", "/api/v2/organization_memberships/{id}", membership_delete)
