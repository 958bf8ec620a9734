"""``SupportCases.browse`` and the cases' timestamps on both backends (docs/design.md §8)."""

from __future__ import annotations

from typing import Any

import pytest

from mappings.models import Case, CaseStatus
from sync.api import SupportCases
from sync.browse import CasePage
from sync.errors import InvalidInput
from sync.store import Store


def _submit(support: SupportCases, n: int, *, account: str = "acme", user: str = "bob", clock: Any = None) -> list[int]:
    ids = []
    for i in range(n):
        if clock is not None:
            clock.advance(1)
        ids.append(support.submit(account, user, f"case number {i}", f"body of case {i}").id)
    return ids


def _walk(support: SupportCases, **kwargs: Any) -> list[int]:
    """Every case id of every page, in page order."""
    seen: list[int] = []
    cursor = None
    while True:
        page = support.browse("acme", cursor=cursor, **kwargs)
        seen += [c.id for c in page.cases]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def _staff_message(store: Store, case_id: int, body: str) -> None:
    """What the inbound worker writes when staff answer in Zendesk."""
    with store.transaction() as tx:
        tx.add_message(case_id, "staff", "Sam Staff", body, origin="zendesk")


# -- timestamps -------------------------------------------------------------------------------------


def test_a_case_has_created_at_and_an_updated_at_that_follows_every_visible_change(
    world: SupportCases, clock: Any
) -> None:
    submitted = world.submit("acme", "bob", "Printer", "It jams")
    assert submitted.created_at == submitted.updated_at == clock.now
    clock.advance(60)
    replied = world.reply("acme", submitted.id, "bob", "Still jams")
    assert (replied.created_at, replied.updated_at) == (submitted.created_at, clock.now)
    clock.advance(60)
    _staff_message(world.store, submitted.id, "Try this")
    assert world.get("acme", submitted.id).updated_at == clock.now
    clock.advance(60)
    with world.store.transaction() as tx:
        tx.set_case_status(submitted.id, CaseStatus.PENDING)
    assert world.get("acme", submitted.id).updated_at == clock.now
    clock.advance(60)
    with world.store.transaction() as tx:
        tx.set_case_cc(submitted.id, [])  # the same list: nothing the console sees changed
    assert world.get("acme", submitted.id).updated_at == clock.now - _seconds(60)
    with world.store.transaction() as tx:
        tx.set_case_cc(submitted.id, ["ann@acme.test"])
        tx.link_ticket(submitted.id, 9001)
    after = world.get("acme", submitted.id)
    assert after.updated_at == clock.now and after.created_at == submitted.created_at
    assert [c.updated_at for c in world.list("acme")] == [after.updated_at]


def _seconds(n: float) -> Any:
    from datetime import timedelta

    return timedelta(seconds=n)


def test_updated_at_never_moves_backwards_when_the_clock_does(world: SupportCases, clock: Any) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams")
    clock.advance(-30)
    assert world.reply("acme", case.id, "bob", "hello?").updated_at == case.updated_at


# -- pages and order --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "newest_first"),
    [("created_at", False), ("-created_at", True), ("updated_at", False), ("-updated_at", True)],
)
def test_paging_returns_every_case_once_in_order(
    world: SupportCases, clock: Any, order: str, newest_first: bool
) -> None:
    ids = _submit(world, 7, clock=clock)
    clock.advance(1)
    world.reply("acme", ids[0], "bob", "bump")  # now the most recently updated
    by_update = [*ids[1:], ids[0]] if order.endswith("updated_at") else ids
    expected = list(reversed(by_update)) if newest_first else by_update
    assert _walk(world, order=order, limit=3) == expected
    pages = [world.browse("acme", order=order, limit=7), world.browse("acme", order=order, limit=100)]
    assert all(p.next_cursor is None and [c.id for c in p.cases] == expected for p in pages)


def test_the_default_order_is_most_recently_updated_first_and_the_page_is_a_case_page(
    world: SupportCases, clock: Any
) -> None:
    ids = _submit(world, 3, clock=clock)
    page = world.browse("acme")
    assert isinstance(page, CasePage) and all(isinstance(c, Case) for c in page.cases)
    assert [c.id for c in page.cases] == list(reversed(ids)) and page.next_cursor is None
    assert page.cases[0].messages[0].body == "body of case 2"


def test_ties_in_time_are_broken_by_case_number(world: SupportCases) -> None:
    ids = _submit(world, 5)  # the fake clock stands still: every timestamp is the same
    assert _walk(world, order="updated_at", limit=2) == ids
    assert _walk(world, order="-created_at", limit=2) == list(reversed(ids))


@pytest.mark.parametrize("order", ["updated_at", "-updated_at"])
def test_a_case_changed_while_paging_appears_at_most_once(world: SupportCases, clock: Any, order: str) -> None:
    ids = _submit(world, 6, clock=clock)
    first = world.browse("acme", order=order, limit=2)
    seen = [c.id for c in first.cases]
    unseen = next(i for i in ids if i not in seen)
    for case_id in (seen[0], unseen):  # one already shown, one not yet
        clock.advance(1)
        world.reply("acme", case_id, "bob", "changed while paging")
    cursor = first.next_cursor
    while cursor is not None:
        page = world.browse("acme", order=order, limit=2, cursor=cursor)
        seen += [c.id for c in page.cases]
        cursor = page.next_cursor
    assert len(seen) == len(set(seen))
    assert set(ids) - set(seen) <= {seen[0], unseen}
    # A new walk shows everything again, in the new order.
    assert sorted(_walk(world, order=order, limit=2)) == ids


def test_cases_submitted_while_paging_by_creation_appear_at_the_end(world: SupportCases, clock: Any) -> None:
    ids = _submit(world, 3, clock=clock)
    first = world.browse("acme", order="created_at", limit=2)
    clock.advance(1)
    late = world.submit("acme", "bob", "late", "late body").id
    rest = world.browse("acme", order="created_at", limit=2, cursor=first.next_cursor)
    assert [c.id for c in first.cases + rest.cases] == [*ids, late]


# -- filters and search -----------------------------------------------------------------------------


def test_status_and_requester_filters(world: SupportCases, clock: Any) -> None:
    mine = _submit(world, 3, clock=clock)
    ann = world.submit("acme", "ann", "from ann", "body").id
    world.close("acme", mine[1], "bob")
    assert _walk(world, status=CaseStatus.NEW, order="created_at", limit=1) == [mine[0], mine[2], ann]
    assert _walk(world, status="Closed") == [mine[1]]
    assert _walk(world, requester_id="ann") == [ann]
    assert _walk(world, requester_id="bob", status=CaseStatus.NEW, order="created_at") == [mine[0], mine[2]]
    assert _walk(world, requester_id="nobody") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("printer", ["printer"]),
        ("PRINTER", ["printer"]),  # case-insensitive
        ("kubectl", ["kube"]),  # a word of a message body
        ("kubectl pods", ["kube"]),  # every word must be there
        ("kubectl printer", []),
        ("toner", ["printer"]),  # a word of a later reply
        ("staff-answer", ["kube"]),  # punctuation separates words, in the query as in the text
        ('"pods" OR printer', []),  # FTS / tsquery operators are plain words here
        ("Ünïcode", ["printer"]),
        ("internal", []),  # a withdrawn message is not searched
        ("beta", []),  # another account's case is never found
    ],
)
def test_query_matches_words_of_subjects_and_visible_messages(
    world: SupportCases, query: str, expected: list[str]
) -> None:
    printer = world.submit("acme", "bob", "Printer jams", "Paper everywhere, ünïcode too")
    world.reply("acme", printer.id, "bob", "Replaced the toner")
    kube = world.submit("acme", "bob", "Cluster", "Run kubectl get pods")
    _staff_message(world.store, kube.id, "A staff-answer")
    _staff_message(world.store, kube.id, "internal or OR")
    with world.store.transaction() as tx:
        last = tx.case_messages(kube.id)[-1]
        tx.withdraw_message(last.id)
    world.submit("beta", "carl", "beta printer kubectl", "beta")
    names = {printer.id: "printer", kube.id: "kube"}
    assert [names[c.id] for c in world.browse("acme", query=query).cases] == expected


def test_search_pages_like_any_other_listing(world: SupportCases, clock: Any) -> None:
    ids = _submit(world, 5, clock=clock)
    world.submit("acme", "bob", "unrelated", "nothing here")
    assert _walk(world, query="case", limit=2, order="created_at") == ids


# -- isolation and bad input ------------------------------------------------------------------------


def test_another_accounts_cases_are_never_visible(world: SupportCases) -> None:
    _submit(world, 2)
    theirs = world.submit("beta", "carl", "case number 9", "body of case 9").id
    assert theirs not in _walk(world, limit=1)
    assert [c.id for c in world.browse("beta").cases] == [theirs]
    cursor = world.browse("acme", limit=1).next_cursor
    with pytest.raises(InvalidInput, match="cursor"):
        world.browse("beta", limit=1, cursor=cursor)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": True},
        {"limit": "10"},
        {"order": "id"},
        {"order": "updated_at desc"},
        {"status": "Bogus"},
        {"query": ""},
        {"query": "!!! ???"},
        {"query": "x" * 1001},
        {"cursor": "not a cursor"},
        {"cursor": ""},
        {"cursor": "eyJmIjoxfQ"},  # JSON, but not a cursor
        {"requester_id": ""},
    ],
)
def test_bad_arguments_raise_invalid_input(world: SupportCases, kwargs: dict[str, Any]) -> None:
    _submit(world, 1)
    with pytest.raises(InvalidInput):
        world.browse("acme", **kwargs)


def test_a_cursor_only_continues_the_listing_it_was_made_for(world: SupportCases) -> None:
    _submit(world, 3)
    cursor = world.browse("acme", limit=1, order="created_at").next_cursor
    assert cursor is not None
    for other in ({"order": "-created_at"}, {"status": "New"}, {"query": "case"}, {"requester_id": "bob"}):
        with pytest.raises(InvalidInput, match="cursor"):
            world.browse("acme", limit=1, cursor=cursor, **{"order": "created_at", **other})  # type: ignore[arg-type]
    tampered = cursor[:-4] + ("AAAA" if not cursor.endswith("AAAA") else "BBBB")
    with pytest.raises(InvalidInput):
        world.browse("acme", limit=1, order="created_at", cursor=tampered)


def test_list_still_returns_every_case_by_number(world: SupportCases) -> None:
    ids = _submit(world, 3)
    assert [c.id for c in world.list("acme")] == ids


# -- cost: pages are index range scans -----------------------------------------------------------------


def _browse_statements(support: SupportCases, **kwargs: Any) -> list[tuple[str, Any]]:
    """The SQL a browse call runs against ``cases`` with a LIMIT (its page query), with parameters."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        if "FROM cases" in statement and "LIMIT" in statement:
            seen.append((statement, params))

    engine = support.store.engine  # type: ignore[attr-defined]
    event.listen(engine, "before_cursor_execute", capture)
    try:
        support.browse("acme", **kwargs)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


@pytest.mark.parametrize("order", ["-updated_at", "created_at"])
def test_a_page_is_a_range_scan_of_the_accounts_index_without_a_sort(
    world: SupportCases, clock: Any, order: str
) -> None:
    _submit(world, 4, clock=clock)
    cursor = world.browse("acme", order=order, limit=2).next_cursor
    index = "ix_cases_account_updated" if order.endswith("updated_at") else "ix_cases_account_created"
    for kwargs in ({"order": order, "limit": 2}, {"order": order, "limit": 2, "cursor": cursor}):
        [(sql, params)] = _browse_statements(world, **kwargs)
        with world.store.engine.connect() as conn:  # type: ignore[attr-defined]
            if world.store.dialect == "postgresql":
                conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: ask which index serves it
                plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params))
                assert index in plan and "Sort" not in plan, plan
            else:
                plan = " ".join(str(r[3]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
                assert f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
