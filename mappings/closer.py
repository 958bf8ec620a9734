"""Who closed a case: the console user, an agent, Zendesk's automation, a merge, a deletion or an erasure.

Every place that closes a case — the inbound decision for a ticket read from Zendesk, a queued reply Zendesk
refused because the ticket was closed first, the backfill of tickets closed already, the console user's close,
the erasure of a requester — gathers what it knows as :class:`CloseEvidence` and asks :func:`who_closed`,
which answers with a :class:`Closer` (the actor recorded as ``closed_by``, the cause and the reason shown) or
``None`` when the evidence cannot tell yet (docs/design.md §2, §3).

The rules, by the place the close was seen (:class:`CloseWitness`):

* ``console``: the console user closed it (``user``); ``erasure``: the requester's data was erased (``system``);
* ``snapshot`` (a ticket read from Zendesk is closed, or gone): a deletion, then a merge (the ``closed_by_merge``
  tag) are Zendesk's (``system``).  Otherwise the updater of the export's status change that set the snapshot's
  status tells: Zendesk itself (``updater_id`` ``-1``) or a business rule (channel ``rule``) is the automation
  (``system``), anyone else an agent (``staff``).  With no such event, a close straight from Solved is left
  for the events while the poller has yet to read them (``None``), else taken for the auto-close, which closes
  solved tickets only (``system``); a close from any other status is an agent's (``staff``);
* ``reply_refused`` (Zendesk refused a queued reply: the ticket was closed or deleted first; the refusal names
  no one): a deletion is Zendesk's; else a close from Solved — as casesync last saw the ticket or the case — is
  the auto-close's, any other an agent's;
* ``import`` (the backfill finds the ticket closed already): a merge into a case of the same account is
  Zendesk's, anything else is taken for an agent's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_validator

from mappings.lifecycle import SystemCloseReason
from mappings.models import Actor, CaseStatus, ChangeKind
from mappings.status import DELETED

__all__ = [
    "CLOSED_BEFORE_IMPORT",
    "CLOSED_BEFORE_REPLY",
    "CLOSED_BY_USER",
    "ERASED",
    "MERGE_TAG",
    "RULE_CHANNEL",
    "SYSTEM_UPDATER_ID",
    "CloseCause",
    "CloseEvidence",
    "CloseWitness",
    "Closer",
    "StatusChange",
    "assumed_close_actor",
    "status_actor",
    "who_closed",
]

#: The tag Zendesk puts on a ticket closed by a merge.
MERGE_TAG = "closed_by_merge"

#: The ``updater_id`` of the updates Zendesk makes itself (automations such as the auto-close of solved tickets).
SYSTEM_UPDATER_ID = -1

#: The channel of updates made by business rules (automations and triggers).
RULE_CHANNEL = "rule"

#: The reasons the console shows besides Zendesk's own (``mappings.lifecycle.SystemCloseReason``).
CLOSED_BY_USER = "closed by the user"
ERASED = "the requester's personal data was erased"
CLOSED_BEFORE_REPLY = "closed in Zendesk before a reply arrived"
CLOSED_BEFORE_IMPORT = "closed in Zendesk before the import"


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CloseWitness(StrEnum):
    """Where casesync learns of the close."""

    CONSOLE = "console"  # the console user closed the case (``SupportCases.close``)
    ERASURE = "erasure"  # the requester's personal data was erased: their cases close
    SNAPSHOT = "snapshot"  # a ticket read from Zendesk is closed or deleted (the poller, the inbox, a 404)
    REPLY_REFUSED = "reply_refused"  # Zendesk refused a queued reply: the ticket was closed or deleted first
    IMPORT = "import"  # the backfill imports a ticket that is closed already


class CloseCause(StrEnum):
    """Who, or what, closed the case."""

    CONSOLE_USER = "console_user"
    ERASURE = "erasure"
    AGENT = "agent"
    AUTOMATION = "automation"
    MERGE = "merge"
    DELETION = "deletion"


class StatusChange(_Value):
    """A ticket's status change as the ticket-event export reports it: the status it set, the update's
    ``updater_id`` and channel (``via.channel``)."""

    status: str
    updater_id: int | None = None
    via_channel: str | None = None


class CloseEvidence(_Value):
    """What the caller knows of a close; each witness reads only the fields its rules name.

    * ``case_status``: the case's status before the close;
    * ``ticket_status``: the ticket's status as Zendesk shows it now (``closed``; ``deleted`` also for a ticket
      Zendesk no longer has); ``tags``: its tags;
    * ``last_seen_ticket_status``: the ticket's status when casesync last applied it;
    * ``merged_into``: the case (of the same account) the ticket was merged into, when known;
    * ``status_change``: the ticket's latest status change the event export reported (read in this poll or
      carried from an earlier one); it speaks for the snapshot only when it set the snapshot's status;
    * ``status_changed_by``: who made the status change, when the caller was told without its event;
    * ``events_pending``: the poller has yet to read this change in the event export, which names the updater.
    """

    witness: CloseWitness
    case_status: CaseStatus | None = None
    ticket_status: str | None = None
    tags: frozenset[str] = frozenset()
    last_seen_ticket_status: str | None = None
    merged_into: int | None = None
    status_change: StatusChange | None = None
    status_changed_by: Literal["staff", "system"] | None = None
    events_pending: bool = False

    @model_validator(mode="after")
    def _case_status_for_zendesk_closes(self) -> CloseEvidence:
        # A close seen on a ticket is judged by the status it closed from: never guessed.
        if self.witness in (CloseWitness.SNAPSHOT, CloseWitness.REPLY_REFUSED) and self.case_status is None:
            raise ValueError(f"a close seen as {self.witness.value} needs the case's status")
        return self


class Closer(_Value):
    """The answer: the ``closed_by`` to record, the cause, and the reason the console shows (``None``: none)."""

    actor: Actor
    cause: CloseCause
    reason: str | None = None

    @property
    def feed_kind(self) -> ChangeKind:
        """The change-feed kind of the close: ``merged``, ``closed_by_system`` or a plain ``status`` change."""
        if self.cause is CloseCause.MERGE:
            return ChangeKind.MERGED
        return ChangeKind.CLOSED_BY_SYSTEM if self.actor == "system" else ChangeKind.STATUS


def status_actor(updater_id: int | None, via_channel: str | None) -> Literal["staff", "system"]:
    """Who made a ticket update, from the ticket-event export's ``updater_id`` and channel: Zendesk itself
    (``-1``, e.g. the automation that closes solved tickets) or a business rule (channel ``rule``) is
    ``system``; anything else is a person in Zendesk, i.e. ``staff``."""
    if updater_id == SYSTEM_UPDATER_ID or (via_channel or "").strip().lower() == RULE_CHANNEL:
        return "system"
    return "staff"


def assumed_close_actor(before: CaseStatus) -> Literal["staff", "system"]:
    """Who closed a ticket when no event says: Zendesk's auto-close closes solved tickets only, so a close
    straight from Solved is taken for it (``system``); a ticket closed from any other status was closed by
    a person in Zendesk (``staff``)."""
    return "system" if CaseStatus(before) is CaseStatus.SOLVED else "staff"


_AUTO_CLOSED = SystemCloseReason.AUTO_CLOSED.value
_MERGED = SystemCloseReason.MERGED.value
_DELETED = SystemCloseReason.DELETED.value


def who_closed(evidence: CloseEvidence) -> Closer | None:
    """Who closed the case, by the rules of the module; ``None`` when a snapshot's close waits for its events."""
    witness = evidence.witness
    if witness is CloseWitness.CONSOLE:
        return Closer(actor="user", cause=CloseCause.CONSOLE_USER, reason=CLOSED_BY_USER)
    if witness is CloseWitness.ERASURE:
        return Closer(actor="system", cause=CloseCause.ERASURE, reason=ERASED)
    if witness is CloseWitness.IMPORT:
        if MERGE_TAG in evidence.tags and evidence.merged_into is not None:
            return Closer(actor="system", cause=CloseCause.MERGE, reason=_MERGED)
        return Closer(actor="staff", cause=CloseCause.AGENT, reason=CLOSED_BEFORE_IMPORT)
    if evidence.ticket_status == DELETED:
        return Closer(actor="system", cause=CloseCause.DELETION, reason=_DELETED)
    before = evidence.case_status
    assert before is not None  # checked when the evidence was made
    if witness is CloseWitness.REPLY_REFUSED:
        seen = CaseStatus.SOLVED if evidence.last_seen_ticket_status == "solved" else before
        return _by(assumed_close_actor(seen), system_reason=CLOSED_BEFORE_REPLY, staff_reason=CLOSED_BEFORE_REPLY)
    if MERGE_TAG in evidence.tags:
        return Closer(actor="system", cause=CloseCause.MERGE, reason=_MERGED)
    change = evidence.status_change
    if change is not None and change.status == evidence.ticket_status:
        return _by(status_actor(change.updater_id, change.via_channel), system_reason=_AUTO_CLOSED)
    if evidence.status_changed_by is not None:
        return _by(evidence.status_changed_by, system_reason=_AUTO_CLOSED)
    if before is CaseStatus.SOLVED and evidence.events_pending:
        # An agent's close and the auto-close look the same on the ticket: only the export's events tell.
        return None
    return _by(assumed_close_actor(before), system_reason=_AUTO_CLOSED)


def _by(actor: Literal["staff", "system"], *, system_reason: str, staff_reason: str | None = None) -> Closer:
    if actor == "system":
        return Closer(actor="system", cause=CloseCause.AUTOMATION, reason=system_reason)
    return Closer(actor="staff", cause=CloseCause.AGENT, reason=staff_reason)
