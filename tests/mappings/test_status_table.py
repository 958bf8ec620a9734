"""The status table of docs/design.md §3, both ways."""

from __future__ import annotations

import pytest

from mappings.errors import TransitionRefused, UnknownZendeskStatus
from mappings.models import CaseStatus
from mappings.status import (
    INBOUND_STATUS,
    status_for_user_reply,
    status_from_zendesk,
)
from mappings.zendesk import TicketDraft


@pytest.mark.parametrize(
    ("zendesk", "console"),
    [
        ("new", CaseStatus.NEW),
        ("open", CaseStatus.OPEN),
        ("hold", CaseStatus.OPEN),  # hold is internal: the user sees Open
        ("pending", CaseStatus.PENDING),
        ("solved", CaseStatus.SOLVED),
        ("closed", CaseStatus.CLOSED),
        ("deleted", CaseStatus.CLOSED),  # a close by the system, with a reason
    ],
)
def test_inbound_maps_the_ticket_status_field(zendesk: str, console: CaseStatus) -> None:
    assert status_from_zendesk(zendesk) is console


def test_the_inbound_table_is_exactly_the_documented_one() -> None:
    assert set(INBOUND_STATUS) == {"new", "open", "hold", "pending", "solved", "closed", "deleted"}


@pytest.mark.parametrize("value", ["", "Open", "OPEN", " open", "archived", "on-hold", "resolved", "42"])
def test_an_unknown_status_is_an_error_never_a_guess(value: str) -> None:
    with pytest.raises(UnknownZendeskStatus) as raised:
        status_from_zendesk(value)
    assert raised.value.value == value
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("status_when_replying", "ticket_status"),
    [
        (CaseStatus.NEW, None),  # a reply to a New case leaves the ticket new: no status sent
        (CaseStatus.OPEN, "open"),
        (CaseStatus.PENDING, "open"),
        (CaseStatus.SOLVED, "open"),
    ],
)
def test_outbound_a_user_reply_sets(status_when_replying: CaseStatus, ticket_status: str | None) -> None:
    assert status_for_user_reply(status_when_replying) == ticket_status


def test_outbound_a_submit_sends_no_status_so_zendesk_makes_it_new() -> None:
    assert "status" not in TicketDraft.model_fields


def test_outbound_nothing_is_sent_for_a_reply_to_a_closed_case() -> None:
    with pytest.raises(TransitionRefused) as raised:
        status_for_user_reply(CaseStatus.CLOSED)
    assert raised.value.closed is True


@pytest.mark.parametrize("status", [s for s in CaseStatus if s is not CaseStatus.CLOSED])
def test_a_user_reply_never_sets_pending_or_solved(status: CaseStatus) -> None:
    assert status_for_user_reply(status) not in {"pending", "solved", "hold", "new"}
