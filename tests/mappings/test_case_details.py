"""Priority, the operator's field map and mapped values, detail changes, and the CCs a ticket lacks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.fields import (
    CaseDetails,
    FieldRefused,
    check_field_values,
    check_priority,
    decide_details,
    fields_from_ticket,
    parse_field_map,
    status_label,
    ticket_custom_fields,
)
from mappings.recipients import missing_console_ccs
from mappings.zendesk import ZCustomField, ZCustomStatus, ZTicket


@pytest.mark.parametrize("value", ["low", "normal", "high", "urgent", None])
def test_the_four_priorities_and_none_are_accepted(value: str | None) -> None:
    assert check_priority(value) == value


@pytest.mark.parametrize("value", ["Low", "URGENT", "critical", "", " high", 1, True, ["high"]])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(FieldRefused, match="priority must be one of"):
        check_priority(value)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, {}),
        ({"plan": 360001}, {"plan": 360001}),
        ({"plan": 1, "region_2": 2}, {"plan": 1, "region_2": 2}),
    ],
)
def test_field_maps_that_parse(raw: object, expected: dict[str, int]) -> None:
    assert parse_field_map(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1, 2], "must be a JSON object"),
        ("plan=1", "must be a JSON object"),
        ({"Plan": 1}, "lower-case identifier"),
        ({"2plan": 1}, "lower-case identifier"),
        ({"p" * 65: 1}, "lower-case identifier"),
        ({"plan": "360001"}, "positive integer"),
        ({"plan": 0}, "positive integer"),
        ({"plan": True}, "positive integer"),
        ({"plan": 1.5}, "positive integer"),
        ({"plan": 7, "tier": 7}, "mapped twice"),
        ({"case": 99}, "Console case field"),
    ],
)
def test_field_maps_that_are_refused(raw: object, message: str) -> None:
    with pytest.raises(FieldRefused, match=message):
        parse_field_map(raw, reserved_ids=[99])


FIELD_MAP = {"plan": 11, "seats": 12, "beta": 13}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, {}),
        ({"plan": "gold"}, {"plan": "gold"}),
        ({"seats": 5, "beta": True, "plan": None}, {"seats": 5, "beta": True, "plan": None}),
    ],
)
def test_mapped_values_that_are_accepted(values: dict[str, Any], expected: dict[str, Any]) -> None:
    assert check_field_values(values, FIELD_MAP) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"tier": "x"}, "not mapped; mapped fields: beta, plan, seats"),
        ({"plan": ["gold"]}, "a value is text"),
        ({"plan": {"a": 1}}, "a value is text"),
        ({"plan": "x" * 1025}, "at most 1024"),
        ("plan=gold", "must be a mapping"),
    ],
)
def test_mapped_values_that_are_refused(values: object, message: str) -> None:
    with pytest.raises(FieldRefused, match=message):
        check_field_values(values, FIELD_MAP)


def test_an_empty_map_says_so() -> None:
    with pytest.raises(FieldRefused, match="CASESYNC_FIELD_MAP is empty"):
        check_field_values({"plan": "gold"}, {})


def test_values_go_to_the_tickets_custom_fields_and_come_back() -> None:
    assert ticket_custom_fields({"seats": 5, "plan": "gold"}, FIELD_MAP) == [
        {"id": 11, "value": "gold"}, {"id": 12, "value": 5}]
    found = [ZCustomField(id=11, value="gold"), ZCustomField(id=12, value=None), ZCustomField(id=99, value="x"),
             ZCustomField(id=13, value="")]
    assert fields_from_ticket(found, FIELD_MAP) == {"plan": "gold"}  # empty and unmapped ones left out


STATUSES = {
    1: ZCustomStatus(id=1, status_category="open", agent_label="Waiting on engineering",
                     end_user_label="Being worked on"),
    2: ZCustomStatus(id=2, status_category="pending", agent_label="Vendor", end_user_label=""),
}


@pytest.mark.parametrize(("sid", "label"), [(1, "Being worked on"), (2, "Vendor"), (3, None), (None, None)])
def test_the_end_user_label_and_its_fallbacks(sid: int | None, label: str | None) -> None:
    assert status_label(sid, STATUSES) == label


def _ticket(**fields: Any) -> ZTicket:
    return ZTicket(id=7, status="open", **fields)


@pytest.mark.parametrize(
    ("current", "ticket", "label", "applies", "store", "feed"),
    [
        (CaseDetails(), _ticket(), None, True, {}, []),
        (CaseDetails(priority="high"), _ticket(priority="high"), None, True, {}, []),
        (CaseDetails(priority="high"), _ticket(priority="urgent"), None, True, {"priority": "urgent"},
         [("priority", "priority: urgent")]),
        (CaseDetails(priority="low"), _ticket(), None, True, {"priority": None}, [("priority", "priority: none")]),
        (CaseDetails(), _ticket(priority="bogus"), None, True, {}, []),
        (CaseDetails(), _ticket(), "Being worked on", True, {"status_label": "Being worked on"}, []),
        (CaseDetails(status_label="Open"), _ticket(), "Pending", False, {}, []),  # statuses disagree
        (CaseDetails(fields={"plan": "gold"}), _ticket(custom_fields=[ZCustomField(id=11, value="gold")]), None,
         True, {}, []),
        (CaseDetails(fields={"plan": "gold"}), _ticket(custom_fields=[ZCustomField(id=11, value="platinum")]),
         None, True, {"fields": {"plan": "platinum"}}, [("field", "plan: 'platinum'")]),
        (CaseDetails(fields={"plan": "gold"}), _ticket(), None, True, {"fields": {}}, [("field", "plan: None")]),
    ],
)
def test_what_a_ticket_changes_of_a_case(
    current: CaseDetails, ticket: ZTicket, label: str | None, applies: bool, store: dict[str, Any],
    feed: list[tuple[str, str]],
) -> None:
    changes = decide_details(current, ticket, FIELD_MAP, label, label_applies=applies)
    assert (changes.store, changes.feed) == (store, feed)


@pytest.mark.parametrize(
    ("recipients", "requester", "ccs", "missing"),
    [
        (["ann@a.test", "ops@a.test"], "bob@a.test", ["ann@a.test", "ops@a.test"], []),
        (["ann@a.test", "ops@a.test"], "bob@a.test", ["ops@a.test", "partner@p.test"], ["ann@a.test"]),
        (["Ann@A.test"], "bob@a.test", ["ann@a.test"], []),  # case-insensitive
        (["ann@a.test"], "ANN@a.test", [], []),  # the requester is never CC'd
        (["ann@a.test", "ops@a.test"], None, [], ["ann@a.test", "ops@a.test"]),
    ],
)
def test_the_console_addresses_a_ticket_lacks(
    recipients: list[str], requester: str | None, ccs: list[str], missing: list[str]
) -> None:
    assert missing_console_ccs(recipients, requester, ccs) == missing


_names = st.from_regex(r"[a-z][a-z0-9_]{0,63}", fullmatch=True)


@given(st.dictionaries(_names, st.integers(min_value=1, max_value=2**53), max_size=8).filter(
    lambda m: len(set(m.values())) == len(m)))
def test_any_well_formed_map_parses_to_itself(field_map: dict[str, int]) -> None:
    assert parse_field_map(field_map) == field_map


@given(st.dictionaries(st.text(max_size=70), st.one_of(st.integers(), st.text(), st.booleans(), st.none()),
                       max_size=5))
def test_a_map_either_parses_or_is_refused_with_a_reason(raw: dict[str, Any]) -> None:
    try:
        parsed = parse_field_map(raw)
    except FieldRefused as exc:
        assert str(exc)
    else:
        assert parsed == raw and all(isinstance(v, int) and v > 0 for v in parsed.values())
