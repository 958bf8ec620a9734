"""Staff's rich text and pasted screenshots reach the console as they wrote them, and safely (docs/design.md §8)."""

from __future__ import annotations

from typing import Any

from .conftest import World

PNG = b"\x89PNG\r\n\x1a\n" + b"screenshot-bytes" * 8


def _upload(world: World, filename: str, data: bytes) -> dict[str, Any]:
    response = world.staff.http.post(
        world.staff._api("uploads"), params={"filename": filename}, data=data,
        headers={"Content-Type": "application/octet-stream"}, timeout=10,
    )
    response.raise_for_status()
    return dict(response.json()["upload"])


def _html_reply(world: World, ticket_id: int, html: str, uploads: list[str] | None = None) -> None:
    comment: dict[str, Any] = {"html_body": html, "public": True}
    if uploads:
        comment["uploads"] = uploads
    world.staff.update(ticket_id, comment=comment)


def test_a_rich_text_reply_keeps_its_structure_and_loses_everything_hostile(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    html = (
        "<p>Run <code>kubectl get pods</code>:</p><ol><li>first</li><li>second</li></ol>"
        '<p><a href="https://docs.example.com/pods">docs</a> and <a href="javascript:alert(1)">this</a></p>'
        '<script>steal()</script><p onclick="x()" style="color:red">see ticket #' + str(ticket_id) + "</p>"
        f'<p><a href="{world.zd.url}/agent/tickets/{ticket_id}">our view</a></p>'
        '<iframe src="https://evil.example"></iframe><form action="https://evil.example"><input></form>'
    )
    _html_reply(world, ticket_id, html)
    world.sync()
    message = world.case("acme", case_id).messages[-1]
    assert message.author == "staff"
    # The plain text keeps the structure: no more "Run kubectl get pods:firstseconddocs".
    assert [line for line in message.body.splitlines() if line][:3] == ["Run kubectl get pods:", "first", "second"]
    assert message.html is not None
    assert "<ol><li>first</li><li>second</li></ol>" in message.html
    assert '<a href="https://docs.example.com/pods" rel="noopener noreferrer nofollow">docs</a>' in message.html
    assert f"see case #{case_id}" in message.html  # the same account's ticket, as its case number
    for banned in ("<script", "javascript:", "onclick", "style=", "<iframe", "<form", "<input", world.zd.url,
                   "127.0.0.1"):
        assert banned not in message.html
    with world.store.read() as tx:
        stored = tx.case_messages(case_id)[-1].html
    assert stored == message.html and "steal()" not in (stored or "")


def test_a_pasted_screenshot_is_an_inline_attachment_the_html_points_at(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    shot = _upload(world, "screenshot.png", PNG)
    log = _upload(world, "log.txt", b"the log")
    content_url = shot["attachment"]["content_url"]
    _html_reply(
        world, ticket_id,
        f'<p>This is what I see:</p><img src="{content_url}" alt="screenshot"><img src="https://evil.example/t.png">',
        uploads=[shot["token"], log["token"]],
    )
    # Zendesk lists an inline image only when asked to.
    listed = world.staff.get(f"tickets/{ticket_id}/comments")["comments"][-1]["attachments"]
    assert [a["file_name"] for a in listed] == ["log.txt"]
    world.sync()
    message = world.case("acme", case_id).messages[-1]
    inline = [a for a in message.attachments if a.inline]
    listed_refs = [a for a in message.attachments if not a.inline]
    assert [(a.filename, a.size) for a in inline] == [("screenshot.png", len(PNG))]
    assert [a.filename for a in listed_refs] == ["log.txt"]
    assert message.html == f'<p>This is what I see:</p><img src="attachment:{inline[0].id}" alt="screenshot">'
    assert world.api.attachment("acme", case_id, inline[0].id) == PNG


def test_the_console_users_own_message_has_no_html(world: World) -> None:
    case_id, _ticket_id = world.submit("acme", "alice", body="It <b>broke</b>")
    world.sync()
    first = world.case("acme", case_id).messages[0]
    assert first.author == "user" and first.html is None and first.body == "It <b>broke</b>"


def test_an_end_users_email_keeps_its_html_too(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.email_reply(ticket_id, "alice@acme.test", "Thanks\n\nIt works now")
    world.sync()
    message = world.case("acme", case_id).messages[-1]
    assert message.author == "user"
    assert message.html == "<p>Thanks</p><p>It works now</p>"
