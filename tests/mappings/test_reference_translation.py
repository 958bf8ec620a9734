"""Ticket numbers quoted in staff text become the console's case numbers, for the same account only; and the
rules of ``refers_to`` (docs/design.md §3 References, §4.8)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings.models import CaseStatus
from mappings.references import (
    ReferenceRefusal,
    ReferredCase,
    check_refers_to,
    find_ticket_references,
    refusal_message,
    translate_references,
    translate_references_html,
)

SAME_ACCOUNT = {5678: 1042, 12: 7}  # ticket id → case number, already restricted to the account


@pytest.mark.parametrize(
    ("staff_text", "shown"),
    [
        # explicit references: a ticket word, then the number
        ("ticket 5678 is fixed", "case #1042 is fixed"),
        ("Ticket #5678", "case #1042"),
        ("as in ticket #12.", "as in case #7."),
        ("see TICKET #5678!", "see case #1042!"),
        ("request #5678 was answered", "case #1042 was answered"),
        ("your request 5678", "your case #1042"),
        ("ticket # 5678", "case #1042"),
        ("ticket#5678", "case #1042"),
        ("Ticket no. 5678", "case #1042"),
        ("ticket number 5678", "case #1042"),
        ("tickets #5678 and #12", "cases #1042 and #7"),
        ("tickets #5678, #12", "cases #1042, #7"),
        ("tickets 5678 and 12 are linked", "cases #1042 and #7 are linked"),
        ("requests #5678 & #12", "cases #1042 & #7"),
        ("ticket #5678 and #12", "cases #1042 and #7"),
        # several languages' punctuation around the reference
        ("(ticket #5678)", "(case #1042)"),
        ("«ticket #5678»", "«case #1042»"),
        ("voir le ticket #5678 !", "voir le case #1042 !"),
        ("siehe Ticket Nr. 5678.", "siehe case #1042."),
        ("el ticket #5678, por favor", "el case #1042, por favor"),
        ("「ticket #5678」を見てください", "「case #1042」を見てください"),
        ("ticket #5678。", "case #1042。"),
        ("¿ticket #5678?", "¿case #1042?"),
        ("tickets #5678 et #12", "cases #1042 et #7"),
        # ticket URLs of the help desk
        ("https://acme.zendesk.com/agent/tickets/5678", "case #1042"),
        ("see https://acme.zendesk.com/agent/tickets/5678.", "see case #1042."),
        ("https://acme.zendesk.com/api/v2/tickets/5678.json", "case #1042"),
        ("https://acme.zendesk.com/hc/requests/5678", "case #1042"),
        ("https://acme.zendesk.com/hc/en-us/requests/5678", "case #1042"),
        ("<https://acme.zendesk.com/agent/tickets/12>", "<case #7>"),
        # only some of a list belong to the account: just those change
        ("tickets #5678 and #9999", "tickets case #1042 and #9999"),
        # not references: a bare number sign is a step, a code, an issue, a heading
        ("step #6 then error code #8", "step #6 then error code #8"),
        ("see #5678", "see #5678"),
        ("(#5678)", "(#5678)"),
        ("#5678 and #12", "#5678 and #12"),
        ("PR #12 fixes issue #5678", "PR #12 fixes issue #5678"),
        ("error #12: disk full", "error #12: disk full"),
        ("case #5678", "case #5678"),  # already a console case number
        ("ticket 5 and 12 users", "ticket 5 and 12 users"),  # 5 is unknown; "and 12" is no ticket
        ("ticket 9999", "ticket 9999"),
        ("ticket #5678.5", "ticket #5678.5"),
        ("ticket 5678/2", "ticket 5678/2"),
        ("ticket 12:30", "ticket 12:30"),
        ("ticket #5678abc", "ticket #5678abc"),
        ("myticket 5678", "myticket 5678"),
        ("ticketing 5678", "ticketing 5678"),
        ("the ticket price is 12 euros", "the ticket price is 12 euros"),
        ("ticket_5678", "ticket_5678"),
        ("page#5678", "page#5678"),
        ("https://docs.example/guide#5678", "https://docs.example/guide#5678"),
        ("https://docs.example/ticket 12", "https://docs.example/ticket 12"),
        ("https://acme.zendesk.com/agent/tickets/5678/events", "https://acme.zendesk.com/agent/tickets/5678/events"),
        ("https://acme.zendesk.com/agent/tickets/5678?x=1", "https://acme.zendesk.com/agent/tickets/5678?x=1"),
        ("https://acme.zendesk.com/agent/tickets/9999", "https://acme.zendesk.com/agent/tickets/9999"),
        # code is never rewritten
        ("run `ticket 5678` now", "run `ticket 5678` now"),
        ("```\nticket #5678\n```", "```\nticket #5678\n```"),
        ("`ticket #12` vs ticket #12", "`ticket #12` vs case #7"),
        ("", ""),
    ],
)
def test_translation(staff_text: str, shown: str) -> None:
    assert translate_references(staff_text, SAME_ACCOUNT) == shown


@pytest.mark.parametrize(
    ("html", "shown"),
    [
        ("<p>see ticket #5678</p>", "<p>see case #1042</p>"),
        ("<p>step #6, <b>error code #8</b></p>", "<p>step #6, <b>error code #8</b></p>"),
        ("<pre><code>ticket #5678</code></pre><p>ticket #12</p>", "<pre><code>ticket #5678</code></pre><p>case #7</p>"),
        ("<p>a <code>ticket 12</code> b</p>", "<p>a <code>ticket 12</code> b</p>"),
        (
            '<a href="https://example.com/ticket 12" title="ticket 12">ticket 12</a>',
            '<a href="https://example.com/ticket 12" title="ticket 12">case #7</a>',
        ),
        ('<img alt="x>ticket 12" src="attachment:abc">', '<img alt="x>ticket 12" src="attachment:abc">'),
    ],
)
def test_translation_in_html_touches_text_nodes_outside_code_only(html: str, shown: str) -> None:
    assert translate_references_html(html, SAME_ACCOUNT) == shown


def test_urls_of_another_host_are_left_alone_when_the_host_is_given() -> None:
    text = "https://other.zendesk.com/agent/tickets/5678 and https://ACME.zendesk.com/agent/tickets/5678"
    assert (
        translate_references(text, SAME_ACCOUNT, zendesk_host="acme.zendesk.com")
        == "https://other.zendesk.com/agent/tickets/5678 and case #1042"
    )


def test_the_quoted_ticket_ids_are_found_for_the_lookup() -> None:
    text = "ticket #5678, ticket 12, https://a.zendesk.com/hc/requests/3, #44 and ticket #5678 again; case #4"
    assert find_ticket_references(text) == [5678, 12, 3]


_ids = st.integers(min_value=1, max_value=60)
_quote = st.one_of(
    _ids.map(lambda n: f"#{n}"),
    _ids.map(lambda n: f"tickets #{n} and #{n + 1}"),
    _ids.map(lambda n: f"ticket {n}"),
    _ids.map(lambda n: f"Ticket #{n}"),
    _ids.map(lambda n: f"https://acme.zendesk.com/agent/tickets/{n}"),
    _ids.map(lambda n: f"https://acme.zendesk.com/api/v2/tickets/{n}.json"),
    _ids.map(lambda n: f"https://acme.zendesk.com/hc/requests/{n}"),
)
_filler = st.text(alphabet=st.sampled_from(list("ab #/.:case ticket0123\n")), max_size=8)
_text = st.lists(st.one_of(_quote, _filler), max_size=12).map("".join)
# ticket id → (account, case number); case numbers 1000+ never collide with ticket ids
_world = st.dictionaries(_ids, st.tuples(st.sampled_from(["A", "B"]), st.integers(1000, 1999)), max_size=30)


def _numbers(text: str) -> set[int]:
    return {int(n) for n in re.findall(r"\d+", text)}


@settings(max_examples=150, deadline=None)
@given(_text, _world)
def test_never_leaks_another_accounts_case_number_and_is_idempotent(
    text: str, world: dict[int, tuple[str, int]]
) -> None:
    mine = {ticket: case for ticket, (account, case) in world.items() if account == "A"}
    theirs = {case for account, case in world.values() if account == "B"} - set(mine.values())
    shown = translate_references(text, mine)
    new_numbers = _numbers(shown) - _numbers(text)
    assert new_numbers <= set(mine.values())
    assert not (new_numbers & theirs)
    assert translate_references(shown, mine) == shown
    # with nothing of the account quoted, the text is untouched
    assert translate_references(text, {}) == text


@pytest.mark.parametrize(
    ("referred", "refusal"),
    [
        (ReferredCase(account_id="A", case_id=5, status=CaseStatus.CLOSED), None),
        (None, ReferenceRefusal.NOT_FOUND),
        # another account's case is "not found": never reveal that it exists
        (ReferredCase(account_id="B", case_id=5, status=CaseStatus.CLOSED), ReferenceRefusal.NOT_FOUND),
        (ReferredCase(account_id="A", case_id=5, status=CaseStatus.OPEN), ReferenceRefusal.NOT_CLOSED),
        (ReferredCase(account_id="A", case_id=5, status=CaseStatus.SOLVED), ReferenceRefusal.NOT_CLOSED),
        (ReferredCase(account_id="A", case_id=5, status=CaseStatus.NEW), ReferenceRefusal.NOT_CLOSED),
    ],
)
def test_refers_to_must_be_a_closed_case_of_the_same_account(
    referred: ReferredCase | None, refusal: ReferenceRefusal | None
) -> None:
    assert check_refers_to("A", referred) is refusal


def test_the_refusal_of_an_unknown_and_a_foreign_case_read_the_same() -> None:
    unknown = refusal_message(check_refers_to("A", None) or ReferenceRefusal.NOT_FOUND, 5)
    foreign = check_refers_to("A", ReferredCase(account_id="B", case_id=5, status=CaseStatus.CLOSED))
    assert foreign is not None
    assert refusal_message(foreign, 5) == unknown == "refers_to=5: case 5 not found"
    assert "not Closed" in refusal_message(ReferenceRefusal.NOT_CLOSED, 5)


_no_ticket_word = st.lists(
    st.one_of(
        st.sampled_from(["step #", "error code #", "#", "PR #", "issue ", "case #", "page ", "v", "No. ", " ", ", ",
                         ".", "(", ")", "«", "»", "¿", "?", "!", "、", "。", "\n", "`", "https://x.example/"]),
        st.integers(min_value=1, max_value=60).map(str),
    ),
    max_size=20,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(_no_ticket_word)
def test_without_a_ticket_word_or_url_nothing_is_ever_rewritten(text: str) -> None:
    every_ticket = {n: 1000 + n for n in range(1, 61)}
    assert translate_references(text, every_ticket) == text
