"""The sandbox's rich text, redaction and suspended-ticket answers have the shapes of Zendesk's OAS schemas."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sync.sandbox import Sandbox
from tests.sandbox.test_fidelity import _nullable, _schema, oas

__all__ = ["oas"]


def _ticket(admin: requests.Session, zd: Sandbox, **comment: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    u = admin.post(f"{zd.url}/api/v2/users.json", json={"user": {"name": "R", "email": "r@x.test"}}).json()["user"]
    t = admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {
        "subject": "s", "comment": comment, "requester_id": u["id"]}}).json()["ticket"]
    return t, u


def _validate(oas: dict[str, Any], body: Any, schema: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(body, _nullable(_schema(oas, schema)))


def test_html_body_is_kept_and_body_is_its_text(zd: Sandbox, admin: requests.Session) -> None:
    t, _u = _ticket(admin, zd, html_body="<p>Run <code>ls</code>:</p><ul><li>one</li><li>two</li></ul>")
    [c] = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/comments.json").json()["comments"]
    assert c["html_body"] == (
        '<div class="zd-comment" dir="auto"><p>Run <code>ls</code>:</p><ul><li>one</li><li>two</li></ul></div>'
    )
    assert [line for line in c["body"].splitlines() if line] == ["Run ls:", "one", "two"]


def test_redaction_answers(zd: Sandbox, admin: requests.Session, oas: dict[str, Any]) -> None:
    up = admin.post(f"{zd.url}/api/v2/uploads.json", params={"filename": "a.txt"}, data=b"abc",
                    headers={"Content-Type": "text/plain"}).json()["upload"]
    t, _u = _ticket(admin, zd, body="pin 1234", uploads=[up["token"]])
    [c] = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/comments.json").json()["comments"]
    r = admin.put(f"{zd.url}/api/v2/tickets/{t['id']}/comments/{c['id']}/redact.json", json={"text": "1234"})
    assert r.status_code == 200 and r.json()["comment"]["body"] == "pin ▇▇▇▇"
    _validate(oas, r.json(), "TicketCommentResponse")
    aid = c["attachments"][0]["id"]
    r = admin.put(f"{zd.url}/api/v2/tickets/{t['id']}/comments/{c['id']}/attachments/{aid}/redact.json", json={})
    assert r.status_code == 200 and (r.json()["attachment"]["file_name"], r.json()["attachment"]["size"]) == (
        "redacted.txt", 0)
    _validate(oas, r.json(), "AttachmentResponse")
    audits = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/audits.json").json()["audits"]
    kinds = [e["type"] for a in audits for e in a["events"]]
    assert "CommentRedactionEvent" in kinds and "AttachmentRedactionEvent" in kinds
    r = admin.put(f"{zd.url}/api/v2/comment_redactions/{c['id']}.json", json={"ticket_id": t["id"] + 999})
    assert r.status_code == 404


def test_suspended_tickets_list_show_recover_delete(zd: Sandbox, admin: requests.Session, oas: dict[str, Any]) -> None:
    t, _u = _ticket(admin, zd, body="hello")
    for text in ("first", "second"):
        r = admin.post(f"{zd.url}/__sandbox/tickets/{t['id']}/email_reply", json={"from": "other@x.test", "body": text})
        assert r.status_code == 201 and r.json()["suspended_ticket"]["cause_id"] == 6
    listed = admin.get(f"{zd.url}/api/v2/suspended_tickets.json").json()
    _validate(oas, listed, "SuspendedTicketsResponse")
    first, second = listed["suspended_tickets"]
    shown = admin.get(f"{zd.url}/api/v2/suspended_tickets/{first['id']}.json").json()
    # The OAS is not consistent about the show answer (an array under ``suspended_ticket``, or the list's
    # shape): the sandbox answers one object, as Zendesk's single-resource endpoints do.
    _validate(oas, shown["suspended_ticket"], "SuspendedTicket")
    assert shown["suspended_ticket"]["content"] == "first"
    r = admin.put(f"{zd.url}/api/v2/suspended_tickets/{first['id']}/recover.json")
    assert r.status_code == 200 and r.json()["ticket"][0]["id"] == t["id"]
    comments = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/comments.json").json()["comments"]
    assert (comments[-1]["body"], comments[-1]["public"]) == ("first", True)
    assert admin.delete(f"{zd.url}/api/v2/suspended_tickets/{second['id']}.json").status_code == 204
    assert admin.get(f"{zd.url}/api/v2/suspended_tickets.json").json()["suspended_tickets"] == []
    assert admin.get(f"{zd.url}/api/v2/suspended_tickets/{second['id']}.json").status_code == 404
