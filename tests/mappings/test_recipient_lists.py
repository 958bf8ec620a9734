"""Email syntax, the account's recipient list and each ticket's CC plan (docs/design.md §3 Recipients, §4.6)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.errors import InvalidEmail, TooManyRecipients
from mappings.recipients import (
    MAX_CCS,
    CcDecision,
    account_recipients,
    ensure_within_limit,
    is_valid_email,
    normalize_email,
    normalize_recipients,
    plan_ccs,
    same_email,
)


@pytest.mark.parametrize(
    "email",
    [
        "admin@acme.test",  # reserved names are valid: the sandbox and tests use them
        "ops@example.com",
        "first.last+tag@sub.domain.example",
        "x@a.io",
        "o'brien@acme.invalid",
        "UPPER@ACME.TEST",
        "  padded@acme.test  ",
        "user@xn--bcher-kva.example",
        "a_b-c@my-host.localhost",
    ],
)
def test_valid_addresses(email: str) -> None:
    assert is_valid_email(email)


@pytest.mark.parametrize(
    "email",
    [
        "",
        "plain",
        "@acme.test",
        "user@",
        "user@localhost",  # one label: not a mail domain
        "user@@acme.test",
        "a b@acme.test",
        ".lead@acme.test",
        "trail.@acme.test",
        "two..dots@acme.test",
        "user@-acme.test",
        "user@acme-.test",
        "user@acme..test",
        "user@acme.123",
        '"quoted"@acme.test',
        "user@[127.0.0.1]",
        "x" * 65 + "@acme.test",
        "user@" + "a" * 250 + ".test",
        "ünï@acme.test",
    ],
)
def test_invalid_addresses(email: str) -> None:
    assert not is_valid_email(email)
    with pytest.raises(InvalidEmail):
        normalize_email(email)


def test_normal_form_is_trimmed_and_lower_case() -> None:
    assert normalize_email("  Ann.Admin@Acme.TEST ") == "ann.admin@acme.test"
    assert same_email("Ann@Acme.test", " ann@acme.TEST")


def test_the_account_list_is_admins_first_then_registered_deduplicated() -> None:
    assert account_recipients(
        ["Boss@acme.test", "it@acme.test"], ["ops@acme.test", "BOSS@acme.test", "ops@ACME.test"]
    ) == ["boss@acme.test", "it@acme.test", "ops@acme.test"]


def test_over_48_recipients_are_refused() -> None:
    emails = [f"u{i}@acme.test" for i in range(MAX_CCS + 1)]
    assert ensure_within_limit(emails[:MAX_CCS]) == emails[:MAX_CCS]
    with pytest.raises(TooManyRecipients):
        ensure_within_limit(emails)


_local = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9+_-]{0,8}", fullmatch=True)
_domain = st.sampled_from(["acme.test", "Example.COM", "sub.acme.test", "x.example"])
_email = st.builds(
    lambda local, domain, pad: f"{pad}{local}@{domain}{pad}", _local, _domain, st.sampled_from(["", " "])
)


@settings(max_examples=100, deadline=None)
@given(st.lists(_email, max_size=20))
def test_normalisation_dedupes_case_insensitively_and_keeps_first_positions(emails: list[str]) -> None:
    result = normalize_recipients(emails)
    assert len(result) == len(set(result))
    assert all(email == email.strip().lower() for email in result)
    assert {e.strip().lower() for e in emails} == set(result)
    firsts = list(dict.fromkeys(e.strip().lower() for e in emails))
    assert result == firsts
    assert normalize_recipients(result) == result  # idempotent


# ---------------------------------------------------------------------------------------- CC plan


def _puts(plan: object) -> list[str]:
    return [c.email for c in plan.changes if c.action == "put"]  # type: ignore[attr-defined]


def _deletes(plan: object) -> list[str]:
    return [c.email for c in plan.changes if c.action == "delete"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("account", "requester", "current", "managed", "puts", "deletes", "resulting"),
    [
        # a new ticket: every console address but the requester's
        (["a@x.test", "b@x.test"], "a@x.test", [], [], ["b@x.test"], [], ["b@x.test"]),
        # already right: nothing to send
        (["a@x.test", "b@x.test"], "a@x.test", ["b@x.test"], ["b@x.test"], [], [], ["b@x.test"]),
        # an address added on the console
        (["b@x.test", "c@x.test"], None, ["b@x.test"], ["b@x.test"], ["c@x.test"], [], ["b@x.test", "c@x.test"]),
        # an address removed on the console is deleted
        (["b@x.test"], None, ["b@x.test", "c@x.test"], ["b@x.test", "c@x.test"], [], ["c@x.test"], ["b@x.test"]),
        # a hand-added CC is kept, after the console's addresses
        (
            ["b@x.test"],
            None,
            ["staff-added@y.test", "b@x.test"],
            ["b@x.test"],
            [],
            [],
            ["b@x.test", "staff-added@y.test"],
        ),
        # staff removed a console address by hand: it is put back
        (
            ["b@x.test", "c@x.test"],
            None,
            ["b@x.test"],
            ["b@x.test", "c@x.test"],
            ["c@x.test"],
            [],
            ["b@x.test", "c@x.test"],
        ),
        # comparison is case-insensitive
        (["B@X.test"], None, ["b@x.TEST"], ["b@x.test"], [], [], ["b@x.test"]),
        # the requester is never CC'd by casesync, but a CC staff gave them is theirs to keep
        (["r@x.test"], "R@x.test", ["r@x.test"], [], [], [], ["r@x.test"]),
    ],
)
def test_cc_plan(
    account: list[str],
    requester: str | None,
    current: list[str],
    managed: list[str],
    puts: list[str],
    deletes: list[str],
    resulting: list[str],
) -> None:
    plan = plan_ccs(account, requester, current, managed)
    assert _puts(plan) == puts
    assert _deletes(plan) == deletes
    assert plan.resulting == resulting
    assert plan.decision is (CcDecision.UPDATE if puts or deletes else CcDecision.UNCHANGED)


def test_a_ticket_that_would_exceed_48_ccs_is_a_conflict_and_changes_nothing() -> None:
    console = [f"c{i}@x.test" for i in range(40)]
    hand = [f"h{i}@y.test" for i in range(9)]
    plan = plan_ccs(console, None, hand, [])
    assert plan.decision is CcDecision.CONFLICT
    assert plan.changes == []
    assert "48" in plan.detail
    assert plan_ccs(console, None, hand[:8], []).decision is CcDecision.UPDATE


@settings(max_examples=100, deadline=None)
@given(
    st.lists(_email, max_size=12),
    st.one_of(st.none(), _email),
    st.lists(_email, max_size=12),
    st.lists(_email, max_size=12),
)
def test_cc_plan_properties(account: list[str], requester: str | None, current: list[str], managed: list[str]) -> None:
    plan = plan_ccs(account, requester, current, managed)
    desired = [e for e in normalize_recipients(account) if requester is None or e != requester.strip().lower()]
    if plan.decision is CcDecision.CONFLICT:
        return
    # the console's addresses come first, all present; nothing the console did not put there is deleted
    assert plan.resulting[: len(desired)] == desired
    cur = {e.strip().lower() for e in current}
    prev = {e.strip().lower() for e in managed}
    assert all(e in prev and e in cur for e in _deletes(plan))
    assert set(plan.hand_added) == cur - set(desired) - set(_deletes(plan))
    # applying the changes to the ticket gives the resulting set, and planning again changes nothing
    after = (cur | set(_puts(plan))) - set(_deletes(plan))
    assert after == set(plan.resulting)
    again = plan_ccs(account, requester, plan.resulting, plan.managed)
    assert again.decision is CcDecision.UNCHANGED
