"""What the I/O layer supplies with one ticket: the console's side of it and the lookups it needs.

:func:`mappings.inbound.decide_ticket` reads these (docs/design.md §3, §4); the store and the gateway fill them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mappings.closer import StatusChange
from mappings.inbound.names import StaffNames
from mappings.models import CaseStatus
from mappings.zendesk import ZUser

__all__ = ["CaseView", "CommentLedger", "InboundContext"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CaseView(_Value):
    """The console's side of a linked ticket, as the store holds it.

    ``organization_id`` / ``requester_zendesk_id`` are what the ticket had when linked (the account's
    organization and the requester's Zendesk user).  ``last_updated_at`` / ``last_generated_timestamp`` are
    the watermark of the last snapshot applied.  ``pending_outbound`` is true while console changes of this
    case wait in the outbox: Zendesk's status then lags behind the console's and is not applied.
    """

    case_id: int
    account_id: str
    ticket_id: int
    status: CaseStatus
    organization_id: int | None = None
    requester_zendesk_id: int | None = None
    cc: list[str] = Field(default_factory=list)
    last_updated_at: datetime | None = None
    last_generated_timestamp: int | None = None
    pending_outbound: bool = False


class CommentLedger(_Value):
    """What the store knows about a ticket's comments.

    ``imported``: comment ids that became console messages; ``withdrawn``: those of them withdrawn since;
    ``written``: comment ids of casesync's own comments (recorded from the create/update audit);
    ``private``: comments the event export reported made private before any message came from them (a
    comment list read earlier may still show them public: they are never imported).
    """

    imported: frozenset[int] = frozenset()
    withdrawn: frozenset[int] = frozenset()
    written: frozenset[int] = frozenset()
    private: frozenset[int] = frozenset()


class InboundContext(_Value):
    """Lookups the I/O layer supplies with a ticket.

    * ``users``: Zendesk users by id — every comment author to import and every CC (sideload them);
    * ``ticket_cases``: ticket id → case number, **restricted to the case's account** (references, merges);
    * ``organization_account_id``: the console account whose organization the ticket is in now (``None``:
      no console account);
    * ``requester_account_ids``: the console accounts the ticket's current requester belongs to;
    * ``followup_source_case``: for an unlinked ticket with ``followup_source_id``, the case of that source
      ticket (``None`` when the source is not managed);
    * the evidence of who closed the ticket (:func:`mappings.closer.who_closed` reads it with the snapshot):
      ``status_change``, the ticket's latest status change the event export reported (read now or carried);
      ``status_changed_by``, who made it when the caller was told without its event; ``await_close_actor``,
      the poller has yet to read this change in the export, so a close of a Solved case whose actor is unknown
      is left for a later apply that knows it (the plan then applies everything else and stores no
      watermark);
    * ``merge_target_ticket_id``: the ticket a merged ticket went into, when known (else read from comments).
    """

    users: dict[int, ZUser] = Field(default_factory=dict)
    ticket_cases: dict[int, int] = Field(default_factory=dict)
    staff_names: StaffNames = Field(default_factory=StaffNames)
    zendesk_host: str | None = None
    organization_account_id: str | None = None
    requester_account_ids: frozenset[str] = frozenset()
    followup_source_case: CaseView | None = None
    status_change: StatusChange | None = None
    status_changed_by: Literal["staff", "system"] | None = None
    await_close_actor: bool = False
    merge_target_ticket_id: int | None = None
