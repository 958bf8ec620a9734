"""The console's rules (docs/design.md §2) as a state machine: tables for each action, and properties over any
sequence of user, staff and system actions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.errors import TransitionRefused
from mappings.lifecycle import (
    Action,
    SystemCloseReason,
    Transition,
    apply_staff_status,
    apply_system_close,
    apply_user_close,
    apply_user_reply,
)
from mappings.models import CaseStatus

NEW, OPEN, PENDING, SOLVED, CLOSED = (
    CaseStatus.NEW,
    CaseStatus.OPEN,
    CaseStatus.PENDING,
    CaseStatus.SOLVED,
    CaseStatus.CLOSED,
)
NOT_CLOSED = [NEW, OPEN, PENDING, SOLVED]


@pytest.mark.parametrize(
    ("before", "after"),
    [(NEW, NEW), (OPEN, OPEN), (PENDING, OPEN), (SOLVED, OPEN)],
)
def test_a_user_reply(before: CaseStatus, after: CaseStatus) -> None:
    transition = apply_user_reply(before)
    assert (transition.actor, transition.before, transition.after) == ("user", before, after)
    assert transition.changed is (before != after)


@pytest.mark.parametrize("before", NOT_CLOSED)
def test_the_user_may_close_at_any_time(before: CaseStatus) -> None:
    transition = apply_user_close(before)
    assert transition.after is CLOSED
    assert transition.closed_by == "user"


@pytest.mark.parametrize("before", NOT_CLOSED)
@pytest.mark.parametrize("target", [OPEN, PENDING, SOLVED, CLOSED])
def test_staff_set_any_status_but_new_from_any_status_but_closed(before: CaseStatus, target: CaseStatus) -> None:
    transition = apply_staff_status(before, target)
    assert (transition.actor, transition.after) == ("staff", target)


@pytest.mark.parametrize("before", [OPEN, PENDING, SOLVED])
def test_new_is_never_re_entered(before: CaseStatus) -> None:
    with pytest.raises(TransitionRefused) as raised:
        apply_staff_status(before, NEW)
    assert raised.value.closed is False


def test_re_reading_new_while_still_new_is_no_change() -> None:
    assert apply_staff_status(NEW, NEW).changed is False


@pytest.mark.parametrize("reason", list(SystemCloseReason))
@pytest.mark.parametrize("before", NOT_CLOSED)
def test_the_system_closes_with_a_reason(before: CaseStatus, reason: SystemCloseReason) -> None:
    transition = apply_system_close(before, reason)
    assert (transition.actor, transition.after, transition.reason) == ("system", CLOSED, reason.value)
    assert transition.closed_by == "system"


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_system_close_without_a_reason_is_refused(reason: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        apply_system_close(OPEN, reason)


@pytest.mark.parametrize(
    "act",
    [
        lambda: apply_user_reply(CLOSED),
        lambda: apply_user_close(CLOSED),
        lambda: apply_staff_status(CLOSED, OPEN),
        lambda: apply_staff_status(CLOSED, CLOSED),
        lambda: apply_system_close(CLOSED, SystemCloseReason.MERGED),
    ],
    ids=["user reply", "user close", "staff open", "staff close", "system close"],
)
def test_closed_is_final_for_everyone(act: object) -> None:
    assert callable(act)
    with pytest.raises(TransitionRefused) as raised:
        act()
    assert raised.value.closed is True
    assert raised.value.status == "Closed"


def test_only_closed_refuses_a_reply() -> None:
    def refused(status: CaseStatus) -> bool:
        try:
            apply_user_reply(status)
        except TransitionRefused:
            return True
        return False

    assert [s for s in CaseStatus if refused(s)] == [CLOSED]


# ---------------------------------------------------------------------------------------- properties

_user_reply = st.just(("user", "reply", None))
_user_close = st.just(("user", "close", None))
_staff = st.sampled_from(list(CaseStatus)).map(lambda target: ("staff", "status", target))
_system = st.sampled_from(list(SystemCloseReason)).map(lambda reason: ("system", "close", reason))
_actions = st.lists(st.one_of(_user_reply, _user_close, _staff, _system), max_size=30)


def _apply(status: CaseStatus, action: tuple[str, str, object]) -> Transition:
    actor, verb, arg = action
    if actor == "user":
        return apply_user_reply(status) if verb == "reply" else apply_user_close(status)
    if actor == "staff":
        assert isinstance(arg, CaseStatus)
        return apply_staff_status(status, arg)
    assert isinstance(arg, SystemCloseReason)
    return apply_system_close(status, arg)


@settings(max_examples=300, deadline=None)
@given(_actions)
def test_any_sequence_of_actions_keeps_the_seeds_rules(actions: list[tuple[str, str, object]]) -> None:
    status = NEW
    for action in actions:
        actor, verb, arg = action
        try:
            transition = _apply(status, action)
        except TransitionRefused as refused:
            # Refusals: anything on Closed (flagged closed), or staff moving back to New.
            if status is CLOSED:
                assert refused.closed
            else:
                assert not refused.closed
                assert (actor, arg) == ("staff", NEW)
            continue
        assert status is not CLOSED, "Closed is final"
        assert transition.before is status
        after = transition.after
        if after is NEW:
            assert status is NEW, "New is never re-entered"
        if after in (PENDING, SOLVED) and after is not status:
            assert actor == "staff", "only staff set Pending and Solved"
        if actor == "user" and verb == "reply":
            assert after is (OPEN if status in (PENDING, SOLVED) else status)
        if after is CLOSED and status is not CLOSED:
            assert transition.closed_by == actor
            if actor == "system":
                assert transition.reason
        if actor == "user" and verb == "close":
            assert after is CLOSED
        assert transition.action in set(Action)
        status = after
