"""What staff redact in Zendesk is redacted in the console's copy, and gone from the store (docs/design.md §8)."""

from __future__ import annotations

from typing import Any

import pytest

from sync.errors import CaseSyncError
from sync.inbound.inbox import webhook_sink
from sync.web.webhooks import WebhookHint
from tests.support.store_bytes import store_text

from .conftest import World

CARD = "4111 1111 1111 1111"


def _hint(world: World, ticket_id: int, event_type: str, event_id: str) -> None:
    assert webhook_sink(world.store)(WebhookHint(ticket_id=ticket_id, event_id=event_id, event_type=event_type))


def _comment_id(world: World, ticket_id: int) -> int:
    return int(world.staff.comments(ticket_id)[-1]["id"])


def _upload(world: World, filename: str, data: bytes) -> dict[str, Any]:
    response = world.staff.http.post(
        world.staff._api("uploads"), params={"filename": filename}, data=data,
        headers={"Content-Type": "application/octet-stream"}, timeout=10,
    )
    response.raise_for_status()
    return dict(response.json()["upload"])


def test_a_redacted_string_is_redacted_on_the_console_within_a_cycle_of_its_webhook(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.reply(ticket_id, f"Your card {CARD} was charged")
    world.sync()
    assert CARD in world.case("acme", case_id).messages[-1].body
    comment_id = _comment_id(world, ticket_id)
    answer = world.staff.put(f"tickets/{ticket_id}/comments/{comment_id}/redact", {"text": CARD})
    assert answer["comment"]["body"] == f"Your card {'▇' * len(CARD)} was charged"
    # The ticket's fields do not change: polling alone does not see it.
    world.sync()
    assert CARD in world.case("acme", case_id).messages[-1].body
    _hint(world, ticket_id, "ticket.comment_redacted", "evt-redact-1")
    world.step()
    message = world.case("acme", case_id).messages[-1]
    assert message.body == f"Your card {'▇' * len(CARD)} was charged"
    assert message.html is not None and CARD not in message.html and "▇" in message.html
    assert world.kinds("acme").count("redacted_message") == 1
    assert CARD not in store_text(world.store)
    world.sync()  # nothing more to redact: reported once
    assert world.kinds("acme").count("redacted_message") == 1


def test_a_redacted_attachment_is_removed_with_its_bytes(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    token = world.staff.upload("passwords.txt", b"hunter2-secret-bytes")
    world.staff.reply(ticket_id, "Here is the file", uploads=[token])
    world.sync()
    message = world.case("acme", case_id).messages[-1]
    [ref] = message.attachments
    comment = world.staff.comments(ticket_id)[-1]
    attachment_id = comment["attachments"][0]["id"]
    redacted = world.staff.put(f"tickets/{ticket_id}/comments/{comment['id']}/attachments/{attachment_id}/redact")
    assert (redacted["attachment"]["file_name"], redacted["attachment"]["size"]) == ("redacted.txt", 0)
    _hint(world, ticket_id, "ticket.attachment_redacted_from_comment", "evt-redact-2")
    world.step()
    message = world.case("acme", case_id).messages[-1]
    assert message.body == "Here is the file" and message.attachments == []
    with pytest.raises(CaseSyncError):
        world.api.attachment("acme", case_id, ref.id)
    assert "hunter2-secret-bytes" not in store_text(world.store)
    assert world.kinds("acme").count("redacted_message") == 1


def test_a_workspace_redaction_of_rich_text_and_an_inline_image(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    shot = _upload(world, "screen.png", b"PNG-with-the-password-on-screen")
    url = shot["attachment"]["content_url"]
    world.staff.update(ticket_id, comment={
        "html_body": f'<p>Log in with <b>s3cr3t-pass</b></p><img src="{url}">', "uploads": [shot["token"]],
    })
    world.sync()
    message = world.case("acme", case_id).messages[-1]
    assert [a.inline for a in message.attachments] == [True]
    comment_id = _comment_id(world, ticket_id)
    world.staff.put(f"comment_redactions/{comment_id}", {
        "ticket_id": ticket_id,
        "html_body": f'<p>Log in with <b><redact>s3cr3t-pass</redact></b></p><img src="{url}" redact>',
    })
    _hint(world, ticket_id, "ticket.comment_redacted", "evt-redact-3")
    world.step()
    message = world.case("acme", case_id).messages[-1]
    assert message.html == f"<p>Log in with <b>{'▇' * 11}</b></p>"
    assert "s3cr3t-pass" not in message.body and message.attachments == []
    text = store_text(world.store)
    assert "s3cr3t-pass" not in text and "PNG-with-the-password-on-screen" not in text


def test_a_closed_ticket_refuses_string_redaction_as_zendesk_does(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.reply(ticket_id, f"card {CARD}", status="solved")
    world.staff.status(ticket_id, "closed")
    comment_id = _comment_id(world, ticket_id)
    response = world.staff.http.put(
        world.staff._api(f"tickets/{ticket_id}/comments/{comment_id}/redact"), json={"text": CARD}, timeout=10
    )
    assert response.status_code == 422
    assert CARD in world.staff.comments(ticket_id)[-1]["body"]
    assert case_id in [c.id for c in world.api.list("acme")]


def test_staff_redact_what_a_console_user_pasted_by_mistake(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice", body="Login fails; my password is Sup3rS3cret!")
    comment_id = int(world.staff.comments(ticket_id)[0]["id"])
    world.staff.put(f"tickets/{ticket_id}/comments/{comment_id}/redact", {"text": "Sup3rS3cret!"})
    _hint(world, ticket_id, "ticket.comment_redacted", "evt-redact-4")
    world.step()
    first = world.case("acme", case_id).messages[0]
    assert (first.author, first.body, first.html) == ("user", f"Login fails; my password is {'▇' * 12}", None)
    assert "Sup3rS3cret!" not in store_text(world.store)
