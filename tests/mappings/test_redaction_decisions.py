"""Redactions are found by comparing the console's copy with the comment as Zendesk has it now (§8)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mappings.redaction import StoredCopy, decide_redaction, redacted_segments
from mappings.suspended import ZSuspendedTicket, notice_detail, notice_for
from mappings.zendesk import ZAttachment, ZComment

M = "▇"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _comment(body: str, attachments: list[ZAttachment] | None = None) -> ZComment:
    return ZComment(id=7, author_id=1, body=body, created_at=WHEN, attachments=attachments or [])


def _copy(body: str, html: str | None = None, attachments: dict[str, int | None] | None = None) -> StoredCopy:
    return StoredCopy(message_id=3, comment_id=7, body=body, html=html, attachments=attachments or {})


@pytest.mark.parametrize(
    ("stored", "now", "body", "secrets"),
    [
        ("card 4111 1111", f"card {M * 9}", f"card {M * 9}", ["4111 1111"]),
        ("pw: hunter2, ok", f"pw: {M * 7}, ok", f"pw: {M * 7}, ok", ["hunter2"]),
        ("a secret and another secret", f"a {M * 6} and another {M * 6}", f"a {M * 6} and another {M * 6}",
         ["secret", "secret"]),
        # a copy that already shows an earlier redaction, redacted again
        (f"{M * 3} then xyz", f"{M * 3} then {M * 3}", f"{M * 3} then {M * 3}", ["xyz"]),
    ],
)
def test_redacted_text(stored: str, now: str, body: str, secrets: list[str]) -> None:
    decision = decide_redaction(_copy(stored), _comment(now), now, None)
    assert decision is not None
    assert (decision.body, decision.secrets) == (body, secrets)


@pytest.mark.parametrize(
    ("stored", "now"),
    [
        ("unchanged", "unchanged"),
        (f"already {M * 4}", f"already {M * 4}"),
        # an older read of the comment (fewer marks than the copy) never brings the original back
        (f"card {M * 4}", "card 4111"),
        # a different translation of references is no redaction
        ("see case #4", "see ticket #9"),
    ],
)
def test_no_redaction(stored: str, now: str) -> None:
    assert decide_redaction(_copy(stored), _comment(now), now, None) is None


def test_a_redacted_attachment_is_removed_and_the_others_kept() -> None:
    now = _comment("files", [ZAttachment(id=11, file_name="redacted.txt"), ZAttachment(id=12, file_name="b.log")])
    decision = decide_redaction(_copy("files", "<p>files</p>", {"c-a": 11, "c-b": 12}), now, "files", "<p>files</p>")
    assert decision is not None
    assert (decision.removed_attachment_ids, decision.body, decision.secrets) == (["c-a"], "files", [])


def test_html_only_redaction_is_found_too() -> None:
    decision = decide_redaction(_copy("x", "<p>x <b>s3</b></p>"), _comment("x"), "x", f"<p>x <b>{M * 2}</b></p>")
    assert decision is not None and decision.html == f"<p>x <b>{M * 2}</b></p>" and decision.secrets == ["s3"]


def test_segments_are_the_parts_shown_as_marks() -> None:
    assert redacted_segments("my pin 1234 ok", f"my pin {M * 4} ok") == ["1234"]
    assert redacted_segments("same", "same") == []


_ITEM = ZSuspendedTicket(id=5, ticket_id=9, author_email="carol@acme.test", cause="End user only allowed")


@pytest.mark.parametrize(
    ("case", "member", "already", "surfaced"),
    [
        (("acme", 3), "carol", False, True),
        (("acme", 3), "carol", True, False),  # once
        (("acme", 3), None, False, False),  # not a user of the ticket's account: never shown there
        (None, "carol", False, False),  # a ticket casesync does not manage
    ],
)
def test_which_suspended_emails_are_surfaced(
    case: tuple[str, int] | None, member: str | None, already: bool, surfaced: bool
) -> None:
    notice = notice_for(_ITEM, case=case, member_user_id=member, already_noticed=already)
    assert (notice is not None) is surfaced
    if notice is not None:
        assert (notice.account_id, notice.case_id, notice.user_id) == ("acme", 3, "carol")
        assert "carol" in notice_detail(notice) and "5" in notice_detail(notice)
