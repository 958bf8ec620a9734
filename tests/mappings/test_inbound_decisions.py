"""Applying a ticket's state to the console: per-comment decisions, status, stale events, follow-ups, merges,
deletions, moves across accounts and unmanaged tickets (docs/design.md §3, §4; issue 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mappings.errors import MissingAuthor, UnknownZendeskStatus
from mappings.inbound import (
    CaseView,
    ChangeStatus,
    CommentDecision,
    CommentLedger,
    ConflictReason,
    CreateFollowUpCase,
    ImportMessage,
    InboundContext,
    RecordConflict,
    SetCc,
    StaffNames,
    StaffNameStyle,
    StatusDecision,
    TicketOutcome,
    WithdrawMessage,
    assumed_close_actor,
    decide_comment,
    decide_ticket,
    find_merge_target,
    staff_display_name,
    status_actor,
    user_display_name,
)
from mappings.models import CaseStatus, ChangeKind
from mappings.zendesk import ZAttachment, ZComment, ZTicket, ZUser

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
AGENT = ZUser(id=900, name="Jane Agent Doe", role="agent", email="jane@support.test")
ADMIN = ZUser(id=901, name="Max Admin", role="admin", email="max@support.test")
REQUESTER = ZUser(id=501, name="Ann Admin", email="ann@acme.test")
CC_USER = ZUser(id=502, name="", email="it@acme.test")
USERS = {u.id: u for u in (AGENT, ADMIN, REQUESTER, CC_USER)}


def _case(**over: Any) -> CaseView:
    values: dict[str, Any] = {
        "case_id": 1042,
        "account_id": "acme",
        "ticket_id": 35,
        "status": CaseStatus.OPEN,
        "organization_id": 77,
        "requester_zendesk_id": 501,
        "last_generated_timestamp": 1000,
    }
    values.update(over)
    return CaseView.model_validate(values)


def _ticket(**over: Any) -> ZTicket:
    values: dict[str, Any] = {
        "id": 35,
        "status": "open",
        "subject": "Login fails",
        "requester_id": 501,
        "organization_id": 77,
        "external_id": "console-case:1042",
        "tags": ["console_case", "console_case_1042"],
        "generated_timestamp": 1001,
        "updated_at": T0,
    }
    values.update(over)
    return ZTicket.model_validate(values)


def _comment(cid: int, author: ZUser, body: str = "text", public: bool = True, **over: Any) -> ZComment:
    return ZComment(
        id=cid, author_id=author.id, body=body, public=public, created_at=T0 + timedelta(seconds=cid), **over
    )


def _context(**over: Any) -> InboundContext:
    values: dict[str, Any] = {
        "users": USERS,
        "organization_account_id": "acme",
        "requester_account_ids": frozenset({"acme"}),
    }
    values.update(over)
    return InboundContext.model_validate(values)


def _kinds(actions: list[Any]) -> list[str]:
    return [a.kind for a in actions]


# ---------------------------------------------------------------------------------------- comments

LEDGER = CommentLedger(imported=frozenset({10, 11}), withdrawn=frozenset({11}), written=frozenset({20}))


@pytest.mark.parametrize(
    ("comment", "decision"),
    [
        (_comment(1, AGENT), CommentDecision.IMPORT_STAFF),
        (_comment(1, ADMIN), CommentDecision.IMPORT_STAFF),
        (_comment(1, REQUESTER), CommentDecision.IMPORT_USER),
        (_comment(1, CC_USER), CommentDecision.IMPORT_USER),  # a CC answering by email
        (_comment(1, AGENT, public=False), CommentDecision.SKIP_INTERNAL),
        (_comment(20, REQUESTER), CommentDecision.SKIP_ECHO),  # casesync wrote it (known id)
        (_comment(21, REQUESTER, custom={"casesync_message_id": 7}), CommentDecision.SKIP_ECHO),  # marker
        (_comment(20, REQUESTER, public=False), CommentDecision.SKIP_ECHO),
        (_comment(10, AGENT), CommentDecision.SKIP_DUPLICATE),
        (_comment(10, AGENT, public=False), CommentDecision.WITHDRAW),  # made private after import
        (_comment(11, AGENT, public=False), CommentDecision.SKIP_DUPLICATE),  # already withdrawn
    ],
)
def test_each_comment(comment: ZComment, decision: CommentDecision) -> None:
    assert decide_comment(comment, LEDGER, USERS.get(comment.author_id)) is decision


def test_a_comment_to_import_needs_its_author() -> None:
    with pytest.raises(MissingAuthor):
        decide_comment(_comment(1, AGENT), CommentLedger(), None)
    # an internal note does not: it is never imported anyway
    assert decide_comment(_comment(1, AGENT, public=False), CommentLedger(), None) is CommentDecision.SKIP_INTERNAL


@pytest.mark.parametrize(
    ("style", "agent", "shown"),
    [
        (StaffNameStyle.FIRST_NAME, AGENT, "Jane"),
        (StaffNameStyle.FULL_NAME, AGENT, "Jane Agent Doe"),
        (StaffNameStyle.TEAM, AGENT, "Acme Support"),
        (StaffNameStyle.FIRST_NAME, ZUser(id=1, name="  ", role="agent"), "Acme Support"),
        (StaffNameStyle.FIRST_NAME, None, "Acme Support"),
    ],
)
def test_staff_display_name(style: StaffNameStyle, agent: ZUser | None, shown: str) -> None:
    assert staff_display_name(agent, StaffNames(style=style, team_name="Acme Support")) == shown


def test_staff_display_name_defaults_to_the_first_name() -> None:
    assert staff_display_name(AGENT) == "Jane"


@pytest.mark.parametrize(("user", "shown"), [(REQUESTER, "Ann Admin"), (CC_USER, "it@acme.test")])
def test_user_display_name(user: ZUser, shown: str) -> None:
    assert user_display_name(user) == shown


def test_public_comments_become_messages_in_order_and_internal_notes_never() -> None:
    attachment = ZAttachment(id=3, file_name="log.txt")
    secret = ZAttachment(id=4, file_name="secret.txt")
    comments = [
        _comment(3, REQUESTER, "by email", attachments=[]),
        _comment(1, AGENT, "see ticket #36", attachments=[attachment]),
        _comment(2, AGENT, "internal: customer is VIP", public=False, attachments=[secret]),
    ]
    plan = decide_ticket(_case(), _ticket(), comments, CommentLedger(), _context(ticket_cases={36: 1043, 99: 5}))
    assert plan.outcome is TicketOutcome.APPLY
    messages = [a for a in plan.actions if isinstance(a, ImportMessage)]
    assert [(m.comment_id, m.author, m.author_name) for m in messages] == [
        (1, "staff", "Jane"),
        (3, "user", "Ann Admin"),
    ]
    assert messages[0].body == "see case #1043"  # staff text: references translated
    assert messages[0].attachments == [attachment]
    assert messages[0].feed_kind is ChangeKind.STAFF_MESSAGE
    assert messages[1].body == "by email" and messages[1].feed_kind is ChangeKind.USER_MESSAGE
    assert all("VIP" not in m.body and secret not in m.attachments for m in messages)
    assert [(v.comment_id, v.decision) for v in plan.comments] == [
        (1, CommentDecision.IMPORT_STAFF),
        (2, CommentDecision.SKIP_INTERNAL),
        (3, CommentDecision.IMPORT_USER),
    ]
    assert (plan.updated_at, plan.generated_timestamp) == (T0, 1001)


def test_user_text_written_in_zendesk_is_not_rewritten() -> None:
    plan = decide_ticket(
        _case(), _ticket(), [_comment(1, REQUESTER, "like #36")], None, _context(ticket_cases={36: 1043})
    )
    assert [a.body for a in plan.actions if isinstance(a, ImportMessage)] == ["like #36"]


def test_a_comment_made_private_is_withdrawn() -> None:
    ledger = CommentLedger(imported=frozenset({1}))
    plan = decide_ticket(_case(), _ticket(), [_comment(1, AGENT, public=False)], ledger, _context())
    assert plan.actions == [WithdrawMessage(comment_id=1)]


@pytest.mark.parametrize(
    ("ticket_over", "context_over", "outcome"),
    [
        ({"generated_timestamp": 999}, {}, TicketOutcome.IGNORE_STALE),  # older than the last snapshot applied
        ({"organization_id": 88}, {"organization_account_id": "globex"}, TicketOutcome.CONFLICT),  # moved away
    ],
)
def test_a_comment_made_private_is_withdrawn_whatever_else_the_snapshot_is(
    ticket_over: dict[str, Any], context_over: dict[str, Any], outcome: TicketOutcome
) -> None:
    ledger = CommentLedger(imported=frozenset({1, 2}), withdrawn=frozenset({2}))
    comments = [_comment(1, AGENT, public=False), _comment(2, AGENT, public=False), _comment(3, AGENT)]
    plan = decide_ticket(_case(), _ticket(**ticket_over), comments, ledger, _context(**context_over))
    assert plan.outcome is outcome
    assert [a for a in plan.actions if isinstance(a, WithdrawMessage)] == [WithdrawMessage(comment_id=1)]
    assert not [a for a in plan.actions if isinstance(a, ImportMessage | ChangeStatus)]


def test_a_comment_reported_private_is_never_imported_even_from_a_list_read_before() -> None:
    ledger = CommentLedger(imported=frozenset({1}), private=frozenset({1, 2}))
    comments = [_comment(1, AGENT), _comment(2, AGENT), _comment(3, AGENT)]
    plan = decide_ticket(_case(), _ticket(), comments, ledger, _context())
    assert [v.decision for v in plan.comments] == [
        CommentDecision.WITHDRAW,
        CommentDecision.SKIP_INTERNAL,
        CommentDecision.IMPORT_STAFF,
    ]
    assert _kinds(plan.actions) == ["withdraw_message", "import_message"]


def test_new_public_comments_on_a_case_closed_on_the_console_are_a_conflict() -> None:
    plan = decide_ticket(
        _case(status=CaseStatus.CLOSED, pending_outbound=True),
        _ticket(status="open"),
        [_comment(5, AGENT)],
        None,
        _context(),
    )
    assert [v.decision for v in plan.comments] == [CommentDecision.REFUSE_CLOSED]
    assert _kinds(plan.actions) == ["record_conflict"]
    assert plan.status is StatusDecision.DEFER_OUTBOUND


# ---------------------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("case_status", "ticket_status", "decision", "expected"),
    [
        (CaseStatus.NEW, "new", StatusDecision.UNCHANGED, None),
        (CaseStatus.NEW, "open", StatusDecision.APPLY, (CaseStatus.OPEN, "staff", None)),
        (CaseStatus.NEW, "pending", StatusDecision.APPLY, (CaseStatus.PENDING, "staff", None)),  # any order
        (CaseStatus.OPEN, "hold", StatusDecision.UNCHANGED, None),  # hold reads as Open
        (CaseStatus.PENDING, "hold", StatusDecision.APPLY, (CaseStatus.OPEN, "staff", None)),
        (CaseStatus.OPEN, "pending", StatusDecision.APPLY, (CaseStatus.PENDING, "staff", None)),
        (CaseStatus.OPEN, "solved", StatusDecision.APPLY, (CaseStatus.SOLVED, "staff", None)),
        (CaseStatus.SOLVED, "open", StatusDecision.APPLY, (CaseStatus.OPEN, "staff", None)),
        (CaseStatus.OPEN, "closed", StatusDecision.APPLY, (CaseStatus.CLOSED, "staff", None)),
        # without the event's via, a close of a Solved case is Zendesk's auto-close
        (CaseStatus.SOLVED, "closed", StatusDecision.APPLY, (CaseStatus.CLOSED, "system", "auto-closed by Zendesk")),
        (CaseStatus.PENDING, "deleted", StatusDecision.APPLY, (CaseStatus.CLOSED, "system", "deleted in Zendesk")),
        (CaseStatus.OPEN, "new", StatusDecision.CONFLICT, None),  # New is never re-entered
        (CaseStatus.CLOSED, "closed", StatusDecision.UNCHANGED, None),
        (CaseStatus.CLOSED, "open", StatusDecision.CONFLICT, None),  # Closed is final
    ],
)
def test_status(
    case_status: CaseStatus,
    ticket_status: str,
    decision: StatusDecision,
    expected: tuple[CaseStatus, str, str | None] | None,
) -> None:
    plan = decide_ticket(_case(status=case_status), _ticket(status=ticket_status), [], None, _context())
    assert plan.status is decision
    changes = [a for a in plan.actions if isinstance(a, ChangeStatus)]
    if expected is None:
        assert changes == []
    else:
        assert [(c.status, c.actor, c.reason) for c in changes] == [expected]
    if decision is StatusDecision.CONFLICT:
        assert [a.reason for a in plan.actions if isinstance(a, RecordConflict)] == [ConflictReason.STATUS]


@pytest.mark.parametrize(
    ("changed_by", "before", "actor", "feed"),
    [
        ("system", CaseStatus.OPEN, "system", ChangeKind.CLOSED_BY_SYSTEM),
        ("staff", CaseStatus.SOLVED, "staff", ChangeKind.STATUS),
    ],
)
def test_who_closed_follows_the_events_via_when_known(
    changed_by: str, before: CaseStatus, actor: str, feed: ChangeKind
) -> None:
    plan = decide_ticket(
        _case(status=before), _ticket(status="closed"), [], None, _context(status_changed_by=changed_by)
    )
    (change,) = [a for a in plan.actions if isinstance(a, ChangeStatus)]
    assert (change.actor, change.feed_kind) == (actor, feed)


@pytest.mark.parametrize(
    ("updater_id", "via_channel", "actor"),
    [
        (-1, "rule", "system"),  # Zendesk's automation closing a solved ticket
        (900, "rule", "system"),  # a trigger acting on an agent's update
        (-1, None, "system"),
        (900, "web", "staff"),  # an agent in Zendesk's agent interface
        (900, "api", "staff"),
        (900, None, "staff"),
        (None, "Web form", "staff"),
        (None, "Rule", "system"),
    ],
)
def test_who_made_an_update_from_the_event_exports_updater_and_channel(
    updater_id: int | None, via_channel: str | None, actor: str
) -> None:
    assert status_actor(updater_id, via_channel) == actor


@pytest.mark.parametrize(
    ("last_seen", "actor"),
    [
        (CaseStatus.SOLVED, "system"),  # Zendesk's auto-close takes solved tickets
        (CaseStatus.NEW, "staff"),
        (CaseStatus.OPEN, "staff"),
        (CaseStatus.PENDING, "staff"),
    ],
)
def test_without_an_event_a_close_from_solved_is_taken_for_the_auto_close(last_seen: CaseStatus, actor: str) -> None:
    assert assumed_close_actor(last_seen) == actor


def test_a_close_of_a_solved_case_by_someone_unknown_can_be_left_for_the_events() -> None:
    comment = _comment(12, AGENT, "Closing this now")
    plan = decide_ticket(
        _case(status=CaseStatus.SOLVED), _ticket(status="closed"), [comment], None, _context(await_close_actor=True)
    )
    # Everything else applies; the status waits, and so does the watermark, so the snapshot is applied again.
    assert plan.status is StatusDecision.AWAIT_ACTOR
    assert _kinds(plan.actions) == ["import_message"]
    assert (plan.updated_at, plan.generated_timestamp) == (None, None)


@pytest.mark.parametrize(
    ("before", "ticket", "changed_by"),
    [
        (CaseStatus.OPEN, {"status": "closed"}, None),  # not from Solved: staff's close
        (CaseStatus.SOLVED, {"status": "closed"}, "staff"),  # the events told
        (CaseStatus.SOLVED, {"status": "closed", "tags": ["closed_by_merge"]}, None),  # a merge
        (CaseStatus.SOLVED, {"status": "deleted"}, None),
    ],
)
def test_only_an_ambiguous_close_waits_for_its_actor(
    before: CaseStatus, ticket: dict[str, Any], changed_by: str | None
) -> None:
    plan = decide_ticket(
        _case(status=before),
        _ticket(**ticket),
        [],
        None,
        _context(await_close_actor=True, status_changed_by=changed_by),
    )
    assert plan.status is StatusDecision.APPLY
    assert [a.status for a in plan.actions if isinstance(a, ChangeStatus)] == [CaseStatus.CLOSED]
    assert plan.generated_timestamp == 1001


def test_an_unknown_status_is_an_error_for_the_whole_ticket() -> None:
    with pytest.raises(UnknownZendeskStatus):
        decide_ticket(_case(), _ticket(status="archived"), [_comment(1, AGENT)], None, _context())


@pytest.mark.parametrize(
    ("case_over", "ticket_over"),
    [
        ({"last_generated_timestamp": 1000}, {"generated_timestamp": 999}),
        (
            {"last_generated_timestamp": None, "last_updated_at": T0},
            {"generated_timestamp": None, "updated_at": T0 - timedelta(seconds=1)},
        ),
    ],
)
def test_an_event_older_than_what_was_applied_is_ignored(
    case_over: dict[str, Any], ticket_over: dict[str, Any]
) -> None:
    plan = decide_ticket(
        _case(**case_over), _ticket(status="pending", **ticket_over), [_comment(1, AGENT)], None, _context()
    )
    assert plan.outcome is TicketOutcome.IGNORE_STALE
    assert plan.status is StatusDecision.IGNORE_STALE
    assert plan.actions == []
    assert plan.generated_timestamp is None and plan.updated_at is None  # the watermark does not move back


def test_the_same_snapshot_again_changes_nothing() -> None:
    first = decide_ticket(_case(), _ticket(status="pending"), [_comment(1, AGENT)], None, _context())
    assert _kinds(first.actions) == ["import_message", "change_status"]
    again = decide_ticket(
        _case(status=CaseStatus.PENDING, last_generated_timestamp=1001),
        _ticket(status="pending"),
        [_comment(1, AGENT)],
        CommentLedger(imported=frozenset({1})),
        _context(),
    )
    assert again.actions == []


def test_while_console_changes_are_queued_zendesks_older_status_is_not_applied() -> None:
    # the user replied to a Pending case (now Open on the console); the ticket still says pending
    plan = decide_ticket(
        _case(status=CaseStatus.OPEN, pending_outbound=True), _ticket(status="pending"), [], None, _context()
    )
    assert plan.status is StatusDecision.DEFER_OUTBOUND
    assert plan.actions == []


def test_a_ticket_closed_in_zendesk_is_applied_even_with_changes_queued() -> None:
    plan = decide_ticket(
        _case(status=CaseStatus.OPEN, pending_outbound=True), _ticket(status="closed"), [], None, _context()
    )
    assert [(a.status, a.actor) for a in plan.actions if isinstance(a, ChangeStatus)] == [(CaseStatus.CLOSED, "staff")]


def test_messages_come_before_the_status_change_of_the_same_snapshot() -> None:
    plan = decide_ticket(_case(), _ticket(status="solved"), [_comment(1, AGENT, "Fixed.")], None, _context())
    assert _kinds(plan.actions) == ["import_message", "change_status"]


# ---------------------------------------------------------------------------------------- merge, delete


def _merged(**over: Any) -> ZTicket:
    return _ticket(status="closed", tags=["console_case", "console_case_1042", "closed_by_merge"], **over)


def test_a_merge_into_a_case_of_the_same_account_names_it() -> None:
    merge_note = _comment(9, AGENT, "Ticket #35 was closed and merged into request #40.", public=False)
    plan = decide_ticket(_case(), _merged(), [merge_note], None, _context(ticket_cases={40: 1050}))
    (change,) = [a for a in plan.actions if isinstance(a, ChangeStatus)]
    assert (change.status, change.actor, change.merged_into, change.feed_kind) == (
        CaseStatus.CLOSED,
        "system",
        1050,
        ChangeKind.MERGED,
    )
    assert change.reason == "merged in Zendesk"


def test_a_merge_into_an_unknown_or_foreign_ticket_does_not_name_it() -> None:
    plan = decide_ticket(_case(), _merged(), [], None, _context(merge_target_ticket_id=41, ticket_cases={40: 1050}))
    (change,) = [a for a in plan.actions if isinstance(a, ChangeStatus)]
    assert (change.merged_into, change.feed_kind) == (None, ChangeKind.MERGED)


@pytest.mark.parametrize(
    ("bodies", "hint", "target"),
    [
        (["Ticket #35 was closed and merged into request #40."], None, 40),
        (["merged into ticket #41"], None, 41),
        (['Request #40 "x" was closed and merged into this request.'], None, None),
        (["no merge here"], None, None),
        (["merged into request #40"], 44, 44),
    ],
)
def test_finding_the_merge_target(bodies: list[str], hint: int | None, target: int | None) -> None:
    comments = [_comment(i + 1, AGENT, body) for i, body in enumerate(bodies)]
    assert find_merge_target(_merged(), comments, hint) == target


def test_a_deleted_ticket_closes_its_case_with_a_clear_reason() -> None:
    plan = decide_ticket(_case(), _ticket(status="deleted"), [], None, _context())
    assert plan.actions == [
        ChangeStatus(
            status=CaseStatus.CLOSED, actor="system", reason="deleted in Zendesk", feed_kind=ChangeKind.CLOSED_BY_SYSTEM
        )
    ]


# ---------------------------------------------------------------------------------------- accounts


@pytest.mark.parametrize(
    ("ticket_over", "context_over", "reason"),
    [
        ({"organization_id": 88}, {"organization_account_id": "globex"}, ConflictReason.MOVED_ORGANIZATION),
        ({"organization_id": 88}, {"organization_account_id": None}, ConflictReason.MOVED_ORGANIZATION),
        ({"requester_id": 777}, {"requester_account_ids": frozenset({"globex"})}, ConflictReason.MOVED_REQUESTER),
        ({"requester_id": 777}, {"requester_account_ids": frozenset()}, ConflictReason.MOVED_REQUESTER),
    ],
)
def test_a_ticket_moved_to_another_account_moves_nothing(
    ticket_over: dict[str, Any], context_over: dict[str, Any], reason: ConflictReason
) -> None:
    plan = decide_ticket(
        _case(), _ticket(status="solved", **ticket_over), [_comment(1, AGENT)], None, _context(**context_over)
    )
    assert plan.outcome is TicketOutcome.CONFLICT
    assert [(a.kind, a.reason) for a in plan.actions if isinstance(a, RecordConflict)] == [("record_conflict", reason)]
    assert len(plan.actions) == 1  # no message, no status
    assert "globex" not in plan.actions[0].detail  # type: ignore[union-attr]


def test_a_new_requester_of_the_same_account_is_fine() -> None:
    plan = decide_ticket(
        _case(), _ticket(requester_id=503), [], None, _context(requester_account_ids=frozenset({"acme", "globex"}))
    )
    assert plan.outcome is TicketOutcome.APPLY


# ---------------------------------------------------------------------------------------- unlinked tickets

SOURCE = _case(case_id=1042, ticket_id=35, status=CaseStatus.CLOSED)


def _followup(**over: Any) -> ZTicket:
    values: dict[str, Any] = {"id": 60, "status": "new", "followup_source_id": 35, "external_id": None}
    values.update(over)
    return _ticket(**values)


@pytest.mark.parametrize("external_id", [None, "console-case:1042"])  # follow-ups may inherit the parent's
def test_a_follow_up_made_in_zendesk_becomes_a_new_case_referring_to_the_source(external_id: str | None) -> None:
    plan = decide_ticket(
        None,
        _followup(external_id=external_id),
        [_comment(1, REQUESTER, "It is back")],
        None,
        _context(followup_source_case=SOURCE),
    )
    assert plan.outcome is TicketOutcome.NEW_FOLLOW_UP
    assert plan.case_id is None
    create, message = plan.actions
    assert create == CreateFollowUpCase(
        account_id="acme",
        ticket_id=60,
        refers_to=1042,
        subject="Login fails",
        requester_zendesk_id=501,
        organization_id=77,
    )
    assert isinstance(message, ImportMessage) and (message.author, message.body) == ("user", "It is back")


def test_a_follow_up_already_opened_by_staff_gets_its_status() -> None:
    plan = decide_ticket(None, _followup(status="open"), [], None, _context(followup_source_case=SOURCE))
    assert _kinds(plan.actions) == ["create_follow_up_case", "change_status"]


def test_a_follow_up_of_another_accounts_requester_creates_nothing() -> None:
    plan = decide_ticket(
        None,
        _followup(requester_id=777),
        [_comment(1, REQUESTER)],
        None,
        _context(followup_source_case=SOURCE, requester_account_ids=frozenset({"globex"})),
    )
    assert plan.outcome is TicketOutcome.CONFLICT
    assert _kinds(plan.actions) == ["record_conflict"]


def test_casesyncs_own_follow_up_not_yet_linked_waits_for_the_outbox() -> None:
    plan = decide_ticket(
        None,
        _followup(external_id="console-case:1077"),
        [_comment(1, REQUESTER)],
        None,
        _context(followup_source_case=SOURCE),
    )
    assert plan.outcome is TicketOutcome.AWAIT_LINK
    assert plan.actions == []


@pytest.mark.parametrize(
    ("ticket", "outcome"),
    [
        (_ticket(id=70, external_id=None, tags=[]), TicketOutcome.IGNORE_UNMANAGED),
        (_ticket(id=70, external_id="crm-123"), TicketOutcome.IGNORE_UNMANAGED),  # tags alone never decide
        (_ticket(id=70, external_id=None, followup_source_id=12), TicketOutcome.IGNORE_UNMANAGED),
        (_ticket(id=70, external_id="console-case:1099"), TicketOutcome.AWAIT_LINK),
    ],
)
def test_tickets_casesync_does_not_manage_are_ignored(ticket: ZTicket, outcome: TicketOutcome) -> None:
    plan = decide_ticket(None, ticket, [_comment(1, AGENT)], None, _context())
    assert plan.outcome is outcome
    assert plan.actions == []


# ---------------------------------------------------------------------------------------- CCs


def test_ccs_staff_added_are_shown_on_the_case() -> None:
    plan = decide_ticket(_case(cc=["ann@acme.test"]), _ticket(email_cc_ids=[502, 501]), [], None, _context())
    assert plan.actions == [SetCc(emails=["ann@acme.test", "it@acme.test"])]


def test_ccs_are_left_alone_when_a_cc_user_was_not_supplied() -> None:
    plan = decide_ticket(_case(cc=["ann@acme.test"]), _ticket(email_cc_ids=[502, 4444]), [], None, _context())
    assert plan.actions == []
