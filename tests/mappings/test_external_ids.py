"""``console-case:<n>`` and ``console-account:<id>``: written one way, parsed back exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.errors import InvalidExternalId
from mappings.external_ids import (
    account_external_id,
    case_external_id,
    parse_account_external_id,
    parse_case_external_id,
    try_parse_case_external_id,
)


def test_the_formats() -> None:
    assert case_external_id(1042) == "console-case:1042"
    assert account_external_id("acme-01") == "console-account:acme-01"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "console-case:",
        "console-case:0",
        "console-case:007",
        "console-case:-1",
        "console-case:+1",
        "console-case: 1",
        "console-case:1 ",
        "console-case:1.0",
        "console-case:١٢",  # non-ASCII digits
        "Console-Case:1",
        "console-account:1",
        "ahg35h3jh",
    ],
)
def test_case_ids_that_casesync_never_writes_are_refused(value: str) -> None:
    with pytest.raises(InvalidExternalId):
        parse_case_external_id(value)
    assert try_parse_case_external_id(value) is None


@pytest.mark.parametrize("value", ["", "console-account:", "console-case:1", "org-1"])
def test_account_ids_that_casesync_never_writes_are_refused(value: str) -> None:
    with pytest.raises(InvalidExternalId):
        parse_account_external_id(value)


@pytest.mark.parametrize("bad", [0, -3, True])
def test_case_numbers_are_positive_integers(bad: int) -> None:
    with pytest.raises(ValueError):
        case_external_id(bad)


def test_no_external_id_parses_to_none() -> None:
    assert try_parse_case_external_id(None) is None


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=10**12))
def test_case_ids_round_trip(number: int) -> None:
    assert parse_case_external_id(case_external_id(number)) == number


@settings(max_examples=100, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_account_ids_round_trip(account_id: str) -> None:
    assert parse_account_external_id(account_external_id(account_id)) == account_id


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_parsing_arbitrary_text_never_crashes_and_is_canonical(value: str) -> None:
    number = try_parse_case_external_id(value)
    if number is not None:
        assert case_external_id(number) == value
