"""Regressions found by probing the library's edges: 64-bit ids and account ids Zendesk would merge."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sync.api import SupportCases
from sync.errors import InvalidInput

BEYOND_64_BITS = (2**63, 2**64, 10**30)


@pytest.mark.parametrize("number", BEYOND_64_BITS)
@pytest.mark.parametrize(
    ("what", "call"),
    [
        ("case_id", lambda s, n: s.get("acme", n)),
        ("case_id", lambda s, n: s.reply("acme", n, "bob", "hello")),
        ("case_id", lambda s, n: s.close("acme", n, "bob")),
        ("case_id", lambda s, n: s.attachment("acme", n, "a1")),
        ("refers_to", lambda s, n: s.submit("acme", "bob", "Subject", "Body", refers_to=n)),
        ("since", lambda s, n: s.changes(since=n)),
        ("since", lambda s, n: s.changes(since=n, account_id="acme")),
    ],
)
def test_ids_beyond_64_bits_are_invalid_input(
    world: SupportCases, dump: Callable[[Any], dict[str, Any]], what: str,
    call: Callable[[SupportCases, int], Any], number: int,
) -> None:
    before = dump(world.store)
    with pytest.raises(InvalidInput, match=what):
        call(world, number)
    assert dump(world.store) == before


def test_the_largest_64_bit_id_is_simply_not_found(world: SupportCases) -> None:
    from sync.errors import CaseNotFound

    with pytest.raises(CaseNotFound):
        world.get("acme", 2**63 - 1)
    assert world.changes(since=2**63 - 1) == []


@pytest.mark.parametrize("account_id", ["ACME", "Acme", "acme ", " acme", "acme\t", "Straße", "ÉCOLE"])
def test_account_ids_zendesk_would_confuse_are_refused(
    world: SupportCases, dump: Callable[[Any], dict[str, Any]], account_id: str
) -> None:
    before = dump(world.store)
    with pytest.raises(InvalidInput, match="account_id"):
        world.upsert_account(account_id, "Another tenant")
    assert dump(world.store) == before


@pytest.mark.parametrize("account_id", ["acme-eu", "école", "strasse", "tenant_42", "a.b"])
def test_canonical_account_ids_are_accepted(support: SupportCases, account_id: str) -> None:
    assert support.upsert_account(account_id, "Tenant").id == account_id
    assert support.upsert_account(account_id, "Renamed").name == "Renamed"


def test_an_existing_account_keeps_working_under_its_id(support: SupportCases) -> None:
    # An account a previous release created with capitals is still served (and renamed) as it was created.
    with support.store.transaction() as tx:
        tx.upsert_account("Legacy", "Legacy Ltd")
    assert support.upsert_account("Legacy", "Legacy Limited").name == "Legacy Limited"
    assert support.upsert_user("Legacy", "u1", "u1@legacy.test", "U One").account_id == "Legacy"
