"""What the outbox writes to Zendesk for each console change (docs/design.md §3, issue 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mappings.errors import TooManyRecipients, TransitionRefused
from mappings.models import CaseStatus
from mappings.outbound import (
    ACK_TAG,
    CloseDecision,
    NewTicket,
    ReplyOutbound,
    body_digest,
    build_reply,
    build_ticket_draft,
    continuation_subject,
    decide_close,
    find_message_comment,
    message_marker,
)
from mappings.zendesk import CcChange, ZComment, ZTicket

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _new(**over: object) -> NewTicket:
    values: dict[str, object] = {
        "case_id": 1042,
        "subject": "Login fails",
        "body": "It fails since Monday.",
        "requester_zendesk_id": 501,
        "requester_email": "Ann@Acme.test",
        "organization_id": 77,
        "recipients": ["ann@acme.test", "it@acme.test", "ops@acme.test"],
        "first_message_id": 9001,
    }
    values.update(over)
    return NewTicket.model_validate(values)


def test_a_submitted_case_becomes_this_ticket() -> None:
    draft = build_ticket_draft(_new())
    assert draft.subject == "Login fails"
    assert draft.comment.body == "It fails since Monday."
    assert draft.comment.public is True
    assert draft.comment.author_id == 501  # the first comment is the requester's
    assert draft.requester_id == 501
    assert draft.organization_id == 77
    assert draft.external_id == "console-case:1042"
    assert draft.tags == ["console_case", "console_case_1042"]
    assert draft.custom_fields == []
    assert draft.email_ccs == [
        CcChange(email="it@acme.test", action="put"),
        CcChange(email="ops@acme.test", action="put"),
    ]  # the requester is not CC'd
    assert draft.via_followup_source_id is None
    assert draft.metadata == {"casesync_message_id": 9001}


def test_the_console_case_field_is_set_when_configured() -> None:
    draft = build_ticket_draft(_new(console_case_field_id=360001))
    assert draft.custom_fields == [{"id": 360001, "value": "1042"}]


def test_a_case_that_refers_to_a_closed_one_is_a_zendesk_follow_up() -> None:
    draft = build_ticket_draft(_new(followup_source_ticket_id=35))
    assert draft.via_followup_source_id == 35
    assert draft.tags == ["console_case", "console_case_1042"]  # replaces the parent's inherited tags


def test_a_ticket_draft_never_carries_over_48_ccs() -> None:
    with pytest.raises(TooManyRecipients):
        build_ticket_draft(_new(recipients=[f"u{i}@acme.test" for i in range(50)]))


@pytest.mark.parametrize(
    ("status_before", "status_sent"),
    [(CaseStatus.NEW, None), (CaseStatus.OPEN, "open"), (CaseStatus.PENDING, "open"), (CaseStatus.SOLVED, "open")],
)
def test_a_reply_is_one_public_comment_by_the_requester_with_the_marker(
    status_before: CaseStatus, status_sent: str | None
) -> None:
    plan = build_reply(
        ReplyOutbound(message_id=7, body="Thanks!", requester_zendesk_id=501, status_before=status_before)
    )
    update = plan.update
    assert update.comment is not None
    assert (update.comment.body, update.comment.public, update.comment.author_id) == ("Thanks!", True, 501)
    assert update.status == status_sent
    assert update.metadata == {"casesync_message_id": 7}
    assert update.additional_tags == []
    assert plan.tags_after == []


def test_an_acknowledgement_adds_the_tag_without_replacing_tags() -> None:
    plan = build_reply(
        ReplyOutbound(
            message_id=8,
            body="Solved, thanks",
            requester_zendesk_id=501,
            status_before=CaseStatus.SOLVED,
            acknowledges_solution=True,
        )
    )
    assert plan.update.additional_tags == [ACK_TAG]
    assert "tags" not in plan.update.model_dump(exclude_defaults=True)


def test_an_impersonated_reply_carries_only_the_comment_and_tags_follow_separately() -> None:
    plan = build_reply(
        ReplyOutbound(
            message_id=9,
            body="More info",
            requester_zendesk_id=501,
            status_before=CaseStatus.PENDING,
            acknowledges_solution=True,
            impersonate=True,
        )
    )
    assert plan.update.status is None
    assert plan.update.additional_tags == []
    assert plan.update.comment is not None and plan.update.comment.author_id is None
    assert plan.update.metadata == message_marker(9)
    assert plan.tags_after == [ACK_TAG]


def test_a_reply_to_a_closed_case_is_never_built() -> None:
    with pytest.raises(TransitionRefused) as raised:
        build_reply(ReplyOutbound(message_id=1, body="x", requester_zendesk_id=1, status_before=CaseStatus.CLOSED))
    assert raised.value.closed


@pytest.mark.parametrize(
    ("status", "assignee", "default", "decision", "fields"),
    [
        ("open", 900, None, CloseDecision.CLOSE, {"status": "closed"}),
        ("new", None, 901, CloseDecision.ASSIGN_AND_CLOSE, {"status": "closed", "assignee_id": 901}),
        ("pending", None, None, CloseDecision.ASSIGN_FIRST, None),
        ("closed", None, None, CloseDecision.ALREADY_CLOSED, None),
        ("deleted", 900, 901, CloseDecision.ALREADY_CLOSED, None),
    ],
)
def test_closing(
    status: str, assignee: int | None, default: int | None, decision: CloseDecision, fields: dict[str, object] | None
) -> None:
    plan = decide_close(ZTicket(id=1, status=status, assignee_id=assignee), default)
    assert plan.decision is decision
    assert (plan.update.model_dump(exclude_defaults=True) if plan.update else None) == fields


def test_finding_a_reply_after_an_ambiguous_failure() -> None:
    marked = ZComment(id=1, author_id=501, body="Hello", created_at=T0, custom={"casesync_message_id": 7})
    plain = ZComment(id=2, author_id=501, body="Hello  there\n", created_at=T0 + timedelta(minutes=1))
    assert find_message_comment([plain, marked], 7) == marked
    assert find_message_comment([plain], 7) is None
    # impersonated updates carry no marker: author, body digest and time
    assert find_message_comment([plain], 8, author_id=501, body="Hello there", sent_after=T0) == plain
    assert find_message_comment([plain], 8, author_id=502, body="Hello there", sent_after=T0) is None
    assert (
        find_message_comment([plain], 8, author_id=501, body="Hello there", sent_after=T0 + timedelta(hours=1)) is None
    )
    assert body_digest("a  b\n") == body_digest("a b")


@pytest.mark.parametrize(
    ("subject", "continued"),
    [("Login fails", "Login fails (continued)"), ("Login fails (continued)", "Login fails (continued)")],
)
def test_continuation_subject(subject: str, continued: str) -> None:
    assert continuation_subject(subject) == continued
    assert len(continuation_subject("x" * 255)) == 255
