"""Behaviour of the sandbox over real HTTP: auth, tickets, rules, notifications, exports, faults."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import requests

from sync.sandbox import Sandbox


def _session(zd: Sandbox, email: str) -> requests.Session:
    s = requests.Session()
    s.auth = (f"{email}/token", zd.agent_token)
    return s


def _end_user(admin: requests.Session, zd: Sandbox, email: str) -> dict[str, Any]:
    r = admin.post(f"{zd.url}/api/v2/users/create_or_update.json",
                   json={"user": {"email": email, "name": email.split("@")[0], "verified": True}})
    assert r.status_code in (200, 201)
    return r.json()["user"]  # type: ignore[no-any-return]


def _ticket(admin: requests.Session, zd: Sandbox, requester_id: int, **extra: Any) -> dict[str, Any]:
    body = {"ticket": {"subject": "Help", "comment": {"body": "first", "public": True},
                       "requester_id": requester_id, **extra}}
    r = admin.post(f"{zd.url}/api/v2/tickets.json", json=body)
    assert r.status_code == 201, r.text
    return r.json()["ticket"]  # type: ignore[no-any-return]


def test_auth_and_me(zd: Sandbox, admin: requests.Session) -> None:
    r = admin.get(f"{zd.url}/api/v2/users/me")
    assert r.status_code == 200 and r.json()["user"]["role"] == "admin"
    assert r.headers["X-Rate-Limit"] == "700"
    bad = requests.get(f"{zd.url}/api/v2/users/me.json", auth=(f"{zd.agent_email}/token", "nope"))
    assert bad.status_code == 401 and bad.json() == {"error": "Couldn't authenticate you"}


def test_agent_created_over_http_can_use_the_account_token(zd: Sandbox, admin: requests.Session) -> None:
    r = admin.post(f"{zd.url}/api/v2/users.json", json={"user": {"name": "A", "email": "a@x.test", "role": "agent"}})
    assert r.status_code == 201
    agent = _session(zd, "a@x.test")
    assert agent.get(f"{zd.url}/api/v2/users/me.json").json()["user"]["role"] == "agent"
    end = _end_user(admin, zd, "u@x.test")
    assert _session(zd, "u@x.test").get(f"{zd.url}/api/v2/tickets/1.json").status_code == 403
    assert end["verified"] is True


def test_ticket_create_idempotency_and_key_set(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    body = {"ticket": {"subject": "S", "comment": {"body": "b"}, "requester_id": u["id"], "external_id": "c:1"}}
    h = {"Idempotency-Key": "case-1"}
    first = admin.post(f"{zd.url}/api/v2/tickets.json", json=body, headers=h)
    again = admin.post(f"{zd.url}/api/v2/tickets.json", json=body, headers=h)
    assert first.headers["x-idempotency-lookup"] == "miss" and again.headers["x-idempotency-lookup"] == "hit"
    assert first.json() == again.json()
    other = admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {**body["ticket"], "subject": "X"}}, headers=h)
    assert other.status_code == 400 and other.json()["error"] == "IdempotentRequestError"
    t = first.json()["ticket"]
    for key in ("generated_timestamp", "followup_ids", "email_cc_ids", "custom_status_id", "from_messaging_channel"):
        assert key in t
    assert set(first.json()) == {"ticket", "audit"}
    found = admin.get(f"{zd.url}/api/v2/tickets.json", params={"external_id": "c:1"}).json()["tickets"]
    assert [x["id"] for x in found] == [t["id"]]


def test_status_rules(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    t = _ticket(admin, zd, u["id"])
    url = f"{zd.url}/api/v2/tickets/{t['id']}.json"
    r = admin.put(url, json={"ticket": {"status": "solved"}})
    assert r.status_code == 422 and r.json()["error"] == "RecordInvalid"
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    r = admin.put(url, json={"ticket": {"assignee_id": me["id"]}})
    assert r.json()["ticket"]["status"] == "open"
    assert admin.put(url, json={"ticket": {"status": "new"}}).status_code == 422
    admin.put(url, json={"ticket": {"status": "closed"}})
    r = admin.put(url, json={"ticket": {"comment": {"body": "late"}}})
    assert r.status_code == 422
    assert r.json()["details"]["status"][0]["description"] == "Status: closed prevents ticket update"


def test_safe_update_conflict(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    t = _ticket(admin, zd, u["id"])
    url = f"{zd.url}/api/v2/tickets/{t['id']}.json"
    zd.advance_clock(5)
    admin.put(url, json={"ticket": {"subject": "changed"}})
    r = admin.put(url, json={"ticket": {"status": "pending", "safe_update": True, "updated_stamp": t["updated_at"]}})
    assert r.status_code == 409 and r.json()["error"] == "UpdateConflict"


def test_end_user_reply_reopens_and_notifications(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    cc = _end_user(admin, zd, "cc@x.test")
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    t = _ticket(admin, zd, u["id"], email_ccs=[{"user_email": "cc@x.test", "action": "put"}])
    assert t["email_cc_ids"] == [cc["id"]]
    url = f"{zd.url}/api/v2/tickets/{t['id']}.json"
    admin.put(url, json={"ticket": {"assignee_id": me["id"], "status": "pending",
                                    "comment": {"body": "internal", "public": False}}})
    admin.put(url, json={"ticket": {"comment": {"body": "as requester", "public": True, "author_id": u["id"]}}})
    emails = admin.get(f"{zd.url}/__sandbox/emails").json()["emails"]
    assert [e["body"] for e in emails] == ["first", "as requester"]
    assert sorted(emails[1]["to"]) == ["cc@x.test", "u@x.test"]
    # The agent's update with author_id = requester does not reopen (the agent is the updater) ...
    assert admin.get(url).json()["ticket"]["status"] == "pending"
    # ... but the requester's own email reply does, and is not sent back to them.
    r = admin.post(f"{zd.url}/__sandbox/tickets/{t['id']}/email_reply", json={"from": "u@x.test", "body": "me"})
    assert r.status_code == 201 and r.json()["ticket"]["status"] == "open"
    last = admin.get(f"{zd.url}/__sandbox/emails").json()["emails"][-1]
    assert last["to"] == ["cc@x.test"]


def test_impersonation_via_requests_api(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    t = _ticket(admin, zd, u["id"], assignee_id=me["id"], status="solved")
    client = admin.post(f"{zd.url}/api/v2/oauth/clients.json", json={"client": {"name": "c", "identifier": "c"}})
    tok = admin.post(f"{zd.url}/api/v2/oauth/tokens.json",
                     json={"token": {"client_id": client.json()["client"]["id"], "scopes": ["impersonate", "write"]}})
    bearer = {"Authorization": f"Bearer {tok.json()['token']['full_token']}", "X-On-Behalf-Of": "u@x.test"}
    cur = requests.get(f"{zd.url}/api/v2/oauth/tokens/current.json", headers={"Authorization": bearer["Authorization"]})
    assert "impersonate" in cur.json()["token"]["scopes"]
    r = requests.put(f"{zd.url}/api/v2/requests/{t['id']}.json", headers=bearer,
                     json={"request": {"comment": {"body": "still broken"}}})
    assert r.status_code == 200 and r.json()["request"]["status"] == "open"
    comments = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/comments.json").json()["comments"]
    assert comments[-1]["author_id"] == u["id"]
    assert all(e["body"] != "still broken" for e in admin.get(f"{zd.url}/__sandbox/emails").json()["emails"])
    agent_target = dict(bearer, **{"X-On-Behalf-Of": zd.agent_email})
    assert requests.get(f"{zd.url}/api/v2/requests/{t['id']}.json", headers=agent_target).status_code == 403


def test_followup_of_closed_ticket(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    t = _ticket(admin, zd, u["id"], tags=["console_case"], assignee_id=me["id"])
    admin.put(f"{zd.url}/api/v2/tickets/{t['id']}.json", json={"ticket": {"status": "closed"}})
    r = admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {
        "via_followup_source_id": t["id"], "comment": {"body": "again"}, "requester_id": u["id"]}})
    f = r.json()["ticket"]
    assert f["via"]["source"]["rel"] == "follow_up" and f["via"]["source"]["from"]["ticket_id"] == t["id"]
    assert f["tags"] == ["console_case"]
    assert admin.get(f"{zd.url}/api/v2/tickets/{t['id']}.json").json()["ticket"]["followup_ids"] == [f["id"]]
    rel = admin.get(f"{zd.url}/api/v2/tickets/{f['id']}/related.json").json()
    assert rel["ticket_related"]["followup_source_ids"] == [t["id"]]
    r = admin.post(f"{zd.url}/__sandbox/tickets/{t['id']}/email_reply", json={"from": "u@x.test", "body": "hey"})
    assert r.json()["ticket"]["via"]["channel"] == "closed_ticket"


def test_auto_close_on_sandbox_clock(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    t = _ticket(admin, zd, u["id"], assignee_id=me["id"], status="solved")
    r = admin.post(f"{zd.url}/__sandbox/clock/advance", json={"seconds": 97 * 3600})
    assert r.json()["offset_s"] >= 97 * 3600
    got = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}.json").json()["ticket"]
    assert got["status"] == "closed"
    audits = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/audits.json").json()["audits"]
    assert audits[-1]["via"]["channel"] == "rule"


def test_metadata_comments_uploads_and_make_private(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    t = _ticket(admin, zd, u["id"])
    up = admin.post(f"{zd.url}/api/v2/uploads.json", params={"filename": "a.txt"}, data=b"hello",
                    headers={"Content-Type": "text/plain"})
    token = up.json()["upload"]["token"]
    r = admin.put(f"{zd.url}/api/v2/tickets/{t['id']}.json", json={"ticket": {
        "comment": {"body": "see file", "uploads": [token], "public": True}, "metadata": {"console_message": "m1"}}})
    assert r.json()["audit"]["metadata"]["custom"] == {"console_message": "m1"}
    page = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/comments.json", params={"page[size]": 1}).json()
    assert page["meta"]["has_more"] is True and page["links"]["next"].startswith(zd.url)
    page2 = admin.get(page["links"]["next"]).json()
    c = page2["comments"][0]
    assert c["metadata"]["custom"] == {"console_message": "m1"}
    assert admin.get(c["attachments"][0]["content_url"]).content == b"hello"
    r = admin.put(f"{zd.url}/api/v2/tickets/{t['id']}/comments/{c['id']}/make_private.json")
    assert r.status_code == 200
    again = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/comments.json").json()["comments"]
    assert again[1]["public"] is False


def test_make_private_is_an_audit_in_the_ticket_and_the_event_export(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    t = _ticket(admin, zd, u["id"])
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    zd.advance_clock(5)
    comments = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/comments.json").json()["comments"]
    cid = comments[0]["id"]
    r = admin.put(f"{zd.url}/api/v2/tickets/{t['id']}/comments/{cid}/make_private.json")
    assert r.status_code == 200
    audits = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/audits.json").json()["audits"]
    last = audits[-1]
    assert last["author_id"] == me["id"] and last["via"]["channel"] == "api"
    [event] = last["events"]
    assert event["type"] == "CommentPrivacyChange"
    assert (event["comment_id"], event["public"]) == (cid, False) and isinstance(event["id"], int)
    ticket = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}.json").json()["ticket"]
    assert ticket["updated_at"] == last["created_at"]
    # Making it private again changes nothing: no audit.
    admin.put(f"{zd.url}/api/v2/tickets/{t['id']}/comments/{cid}/make_private.json")
    assert len(admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/audits.json").json()["audits"]) == len(audits)
    zd.advance_clock(120)
    for include in ("comment_events", None):
        params: dict[str, str | int] = {"start_time": 0, **({"include": include} if include else {})}
        ev = admin.get(f"{zd.url}/api/v2/incremental/ticket_events.json", params=params).json()
        [mine] = [e for e in ev["ticket_events"] if e["id"] == last["id"]]
        assert mine["ticket_id"] == t["id"] and mine["updater_id"] == me["id"] and mine["via"] == "api"
        [child] = mine["child_events"]
        assert (child["event_type"], child["type"], child["comment_id"], child["public"]) == (
            "CommentPrivacyChange", "CommentPrivacyChange", cid, False)
        assert child["via"]["channel"] == "api"
    exported = admin.get(f"{zd.url}/api/v2/incremental/tickets/cursor.json", params={"start_time": 0}).json()
    [snap] = [x for x in exported["tickets"] if x["id"] == t["id"]]
    assert snap["generated_timestamp"] == mine["timestamp"]


def test_incremental_exports_and_their_limit(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    t1 = _ticket(admin, zd, u["id"])
    t2 = _ticket(admin, zd, u["id"])
    r = admin.get(f"{zd.url}/api/v2/incremental/tickets/cursor.json", params={"start_time": 0})
    assert r.json()["tickets"] == []  # the most recent minute is excluded
    zd.advance_clock(120)
    admin.delete(f"{zd.url}/api/v2/tickets/{t2['id']}.json")
    zd.advance_clock(120)
    r = admin.get(f"{zd.url}/api/v2/incremental/tickets/cursor.json", params={"start_time": 0, "per_page": 1})
    page = r.json()
    assert [x["id"] for x in page["tickets"]] == [t1["id"]] and page["end_of_stream"] is False
    page = admin.get(page["after_url"]).json()
    assert page["tickets"][0]["status"] == "deleted" and page["end_of_stream"] is True
    ev = admin.get(f"{zd.url}/api/v2/incremental/ticket_events.json",
                   params={"start_time": "0", "include": "comment_events"}).json()
    kinds = {c["event_type"] for e in ev["ticket_events"] for c in e["child_events"]}
    assert "Comment" in kinds
    codes = [admin.get(f"{zd.url}/api/v2/incremental/tickets/cursor.json",
                       params={"start_time": 0}).status_code for _ in range(10)]
    assert codes[-1] == 429


def test_update_many_jobs_and_merge(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    a, b = _ticket(admin, zd, u["id"]), _ticket(admin, zd, u["id"], assignee_id=me["id"], status="closed")
    r = admin.put(f"{zd.url}/api/v2/tickets/update_many.json",
                  json={"tickets": [{"id": a["id"], "additional_tags": ["x"]}, {"id": b["id"], "subject": "n"}]})
    job = r.json()["job_status"]
    assert job["status"] == "queued"
    zd.run_jobs()
    job = admin.get(job["url"]).json()["job_status"]
    assert job["status"] == "completed"
    assert [x.get("success", False) for x in job["results"]] == [True, False]
    c = _ticket(admin, zd, u["id"])
    admin.post(f"{zd.url}/api/v2/tickets/{c['id']}/merge.json", json={"ids": [a["id"]]})
    zd.run_jobs()
    merged = admin.get(f"{zd.url}/api/v2/tickets/{a['id']}.json").json()["ticket"]
    assert merged["status"] == "closed" and "closed_by_merge" in merged["tags"]
    assert admin.get(f"{zd.url}/api/v2/tickets/show_many.json", params={"ids": ",".join(["1"] * 101)}).json()[
        "error"] == "TooManyValues"


def test_cc_limit_and_tags_endpoint(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    t = _ticket(admin, zd, u["id"])
    many = [{"user_email": f"c{i}@x.test", "action": "put"} for i in range(49)]
    r = admin.put(f"{zd.url}/api/v2/tickets/{t['id']}.json", json={"ticket": {"email_ccs": many}})
    assert r.status_code == 422
    r = admin.put(f"{zd.url}/api/v2/tickets/{t['id']}/tags.json", json={"tags": ["a", "b"]})
    assert r.json()["tags"] == ["a", "b"]
    r = admin.delete(f"{zd.url}/api/v2/tickets/{t['id']}/tags.json", json={"tags": ["a"]})
    assert r.json()["tags"] == ["b"]


def test_identities_and_orgs(zd: Sandbox, admin: requests.Session) -> None:
    org = admin.post(f"{zd.url}/api/v2/organizations/create_or_update.json",
                     json={"organization": {"name": "Acme", "external_id": "console-account:1"}})
    assert org.status_code == 201
    again = admin.post(f"{zd.url}/api/v2/organizations/create_or_update.json",
                       json={"organization": {"name": "Acme 2", "external_id": "console-account:1"}})
    assert again.status_code == 200 and again.json()["organization"]["name"] == "Acme 2"
    u = _end_user(admin, zd, "old@x.test")
    oid = org.json()["organization"]["id"]
    admin.post(f"{zd.url}/api/v2/organization_memberships.json",
               json={"organization_membership": {"user_id": u["id"], "organization_id": oid}})
    ident = admin.post(f"{zd.url}/api/v2/users/{u['id']}/identities.json",
                       json={"identity": {"type": "email", "value": "new@x.test"}}).json()["identity"]
    admin.put(f"{zd.url}/api/v2/users/{u['id']}/identities/{ident['id']}/make_primary.json")
    assert admin.get(f"{zd.url}/api/v2/users/{u['id']}.json").json()["user"]["email"] == "new@x.test"
    found = admin.get(f"{zd.url}/api/v2/users/search.json", params={"query": "email:new@x.test"}).json()["users"]
    assert [x["id"] for x in found] == [u["id"]]
    many = admin.get(f"{zd.url}/api/v2/organizations/show_many.json",
                     params={"external_ids": "console-account:1"}).json()
    assert many["organizations"][0]["name"] == "Acme 2"


def test_rate_limit_429(zd: Sandbox) -> None:
    with Sandbox(requests_per_minute=3) as small:
        s = _session(small, small.agent_email)
        codes = [s.get(f"{small.url}/api/v2/users/me.json") for _ in range(4)]
        assert [c.status_code for c in codes] == [200, 200, 200, 429]
        assert int(codes[-1].headers["Retry-After"]) > 0
        assert s.get(f"{small.url}/__sandbox/stats").json()["total"] == 4
        small.advance_clock(60)
        assert s.get(f"{small.url}/api/v2/users/me.json").status_code == 200
    with Sandbox(rate_limits=False, requests_per_minute=1) as free:
        s = _session(free, free.agent_email)
        assert all(s.get(f"{free.url}/api/v2/users/me.json").ok for _ in range(3))


def test_faults_reset_and_drop_after_commit(zd: Sandbox, admin: requests.Session) -> None:
    u = _end_user(admin, zd, "u@x.test")
    admin.post(f"{zd.url}/__sandbox/faults", json={"seed": 1, "rules": [
        {"path": "^/api/v2/tickets$", "method": "POST", "drop_after_commit": 1.0}]})
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{zd.url}/api/v2/tickets.json", auth=admin.auth,
                      json={"ticket": {"subject": "x", "comment": {"body": "y"}, "requester_id": u["id"]}})
    admin.post(f"{zd.url}/__sandbox/faults", json={"rules": [{"path": "users/me", "reset": 1.0}]})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{zd.url}/api/v2/users/me.json", auth=admin.auth)
    admin.post(f"{zd.url}/__sandbox/faults", json={"rules": [{"path": "users/me", "error_503": 1.0}]})
    assert requests.get(f"{zd.url}/api/v2/users/me.json", auth=admin.auth).status_code == 503
    admin.post(f"{zd.url}/__sandbox/faults", json={})
    assert len(admin.get(f"{zd.url}/api/v2/tickets.json").json()["tickets"]) == 1  # committed


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, str], bytes]] = []
    event = threading.Event()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
        _Receiver.event.set()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_webhook_signed_delivery(zd: Sandbox, admin: requests.Session) -> None:
    srv = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        w = admin.post(f"{zd.url}/api/v2/webhooks.json", json={"webhook": {
            "name": "w", "endpoint": f"http://127.0.0.1:{srv.server_address[1]}/hook", "http_method": "POST",
            "request_format": "json", "status": "active",
            "subscriptions": ["zen:event-type:ticket.comment_added"]}}).json()["webhook"]
        secret = admin.get(f"{zd.url}/api/v2/webhooks/{w['id']}/signing_secret.json").json()["signing_secret"]
        u = _end_user(admin, zd, "u@x.test")
        _ticket(admin, zd, u["id"])
        assert _Receiver.event.wait(10)
        headers, body = _Receiver.got[0]
        ts = headers["x-zendesk-webhook-signature-timestamp"]
        expected = base64.b64encode(hmac.new(secret["secret"].encode(), ts.encode() + body, hashlib.sha256).digest())
        assert headers["x-zendesk-webhook-signature"] == expected.decode()
        payload = json.loads(body)
        assert payload["type"] == "zen:event-type:ticket.comment_added"
        assert payload["zendesk_event_version"] == "2022-11-06"
    finally:
        srv.shutdown()
