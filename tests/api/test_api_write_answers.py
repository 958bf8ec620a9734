"""What a console write answers, and keyed writes racing each other, on both backends.

A write builds its answer from what it wrote and what its checks read (PostgreSQL: from the statement that
wrote it) instead of reading the case back: the answer must still be exactly what ``get`` reads afterwards.
A keyed write stores its key with its last statement, so simultaneous calls with one key all do their work
and all but one roll it back: every caller gets the first result and the store holds one write.
"""

from __future__ import annotations

from typing import Any

import pytest

from mappings.models import Attachment, CaseStatus
from sync.api import SupportCases
from sync.errors import CaseNotFound, InvalidInput
from tests.support.races import race


def _file(name: str, data: bytes) -> Attachment:
    return Attachment(filename=name, content_type="text/plain", data=data)


def test_a_submit_answers_what_get_reads(world: SupportCases) -> None:
    plain = world.submit("acme", "bob", "Printer", "It jams.")
    assert plain == world.get("acme", plain.id)
    files = [_file("b.txt", b"b"), _file("a.txt", b"a")]
    with_files = world.submit("acme", "bob", "Scanner", "See both.", attachments=files)
    assert [a.filename for a in with_files.messages[0].attachments] == ["a.txt", "b.txt"]
    assert with_files == world.get("acme", with_files.id)
    urgent = world.submit("acme", "bob", "Fire", "It burns.", priority="urgent")
    assert urgent.priority == "urgent" and urgent == world.get("acme", urgent.id)
    world.close("acme", plain.id, "bob")
    continued = world.submit("acme", "ann", "Printer again", "Jams again.", refers_to=plain.id)
    assert continued.refers_to == plain.id and continued == world.get("acme", continued.id)


def test_a_reply_answers_what_get_reads(world: SupportCases, clock: Any) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams.")
    clock.advance(5)
    first = world.reply("acme", case.id, "ann", "Try turning it off.")
    assert first == world.get("acme", case.id)
    assert first.updated_at > case.updated_at and [m.body for m in first.messages][-1] == "Try turning it off."
    with world.store.transaction() as tx:
        tx.set_case_status(case.id, CaseStatus.SOLVED)
    clock.advance(5)
    reopened = world.reply("acme", case.id, "bob", "Still jams.", attachments=[_file("log.txt", b"l")])
    assert reopened.status == CaseStatus.OPEN
    assert reopened == world.get("acme", case.id)
    with world.store.transaction() as tx:
        tx.set_case_status(case.id, CaseStatus.PENDING)
    again = world.reply("acme", case.id, "bob", "And again.")
    assert again.status == CaseStatus.OPEN and again == world.get("acme", case.id)


def test_a_reply_hides_a_withdrawn_message_from_its_answer(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams.")
    noted = world.reply("acme", case.id, "bob", "Call me at 555.")
    with world.store.transaction() as tx:
        tx.withdraw_message(noted.messages[-1].id)
    out = world.reply("acme", case.id, "bob", "Any news?")
    assert [m.body for m in out.messages] == ["It jams.", "Any news?"]
    assert out == world.get("acme", case.id)


def test_a_close_answers_what_get_reads(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams.", attachments=[_file("a.txt", b"a")])
    world.reply("acme", case.id, "ann", "Fixed?")
    with world.store.transaction() as tx:
        tx.link_ticket(case.id, 4242)
    closed = world.close("acme", case.id, "bob", idempotency_key="k-close")
    assert closed.status == CaseStatus.CLOSED and closed.closed_by == "user" and closed.ticket_id == 4242
    assert closed == world.get("acme", case.id)
    assert world.close("acme", case.id, "bob", idempotency_key="k-close") == closed


def test_a_key_used_for_a_submit_is_refused_for_a_reply_to_a_missing_case(world: SupportCases) -> None:
    """The key is checked before the case, as a key the same call used would be."""
    world.submit("acme", "bob", "Printer", "It jams.", idempotency_key="k-1")
    with pytest.raises(InvalidInput, match="idempotency key"):
        world.reply("acme", 999_999, "bob", "Hello?", idempotency_key="k-1")
    with pytest.raises(CaseNotFound):
        world.reply("acme", 999_999, "bob", "Hello?", idempotency_key="k-2")


def test_simultaneous_replies_with_one_key_add_one_message(world: SupportCases, store_url: str, clock: Any) -> None:
    case = world.submit("acme", "bob", "Printer", "It jams.")
    results = race(store_url, clock, lambda api: api.reply("acme", case.id, "bob", "Any news?", idempotency_key="r"))
    assert all(r == results[0] for r in results)
    assert [m.body for m in world.get("acme", case.id).messages] == ["It jams.", "Any news?"]
    with world.store.read() as tx:
        assert [e.kind for e in tx.outbox_entries(ordering_key=f"case:{case.id}")] == ["submit", "reply"]


def test_simultaneous_closes_with_one_key_all_answer_the_first_close(
    world: SupportCases, store_url: str, clock: Any
) -> None:
    """The calls that waited for the first one's lock find the case Closed: they answer its result, not
    ``CaseClosed``."""
    case = world.submit("acme", "bob", "Printer", "It jams.")
    results = race(store_url, clock, lambda api: api.close("acme", case.id, "bob", idempotency_key="c"))
    assert all(r == results[0] for r in results) and results[0].status == CaseStatus.CLOSED
    with world.store.read() as tx:
        assert [e.kind for e in tx.outbox_entries(ordering_key=f"case:{case.id}")] == ["submit", "close"]
