"""A follow-up made in Zendesk is its own plan: the case to create, and the changes that apply to that case
(docs/design.md §4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mappings.inbound import (
    CaseView,
    ChangeStatus,
    CreateFollowUpCase,
    ImportMessage,
    InboundContext,
    StatusDecision,
    TicketOutcome,
    decide_ticket,
)
from mappings.models import CaseStatus
from mappings.zendesk import ZComment, ZTicket, ZUser

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
REQUESTER = ZUser(id=501, name="Ann Admin", email="ann@acme.test")
SOURCE = CaseView(
    case_id=1042,
    account_id="acme",
    ticket_id=35,
    status=CaseStatus.CLOSED,
    organization_id=77,
    requester_zendesk_id=501,
)
CONTEXT = InboundContext(
    users={REQUESTER.id: REQUESTER},
    organization_account_id="acme",
    requester_account_ids=frozenset({"acme"}),
    followup_source_case=SOURCE,
)


def _follow_up(status: str, **over: object) -> ZTicket:
    values: dict[str, object] = {
        "id": 60, "status": status, "subject": "Login fails", "requester_id": 501, "organization_id": 77,
        "followup_source_id": 35, "generated_timestamp": 1001, "updated_at": T0,
    }
    values.update(over)
    return ZTicket.model_validate(values)


COMMENT = ZComment(id=1, author_id=501, body="It is back", public=True, created_at=T0)


@pytest.mark.parametrize(
    ("status", "changes"),
    [
        ("new", [ImportMessage]),
        ("open", [ImportMessage, ChangeStatus]),
        ("closed", [ImportMessage, ChangeStatus]),
    ],
)
def test_the_follow_up_case_and_the_changes_to_it_are_one_plan(status: str, changes: list[type]) -> None:
    plan = decide_ticket(None, _follow_up(status), [COMMENT], None, CONTEXT)
    assert (plan.outcome, plan.case_id) == (TicketOutcome.NEW_FOLLOW_UP, None)
    assert plan.follow_up == CreateFollowUpCase(
        account_id="acme", ticket_id=60, refers_to=1042, subject="Login fails", requester_zendesk_id=501,
        organization_id=77,
    )
    # The changes name no case: they are the new case's, and none of them creates anything.
    assert [type(c) for c in plan.changes] == changes
    assert plan.actions == [plan.follow_up, *plan.changes]
    assert plan.generated_timestamp == 1001


def test_a_follow_up_closed_from_new_is_judged_as_a_case_that_starts_new() -> None:
    plan = decide_ticket(None, _follow_up("closed"), [], None, CONTEXT)
    (change,) = plan.changes
    assert isinstance(change, ChangeStatus) and (change.status, change.actor) == (CaseStatus.CLOSED, "staff")
    assert plan.status is StatusDecision.APPLY


@pytest.mark.parametrize(
    ("ticket", "requester_accounts", "outcome"),
    [
        (_follow_up("new", requester_id=777), {"globex"}, TicketOutcome.CONFLICT),  # another account's requester
        (_follow_up("new", external_id="console-case:1077"), {"acme"}, TicketOutcome.AWAIT_LINK),  # casesync's own
        (_follow_up("new", followup_source_id=12), {"acme"}, TicketOutcome.IGNORE_UNMANAGED),  # not a managed source
    ],
)
def test_no_case_is_created_for_a_ticket_that_is_not_a_managed_follow_up(
    ticket: ZTicket, requester_accounts: set[str], outcome: TicketOutcome
) -> None:
    context = CONTEXT.model_copy(update={"requester_account_ids": frozenset(requester_accounts)})
    plan = decide_ticket(None, ticket, [COMMENT], None, context)
    assert plan.outcome is outcome
    assert plan.follow_up is None


def test_a_linked_tickets_plan_creates_nothing() -> None:
    linked = SOURCE.model_copy(update={"ticket_id": 60, "status": CaseStatus.OPEN})
    plan = decide_ticket(linked, _follow_up("open"), [COMMENT], None, CONTEXT)
    assert (plan.outcome, plan.case_id, plan.follow_up) == (TicketOutcome.APPLY, 1042, None)
    assert [type(c) for c in plan.changes] == [ImportMessage]
