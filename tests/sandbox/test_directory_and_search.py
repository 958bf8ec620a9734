"""Users and organizations exports and search, as an independent Zendesk client uses them."""

from __future__ import annotations

import requests

from sync.sandbox import Sandbox


def _org_and_users(zd: Sandbox, admin: requests.Session) -> tuple[int, int, int]:
    org = admin.post(f"{zd.url}/api/v2/organizations.json", json={"organization": {"name": "Acme"}}).json()
    a = zd.create_end_user("ann@acme.test", "Ann")
    b = zd.create_end_user("bob@acme.test", "Bob")
    return org["organization"]["id"], a["id"], b["id"]


def test_users_cursor_export_pages_through_every_user(zd: Sandbox, admin: requests.Session) -> None:
    _org_and_users(zd, admin)
    zd.advance_clock(61)
    url, params, seen = f"{zd.url}/api/v2/incremental/users/cursor.json", {"start_time": "0", "per_page": "1"}, []
    for _ in range(10):
        page = admin.get(url, params=params).json()
        seen += [u["email"] for u in page["users"]]
        if page["end_of_stream"]:
            break
        url, params = page["after_url"], {}
    assert sorted(seen) == sorted([zd.agent_email, "ann@acme.test", "bob@acme.test"])


def test_time_based_exports_exclude_the_last_minute(zd: Sandbox, admin: requests.Session) -> None:
    _org_and_users(zd, admin)
    recent = admin.get(f"{zd.url}/api/v2/incremental/organizations.json", params={"start_time": "0"}).json()
    assert recent["organizations"] == [] and recent["end_of_stream"] is True
    zd.advance_clock(61)
    page = admin.get(f"{zd.url}/api/v2/incremental/organizations.json", params={"start_time": "0"}).json()
    assert [o["name"] for o in page["organizations"]] == ["Acme"] and page["count"] == 1
    users = admin.get(f"{zd.url}/api/v2/incremental/users.json", params={"start_time": "0"}).json()
    assert {u["email"] for u in users["users"]} >= {"ann@acme.test", "bob@acme.test"}
    assert "start_time=" in users["next_page"] and isinstance(users["end_time"], int)


def test_search_answers_the_common_query_forms(zd: Sandbox, admin: requests.Session) -> None:
    _, ann, bob = _org_and_users(zd, admin)
    for requester, subject, tags in ((ann, "Printer jam", ["hw"]), (bob, "Login fails", ["sw"])):
        admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {
            "subject": subject, "requester_id": requester, "tags": tags, "comment": {"body": subject}}})

    def found(query: str) -> list[tuple[str, str]]:
        r = admin.get(f"{zd.url}/api/v2/search.json", params={"query": query})
        assert r.status_code == 200, r.text
        return [(x["result_type"], x.get("subject") or x.get("name")) for x in r.json()["results"]]

    assert found("type:ticket status:new") == [("ticket", "Printer jam"), ("ticket", "Login fails")]
    assert found("type:ticket status<solved tags:hw") == [("ticket", "Printer jam")]
    assert found("type:ticket requester:bob@acme.test") == [("ticket", "Login fails")]
    assert found('type:ticket "login"') == [("ticket", "Login fails")]
    assert found("type:user email:ann@acme.test") == [("user", "Ann")]
    assert found("type:organization Acme") == [("organization", "Acme")]
    assert admin.get(f"{zd.url}/api/v2/search.json").status_code == 400
