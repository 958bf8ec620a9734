"""How the author of a message imported from Zendesk is named on the console (docs/design.md §3)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from mappings.zendesk import ZUser

__all__ = ["StaffNameStyle", "StaffNames", "staff_display_name", "user_display_name"]


class StaffNameStyle(StrEnum):
    """How a staff message's author is shown to the console user (a setting)."""

    FIRST_NAME = "first_name"
    FULL_NAME = "full_name"
    TEAM = "team"


class StaffNames(BaseModel):
    """The staff-name setting: the style, and the fixed name used by ``team`` (and as a last resort)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    style: StaffNameStyle = StaffNameStyle.FIRST_NAME
    team_name: str = "Support"


def staff_display_name(agent: ZUser | None, names: StaffNames | None = None) -> str:
    """The name shown for a staff message: the agent's first name (default), full name, or the team name."""
    names = names or StaffNames()
    full = (agent.name if agent else "").strip()
    if names.style is StaffNameStyle.TEAM or not full:
        return names.team_name
    if names.style is StaffNameStyle.FULL_NAME:
        return full
    return full.split()[0]


def user_display_name(user: ZUser) -> str:
    """The name shown for an end user's message written in Zendesk: their name, else their address."""
    return user.name.strip() or (user.email or "").strip() or "user"
