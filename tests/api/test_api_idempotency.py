"""Idempotency keys on ``submit``, ``reply`` and ``close`` (docs/design.md §8), on both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mappings.models import Attachment, CaseStatus
from sync.api import SupportCases
from sync.errors import CaseClosed, InvalidInput, UnknownUser
from sync.idempotency import KEY_TTL, prune_keys
from tests.support.races import race


def test_a_retried_submit_returns_the_first_case_and_writes_nothing(
    world: SupportCases, dump: Callable[[Any], dict[str, Any]]
) -> None:
    first = world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1")
    before = dump(world.store)
    again = world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1")
    assert again == first
    assert dump(world.store) == before
    assert [c.id for c in world.list("acme")] == [first.id]


def test_the_first_result_is_returned_even_after_the_case_moved_on(world: SupportCases) -> None:
    first = world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1")
    world.reply("acme", first.id, "bob", "more")
    assert world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1") == first


@pytest.mark.parametrize(
    "other",
    [
        {"subject": "Scanner"},
        {"body": "It jams badly"},
        {"user_id": "ann"},
        {"attachments": [Attachment(filename="a.txt", content_type="text/plain", data=b"x")]},
    ],
)
def test_the_same_key_with_other_arguments_is_refused(
    world: SupportCases, dump: Callable[[Any], dict[str, Any]], other: dict[str, Any]
) -> None:
    world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1")
    before = dump(world.store)
    args = {"user_id": "bob", "subject": "Printer", "body": "It jams", **other}
    with pytest.raises(InvalidInput, match="idempotency key"):
        world.submit("acme", idempotency_key="k-1", **args)
    assert dump(world.store) == before


def test_a_key_used_by_one_operation_is_refused_for_another(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1")
    with pytest.raises(InvalidInput, match="idempotency key"):
        world.close("acme", case.id, "bob", idempotency_key="k-1")
    assert world.get("acme", case.id).status == CaseStatus.NEW


def test_keys_are_per_account(world: SupportCases) -> None:
    mine = world.submit("acme", "bob", "Printer", "It jams", idempotency_key="same")
    theirs = world.submit("beta", "carl", "Printer", "It jams", idempotency_key="same")
    assert mine.id != theirs.id and theirs.account_id == "beta"


def test_reply_and_close_with_keys(world: SupportCases, dump: Callable[[Any], dict[str, Any]]) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams")
    replied = world.reply("acme", case.id, "bob", "Any news?", idempotency_key="r-1")
    assert world.reply("acme", case.id, "bob", "Any news?", idempotency_key="r-1") == replied
    with pytest.raises(InvalidInput):
        world.reply("acme", case.id, "bob", "Any news?", acknowledges_solution=True, idempotency_key="r-1")
    closed = world.close("acme", case.id, "bob", idempotency_key="c-1")
    before = dump(world.store)
    # A retried close of a case it closed returns the first answer instead of CaseClosed.
    assert world.close("acme", case.id, "bob", idempotency_key="c-1") == closed
    assert dump(world.store) == before
    with pytest.raises(CaseClosed):
        world.close("acme", case.id, "bob", idempotency_key="c-2")
    assert [m.body for m in world.get("acme", case.id).messages] == ["It jams", "Any news?"]


def test_a_failed_call_does_not_use_up_its_key(world: SupportCases) -> None:
    with pytest.raises(UnknownUser):
        world.submit("acme", "zoe", "Printer", "It jams", idempotency_key="k-1")
    world.upsert_user("acme", "zoe", "zoe@acme.test", "Zoe")
    case = world.submit("acme", "zoe", "Printer", "It jams", idempotency_key="k-1")
    assert case.requester_id == "zoe"


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, 7])
def test_a_bad_key_is_invalid_input(world: SupportCases, key: Any) -> None:
    with pytest.raises(InvalidInput, match="idempotency_key"):
        world.submit("acme", "bob", "Printer", "It jams", idempotency_key=key)


def test_keys_are_kept_a_day_then_pruned(world: SupportCases, clock: Any) -> None:
    first = world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1")
    clock.advance(KEY_TTL.total_seconds() - 1)
    assert prune_keys(world.store, clock.now) == 0
    assert world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1") == first
    clock.advance(2)
    assert prune_keys(world.store, clock.now) == 1
    assert world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1").id != first.id


def test_simultaneous_calls_with_one_key_make_one_case(world: SupportCases, store_url: str, clock: Any) -> None:
    """Eight threads, each with its own store (its own connections), submit with the same key at once."""
    results = race(
        store_url, clock, lambda support: support.submit("acme", "bob", "Printer", "It jams", idempotency_key="race")
    )
    assert len({c.id for c in results}) == 1
    assert [c.id for c in world.list("acme")] == [results[0].id]
    with world.store.read() as tx:
        assert len(tx.outbox_entries(ordering_key=f"case:{results[0].id}")) == 1


def test_the_engines_pruner_prunes_at_most_every_ten_minutes(world: SupportCases, clock: Any) -> None:
    from sync.idempotency import KeyPruner

    ticks = [0.0]
    pruner = KeyPruner(world.store, clock=clock, monotonic=lambda: ticks[0])
    world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-1")
    clock.advance(KEY_TTL.total_seconds() + 1)
    world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-2")
    pruner.run_once()  # k-1 expired: pruned
    clock.advance(KEY_TTL.total_seconds() + 1)
    ticks[0] = 599.0
    pruner.run_once()  # not due yet: k-2 stays
    assert world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-2").id == 2
    ticks[0] = 600.0
    pruner.run_once()
    assert world.submit("acme", "bob", "Printer", "It jams", idempotency_key="k-2").id == 3
