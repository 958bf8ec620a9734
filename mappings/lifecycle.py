"""The console's case rules as an explicit state machine (docs/design.md §2).

Actors and what each may do:

* ``user``   — replies while the case is not Closed (a reply to Pending or Solved makes it Open again; a reply
  to New or Open leaves the status alone) and closes it at any time before Closed.
* ``staff``  — sets Open, Pending, Solved or Closed from any status that is not Closed, in any order.  The usual
  order and the user's acknowledgement describe the process; they are not preconditions.
* ``system`` — Zendesk itself closes a case (auto-close of solved tickets, a merge, a deletion), always with a
  reason.

Two rules hold for everyone: **New is never re-entered** (it is only ever the initial status) and **Closed is
final** (any action on a Closed case is refused with ``TransitionRefused(closed=True)``).

Every function returns a :class:`Transition` describing the decision; nothing here stores anything.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict

from mappings.errors import TransitionRefused
from mappings.models import Actor, CaseStatus

__all__ = [
    "INITIAL_STATUS",
    "STAFF_SETTABLE",
    "Action",
    "SystemCloseReason",
    "Transition",
    "TransitionRefused",
    "apply_staff_status",
    "apply_system_close",
    "apply_user_close",
    "apply_user_reply",
]

#: The status every case starts in; it can never be entered again.
INITIAL_STATUS = CaseStatus.NEW

#: What staff may set (from any status but Closed).
STAFF_SETTABLE: frozenset[CaseStatus] = frozenset(
    {CaseStatus.OPEN, CaseStatus.PENDING, CaseStatus.SOLVED, CaseStatus.CLOSED}
)

# A user's reply hands the turn back to staff only from these statuses.
_REOPENED_BY_USER_REPLY: frozenset[CaseStatus] = frozenset({CaseStatus.PENDING, CaseStatus.SOLVED})


class Action(StrEnum):
    """What happened to a case."""

    USER_REPLY = "user_reply"
    USER_CLOSE = "user_close"
    STAFF_STATUS = "staff_status"
    SYSTEM_CLOSE = "system_close"


class SystemCloseReason(StrEnum):
    """The reasons Zendesk closes a case by itself; the text is what the console shows."""

    AUTO_CLOSED = "auto-closed by Zendesk"
    MERGED = "merged in Zendesk"
    DELETED = "deleted in Zendesk"


class Transition(BaseModel):
    """A decided transition: who did what, the status before and after, and the reason for a system close."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: Actor
    action: Action
    before: CaseStatus
    after: CaseStatus
    reason: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the status changes (a reply to an Open case, or staff re-setting a status, does not)."""
        return self.before != self.after

    @property
    def closed_by(self) -> Actor | None:
        """The ``Case.closed_by`` value to record when this transition closes the case."""
        return self.actor if self.after is CaseStatus.CLOSED and self.changed else None


def _refuse_if_closed(status: CaseStatus, action: Action, actor: Literal["user", "staff", "system"]) -> None:
    if status is CaseStatus.CLOSED:
        raise TransitionRefused(
            f"{actor} {action.value.replace('_', ' ')} refused: the case is Closed (final)",
            status=status.value,
            action=action.value,
            closed=True,
        )


def apply_user_reply(status: CaseStatus) -> Transition:
    """A console user replies.  Pending/Solved → Open; New and Open stay; Closed is refused."""
    status = CaseStatus(status)
    _refuse_if_closed(status, Action.USER_REPLY, "user")
    after = CaseStatus.OPEN if status in _REOPENED_BY_USER_REPLY else status
    return Transition(actor="user", action=Action.USER_REPLY, before=status, after=after)


def apply_user_close(status: CaseStatus) -> Transition:
    """The console user closes the case, from any status but Closed."""
    status = CaseStatus(status)
    _refuse_if_closed(status, Action.USER_CLOSE, "user")
    return Transition(actor="user", action=Action.USER_CLOSE, before=status, after=CaseStatus.CLOSED)


def apply_staff_status(current: CaseStatus, target: CaseStatus) -> Transition:
    """Staff set ``target`` in Zendesk.

    Allowed from any status but Closed, in any order.  Setting the status a case already has is a
    non-changing transition (``changed`` is false), so re-reading Zendesk's state is harmless — including
    New while the case is still New.  Moving back to New is refused (``closed=False``).
    """
    current = CaseStatus(current)
    target = CaseStatus(target)
    _refuse_if_closed(current, Action.STAFF_STATUS, "staff")
    if target is CaseStatus.NEW and current is not CaseStatus.NEW:
        raise TransitionRefused(
            f"staff status refused: New can never be re-entered (the case is {current.value})",
            status=current.value,
            action=Action.STAFF_STATUS.value,
            closed=False,
        )
    return Transition(actor="staff", action=Action.STAFF_STATUS, before=current, after=target)


def apply_system_close(status: CaseStatus, reason: str | SystemCloseReason) -> Transition:
    """Zendesk closes the case by itself (auto-close, merge, deletion); ``reason`` is required."""
    status = CaseStatus(status)
    text = str(reason.value if isinstance(reason, SystemCloseReason) else reason).strip()
    if not text:
        raise ValueError("a system close needs a reason")
    _refuse_if_closed(status, Action.SYSTEM_CLOSE, "system")
    return Transition(actor="system", action=Action.SYSTEM_CLOSE, before=status, after=CaseStatus.CLOSED, reason=text)
