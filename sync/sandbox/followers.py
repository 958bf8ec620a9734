"""Followers and ``collaborator_ids`` writes, and the ticket's ``is_public`` flag.

* ``followers`` is "Write only. An array of objects that represents agent followers to add or delete from the
  ticket" (``{user_id | user_email, action: put | delete}``), ignored when CCs and followers is not enabled
  (OAS ``TicketUpdateInput.followers``, ``Ticket.follower_ids``).  Only agents follow.
* ``collaborator_ids`` on an update sets the CC list to those users ("The ids of users currently CC'ed on
  the ticket", OAS ``Ticket.collaborator_ids``, not read-only).
* ``is_public`` "Is true if any comments are public, false otherwise" (OAS ``Ticket.is_public``): recomputed
  whenever a comment is added or made private.
"""

from __future__ import annotations

from typing import Any

from .errors import record_invalid
from .state import Record, State

__all__ = ["apply_collaborator_ids", "apply_followers", "recompute_is_public"]


def _user(st: State, item: Any, field: str) -> Record:
    ref = item.get("user_id") or item.get("user_email") or item.get("id") or item.get("email") \
        if isinstance(item, dict) else item
    user = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        user = st.users.get(int(ref))
    elif isinstance(ref, str):
        user = st.user_by_email(ref)
    if user is None:
        raise record_invalid(field, f"{field.capitalize()}: user {ref} not found", "InvalidValue")
    return user


def apply_followers(st: State, t: Record, spec: list[Any] | None) -> None:
    """Apply a ``followers`` write to ``t["follower_ids"]`` (agents and admins only)."""
    if not spec or not st.settings["tickets"]["follower_and_email_cc_collaborations"]:
        return
    followers = list(t["follower_ids"])
    for item in spec:
        user = _user(st, item, "followers")
        action = item.get("action", "put") if isinstance(item, dict) else "put"
        if action == "delete":
            followers = [f for f in followers if f != user["id"]]
            continue
        if user["role"] == "end-user":
            raise record_invalid("followers", f"Followers: {user['email']} is not an agent", "InvalidValue")
        if user["id"] not in followers:
            followers.append(user["id"])
    t["follower_ids"] = followers


def apply_collaborator_ids(st: State, t: Record, ids: list[Any] | None) -> None:
    """Set the CC list from a ``collaborator_ids`` write (the requester is never their own CC)."""
    if ids is None or not st.settings["tickets"]["follower_and_email_cc_collaborations"]:
        return
    ccs: list[int] = []
    for ref in ids:
        user = _user(st, ref, "collaborator_ids")
        if user["id"] not in ccs and user["id"] != t["requester_id"]:
            ccs.append(user["id"])
    if len(ccs) > st.config.max_email_ccs:
        raise record_invalid("collaborator_ids", f"Collaborators: at most {st.config.max_email_ccs} email CCs",
                             "TooManyEmailCCs")
    t["email_cc_ids"] = ccs


def recompute_is_public(st: State, t: Record) -> None:
    """``is_public``: whether any of the ticket's comments is public."""
    t["is_public"] = any(c["public"] for c in st.comments.get(t["id"], []))
