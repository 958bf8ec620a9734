"""Deleting users and permanently deleting them, as Zendesk does (see docs/sandbox-conformance.md).

* ``DELETE /api/v2/users/{id}`` soft-deletes: the user turns inactive and is listed under
  ``/api/v2/deleted_users``; the account owner cannot be deleted.
* ``DELETE /api/v2/deleted_users/{id}`` permanently deletes a user that was deleted first (admins only;
  a user that is not soft-deleted is not found there): its personal data goes (email and phone null,
  identities removed, name "Permanently Deleted User"), while its id stays on the tickets and comments it
  requested or wrote, whose text Zendesk keeps.
* ``GET /api/v2/deleted_users`` lists soft- and permanently deleted users; ``GET
  /api/v2/deleted_users/{id}`` shows a user deleted but not permanently yet; ``GET …/count`` counts them.
"""

from __future__ import annotations

from typing import Any

from .auth import require_admin, require_staff
from .clock import iso
from .errors import forbidden, not_found
from .routing import Ctx, Resp, Router, paginate
from .state import Record, State

__all__ = ["PERMANENTLY_DELETED_NAME", "register", "soft_delete"]

#: The name Zendesk shows for a permanently deleted user.
PERMANENTLY_DELETED_NAME = "Permanently Deleted User"


def soft_delete(st: State, u: Record) -> None:
    """Delete a user (the first step): inactive, listed among the deleted users."""
    if u["id"] == st.admin_id:
        raise forbidden("The account owner cannot be deleted")
    now = st.clock.now()
    u["active"] = False
    u["deleted_at"] = now
    u["updated_at"] = now


def _deleted(st: State, raw: str) -> Record:
    """A soft-deleted (not permanently deleted) user, else 404."""
    u = st.users.get(int(raw)) if raw.isdigit() else None
    if u is None or u.get("deleted_at") is None or u.get("permanently_deleted"):
        raise not_found()
    return u


def _render(u: Record, base: str) -> dict[str, Any]:
    return {
        "id": u["id"],
        "url": f"{base}/api/v2/deleted_users/{u['id']}.json",
        "name": u["name"],
        "email": u["email"],
        "created_at": iso(u["created_at"]),
        "updated_at": iso(u["updated_at"]),
        "time_zone": "America/New_York",
        "phone": u["phone"],
        "shared_phone_number": None,
        "photo": None,
        "locale_id": 1,
        "locale": "en-US",
        "organization_id": u["organization_id"],
        "role": u["role"],
        "active": False,
    }


def show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/deleted_users/{id}``."""
    require_staff(ctx)
    return Resp(200, {"deleted_user": _render(_deleted(st, p["id"]), ctx.base)})


def permanently_delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/deleted_users/{id}``: erase the user's personal data for good."""
    require_admin(ctx)
    u = _deleted(st, p["id"])
    answer = _render(u, ctx.base)  # Zendesk answers with the user as it was deleted
    for ident_id in [i["id"] for i in st.identities.values() if i["user_id"] == u["id"]]:
        del st.identities[ident_id]
    for m_id in [m["id"] for m in st.memberships.values() if m["user_id"] == u["id"]]:
        del st.memberships[m_id]
    u.update(
        name=PERMANENTLY_DELETED_NAME, email=None, phone=None, external_id=None, notes=None, details=None,
        tags=[], user_fields={}, organization_id=None, permanently_deleted=True, updated_at=st.clock.now(),
    )
    return Resp(200, {"deleted_user": answer})


def list_deleted(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/deleted_users``: soft- and permanently deleted users."""
    require_staff(ctx)
    items = [u for u in st.users.values() if u.get("deleted_at") is not None]
    return paginate(ctx, "deleted_users", items, lambda u: _render(u, ctx.base))


def count(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/deleted_users/count``."""
    require_staff(ctx)
    n = sum(1 for u in st.users.values() if u.get("deleted_at") is not None)
    return Resp(200, {"count": {"value": n, "refreshed_at": iso(st.clock.now())}})


def register(r: Router) -> None:
    """Add this module's routes (``DELETE /api/v2/users/{id}`` stays with the users module)."""
    r.add("GET", "/api/v2/deleted_users", list_deleted)
    r.add("GET", "/api/v2/deleted_users/count", count)
    r.add("GET", "/api/v2/deleted_users/{id}", show)
    r.add("DELETE", "/api/v2/deleted_users/{id}", permanently_delete)
