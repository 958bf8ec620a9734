"""Backfill reads comments in bulk: the ticket-event export carries them, the comment listing is the exception.

Every test counts the API requests the sandbox served (``/__sandbox/stats``), never time.  Attachment
downloads (``content_url``, outside ``/api/v2``) are not API requests there; they are one per public attachment,
as the imported files show.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.consistency import Backfiller
from sync.store.kv_keys import BACKFILL_CHECKPOINT
from tests.consistency.conftest import World, delta

SINCE = datetime.now(UTC) - timedelta(days=1)
PNG = b"\x89PNG\r\n\x1a\n" + b"screenshot-bytes" * 8


def _listings(spent: dict[str, int]) -> int:
    """Comment listings among the requests spent (``GET /api/v2/tickets/{id}/comments``)."""
    return sum(n for route, n in spent.items() if route.startswith("GET") and route.endswith("/comments"))


def _history(world: World, count: int, *, seconds_apart: float = 0) -> dict[int, list[str]]:
    """``count`` tickets of carol's with public replies, internal notes and attachments on both, made
    ``seconds_apart`` of the sandbox's clock apart; ticket id → the bodies the console must show, in order."""
    with world.store.read() as tx:
        acme, carol = tx.get_account("acme"), tx.get_user("acme", "carol")
    assert acme and carol and acme.zendesk_org_id and carol.zendesk_user_id
    staff, out = world.staff, {}
    for n in range(count):
        ticket = staff.create_ticket(subject=f"Question {n}", requester_id=carol.zendesk_user_id,
                                     organization_id=acme.zendesk_org_id,
                                     comment={"body": f"Q{n}", "author_id": carol.zendesk_user_id, "public": True})
        ticket_id = int(ticket["id"])
        staff.note(ticket_id, f"note {n}", uploads=[staff.upload(f"secret-{n}.txt", b"internal")])
        staff.reply(ticket_id, f"A{n}", uploads=[staff.upload(f"answer-{n}.txt", f"answer {n}".encode())])
        staff.reply(ticket_id, f"more {n}")
        out[ticket_id] = [f"Q{n}", f"A{n}", f"more {n}"]
        if seconds_apart:
            world.zd.advance_clock(seconds_apart)
    world.tick()  # the exports leave out their most recent minute
    return out


def _messages(world: World, ticket_id: int) -> list[tuple[str, list[tuple[str, bytes]]]]:
    with world.store.read() as tx:
        case_id = tx.case_of_ticket(ticket_id)
        assert case_id is not None, ticket_id
        out = []
        for message in tx.case_messages(case_id):
            files = [tx.attachment_content(a.id) for a in message.attachments]
            out.append((message.body, [(f[0].filename, f[1]) for f in files if f is not None]))
        return out


class _Interrupted:
    """The gateway, stopped (as by Ctrl-C) at the ``stop_at``-th ticket export page."""

    def __init__(self, gateway: Any, stop_at: int) -> None:
        self._gateway, self._stop_at, self._pages = gateway, stop_at, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gateway, name)

    def export_tickets(self, **kw: Any) -> Any:
        self._pages += 1
        if self._pages == self._stop_at:
            raise KeyboardInterrupt
        return self._gateway.export_tickets(**kw)


def test_public_comments_come_from_the_event_export_in_order_without_notes(world: World) -> None:
    history = _history(world, 6)
    before = world.stats()
    result = Backfiller(world.store, world.gateway, world.settings).run(SINCE)
    spent = delta(before, world.stats())

    assert result.imported == 6
    for n, (ticket_id, bodies) in enumerate(history.items()):
        assert _messages(world, ticket_id) == [
            (bodies[0], []), (bodies[1], [(f"answer-{n}.txt", f"answer {n}".encode())]), (bodies[2], [])]
    assert _listings(spent) == 0, spent
    # A ticket page, an event page, the organizations, the users (carol is linked: the agent alone).
    assert spent["total"] == 4, spent


@pytest.mark.parametrize("count", [3, 24])
def test_the_requests_do_not_grow_with_the_tickets(world: World, count: int) -> None:
    _history(world, count)
    before = world.stats()
    assert Backfiller(world.store, world.gateway, world.settings).run(SINCE).imported == count
    spent = delta(before, world.stats())
    assert _listings(spent) == 0, spent
    assert spent["total"] == 4, spent


def test_event_pages_are_read_as_far_as_each_ticket_page_needs(world: World,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    history = _history(world, 9, seconds_apart=1)  # event pages can end between tickets
    original = world.gateway._raw

    def small_event_pages(method: str, path: str, **kw: Any) -> Any:
        if path.startswith("incremental/ticket_events"):
            kw["params"] = {**(kw.get("params") or {}), "per_page": 5}
        return original(method, path, **kw)

    monkeypatch.setattr(world.gateway, "_raw", small_event_pages)
    before = world.stats()
    assert Backfiller(world.store, world.gateway, world.settings, per_page=4).run(SINCE).imported == 9
    spent = delta(before, world.stats())

    assert _listings(spent) == 0, spent
    assert spent["GET /api/v2/incremental/ticket_events"] > 1, spent
    for ticket_id, bodies in history.items():
        assert [body for body, _ in _messages(world, ticket_id)] == bodies


def test_a_comment_made_private_later_is_not_imported(world: World) -> None:
    history = _history(world, 2)
    first = next(iter(history))
    hidden = world.staff.reply(first, "sent by mistake")
    world.staff.make_private(first, hidden)
    world.tick()
    Backfiller(world.store, world.gateway, world.settings).run(SINCE)
    assert [body for body, _ in _messages(world, first)] == history[first]


def test_a_ticket_older_than_the_range_has_its_comments_listed(world: World) -> None:
    old = _history(world, 1)
    world.zd.advance_clock(3 * 86400)
    (old_id,) = old
    world.staff.reply(old_id, "still there?")
    new = _history(world, 2)
    since = datetime.now(UTC) + timedelta(days=2)  # after the old ticket's first comments, before the rest
    before = world.stats()
    assert Backfiller(world.store, world.gateway, world.settings).run(since).imported == 3
    spent = delta(before, world.stats())

    assert _listings(spent) == 1, spent  # the old ticket alone: the export holds only its latest reply
    assert [body for body, _ in _messages(world, old_id)] == [*old[old_id], "still there?"]
    for ticket_id, bodies in new.items():
        assert [body for body, _ in _messages(world, ticket_id)] == bodies


def test_a_ticket_with_a_pasted_image_has_its_comments_listed_for_the_inline_file(world: World) -> None:
    history = _history(world, 2)
    pasted = next(iter(history))
    response = world.staff.http.post(world.staff._api("uploads"), params={"filename": "shot.png"}, data=PNG,
                                     headers={"Content-Type": "application/octet-stream"}, timeout=10)
    upload = response.json()["upload"]
    html = f'<p>See:</p><img src="{upload["attachment"]["content_url"]}" alt="shot">'
    world.staff.update(pasted, comment={"html_body": html, "public": True, "uploads": [upload["token"]]})
    world.tick()
    before = world.stats()
    assert Backfiller(world.store, world.gateway, world.settings).run(SINCE).imported == 2
    spent = delta(before, world.stats())

    assert _listings(spent) == 1, spent  # that ticket alone
    assert _messages(world, pasted)[-1] == ("See:", [("shot.png", PNG)])
    with world.store.read() as tx:
        case_id = tx.case_of_ticket(pasted)
        assert case_id is not None
        (inline,) = tx.case_messages(case_id)[-1].attachments
    assert inline.inline


def test_an_interrupted_bulk_backfill_resumes_with_each_comment_once(world: World) -> None:
    history = _history(world, 9)
    with pytest.raises(KeyboardInterrupt):
        Backfiller(world.store, _Interrupted(world.gateway, 3), world.settings, per_page=4).run(SINCE)  # type: ignore[arg-type]
    with world.store.read() as tx:
        saved = BACKFILL_CHECKPOINT.get(tx)
    assert saved and saved.cursor and saved.events > int(SINCE.timestamp())
    assert saved.imported == 8

    before = world.stats()
    resumed = Backfiller(world.store, world.gateway, world.settings, per_page=4).run(SINCE)
    assert resumed.resumed and resumed.imported == 9
    # The last ticket's comments are before the stored event cursor: the resumed run lists them.
    assert _listings(delta(before, world.stats())) == 1
    for ticket_id, bodies in history.items():
        assert [body for body, _ in _messages(world, ticket_id)] == bodies
    with world.store.read() as tx:
        assert BACKFILL_CHECKPOINT.get(tx) is None
        assert len(tx.linked_cases()) == 9
