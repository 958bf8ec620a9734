"""A ticket's organization is one of its requester's organizations, as on Zendesk.

Zendesk documents the ticket's ``organization_id`` as "The organization of the requester. You can only
specify the ID of an organization associated with the requester" (OAS ``TicketCreateInput`` /
``TicketUpdateInput``), and a ticket created without one is given the requester's default organization
(help center article 4408886900506, "Changing the requester or organization of a ticket"; the user's
``organization_id`` is the default one when it has several memberships, OAS ``User``).

Details no source confirms (see ``docs/sandbox-conformance.md``) are decided conservatively: an organization
the requester is not a member of is refused with 422 ``RecordInvalid``; a requester change without an
``organization_id`` gives the ticket the new requester's default organization (none if it has none); a
follow-up keeps its source's organization only while its requester belongs to it.
"""

from __future__ import annotations

from typing import Any

from .errors import record_invalid
from .state import Record, State

__all__ = ["member_organizations", "organization_for_create", "organization_for_update"]


def member_organizations(st: State, user: Record) -> set[int]:
    """The ids of the organizations ``user`` is a member of."""
    return {m["organization_id"] for m in st.memberships.values() if m["user_id"] == user["id"]}


def _default_organization(st: State, user: Record) -> int | None:
    default = user.get("organization_id")
    return int(default) if default is not None and int(default) in member_organizations(st, user) else None


def _checked(st: State, requester: Record, requested: Any) -> int:
    org_id = int(requested)
    if org_id not in st.organizations:
        raise record_invalid("organization", "Organization: not found", "InvalidValue")
    if org_id not in member_organizations(st, requester):
        # Zendesk's wording for this refusal is not documented; the envelope is its RecordInvalid.
        raise record_invalid(
            "organization_id",
            "Organization: is not an organization the requester belongs to",
            "InvalidValue",
        )
    return org_id


def organization_for_create(st: State, data: dict[str, Any], requester: Record,
                            source: Record | None) -> int | None:
    """The organization of a ticket created from ``data`` for ``requester`` (``source``: a follow-up's
    closed source ticket). Raises 422 for an organization the requester does not belong to."""
    if data.get("organization_id") is not None:
        return _checked(st, requester, data["organization_id"])
    if source is not None and source["organization_id"] in member_organizations(st, requester):
        return int(source["organization_id"])
    return _default_organization(st, requester)


def organization_for_update(st: State, data: dict[str, Any], ticket: Record, requester: Record,
                            requester_changed: bool) -> int | None:
    """The organization of ``ticket`` after an update ``data`` that leaves ``requester`` as its requester.

    An ``organization_id`` in the update must be one of the requester's organizations (``null`` clears
    it); without one, a new requester brings its default organization and otherwise nothing changes.
    """
    if "organization_id" in data:
        requested = data["organization_id"]
        if requested is None:
            return None
        if not requester_changed and ticket["organization_id"] is not None \
                and int(requested) == ticket["organization_id"]:
            return int(requested)  # unchanged: a membership removed since does not make it invalid
        return _checked(st, requester, requested)
    if requester_changed:
        return _default_organization(st, requester)
    current = ticket["organization_id"]
    return int(current) if current is not None else None
