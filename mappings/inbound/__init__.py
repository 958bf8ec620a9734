"""Pure decisions for applying Zendesk's state of one ticket to the console (docs/design.md §3, §4).

The I/O layer gathers, for one ticket: the console's view of its case (:class:`CaseView`, or ``None`` when the
ticket is not linked), the ticket snapshot, its comments, what it already knows about those comments
(:class:`CommentLedger`) and the lookups in :class:`InboundContext`.  :func:`decide_ticket` returns an
:class:`InboundPlan` that the I/O layer executes in one transaction — it creates the plan's follow-up case, if
any, and applies the plan's ``changes`` **in order** to the case — then stores the plan's watermark
(``updated_at`` / ``generated_timestamp``) for the ticket.

What the decisions guarantee:

* internal notes never become messages (nor their attachments); a previously imported comment that is now
  private is withdrawn, whatever else the snapshot is (stale, or moved to another account);
* comments casesync wrote (known comment id, or the ``casesync_message_id`` marker) are never imported (no echo),
  and a comment already imported is never imported twice;
* a snapshot older than the last one applied changes nothing (order, docs/design.md §4.10);
* a ticket moved to another account's organization or requester moves nothing: a conflict is recorded and no
  comment of that ticket is imported any more (tenant isolation, §4.8);
* Zendesk's follow-ups of managed tickets become new cases referring to the source's case (the plan's
  ``follow_up``); who closed a ticket is :func:`mappings.closer.who_closed`'s answer (merges and deletions
  close the case with actor ``system`` and a reason); tickets casesync does not manage are ignored.

The package's modules, by topic: ``inputs`` (what the I/O layer supplies), ``plan`` (what it executes),
``names`` (how authors are named), ``comments`` (which comments are imported or withdrawn), ``status_change``
(status, and the evidence of who closed it), ``ownership`` (stale snapshots, tickets moved across accounts),
``followups`` (unlinked tickets) and ``ticket`` (:func:`decide_ticket`, composing them).
"""

from __future__ import annotations

from mappings.closer import MERGE_TAG, RULE_CHANNEL, SYSTEM_UPDATER_ID, assumed_close_actor, status_actor
from mappings.inbound.comments import MARKER_KEY, STAFF_ROLES, decide_comment, marker_message_id
from mappings.inbound.inputs import CaseView, CommentLedger, InboundContext
from mappings.inbound.names import StaffNames, StaffNameStyle, staff_display_name, user_display_name
from mappings.inbound.ownership import is_stale
from mappings.inbound.plan import (
    ChangeStatus,
    CommentDecision,
    CommentVerdict,
    ConflictReason,
    CreateFollowUpCase,
    ImportMessage,
    InboundAction,
    InboundPlan,
    RecordConflict,
    SetCc,
    StatusDecision,
    TicketOutcome,
    WithdrawMessage,
)
from mappings.inbound.status_change import find_merge_target
from mappings.inbound.ticket import decide_ticket

__all__ = [
    "MARKER_KEY",
    "MERGE_TAG",
    "RULE_CHANNEL",
    "STAFF_ROLES",
    "SYSTEM_UPDATER_ID",
    "CaseView",
    "ChangeStatus",
    "CommentDecision",
    "CommentLedger",
    "CommentVerdict",
    "ConflictReason",
    "CreateFollowUpCase",
    "ImportMessage",
    "InboundAction",
    "InboundContext",
    "InboundPlan",
    "RecordConflict",
    "SetCc",
    "StaffNameStyle",
    "StaffNames",
    "StatusDecision",
    "TicketOutcome",
    "WithdrawMessage",
    "assumed_close_actor",
    "decide_comment",
    "decide_ticket",
    "find_merge_target",
    "is_stale",
    "marker_message_id",
    "staff_display_name",
    "status_actor",
    "user_display_name",
]
