"""Deleting and permanently deleting users, as Zendesk documents them (docs/sandbox-conformance.md)."""

from __future__ import annotations

from typing import Any

import requests

from sync.sandbox import Sandbox


def _user(zd: Sandbox, admin: requests.Session, email: str = "gone@example.test") -> dict[str, Any]:
    r = admin.post(f"{zd.url}/api/v2/users.json", json={"user": {"name": "Gone Person", "email": email}})
    assert r.status_code == 201
    user: dict[str, Any] = r.json()["user"]
    return user


def test_delete_then_permanently_delete(zd: Sandbox, admin: requests.Session) -> None:
    user = _user(zd, admin)
    ticket = admin.post(
        f"{zd.url}/api/v2/tickets.json",
        json={"ticket": {"subject": "Hi", "comment": {"body": "words of the user"}, "requester_id": user["id"]}},
    ).json()["ticket"]
    # Permanent deletion needs a (soft) deletion first.
    assert admin.delete(f"{zd.url}/api/v2/deleted_users/{user['id']}.json").status_code == 404

    r = admin.delete(f"{zd.url}/api/v2/users/{user['id']}.json")
    assert r.status_code == 200 and r.json()["user"]["active"] is False
    shown = admin.get(f"{zd.url}/api/v2/deleted_users/{user['id']}.json").json()["deleted_user"]
    assert (shown["name"], shown["email"], shown["active"]) == ("Gone Person", "gone@example.test", False)
    assert admin.get(f"{zd.url}/api/v2/deleted_users/count.json").json()["count"]["value"] == 1

    r = admin.delete(f"{zd.url}/api/v2/deleted_users/{user['id']}.json")
    assert r.status_code == 200 and r.json()["deleted_user"]["id"] == user["id"]
    assert admin.get(f"{zd.url}/api/v2/deleted_users/{user['id']}.json").status_code == 404
    assert admin.delete(f"{zd.url}/api/v2/deleted_users/{user['id']}.json").status_code == 404
    [listed] = admin.get(f"{zd.url}/api/v2/deleted_users.json").json()["deleted_users"]
    assert (listed["name"], listed["email"], listed["phone"]) == ("Permanently Deleted User", None, None)
    # The identity is gone (the address can be used again); the ticket and its comment stay.
    assert admin.get(f"{zd.url}/api/v2/users/search.json", params={"query": "gone@example.test"}).json()["users"] == []
    assert _user(zd, admin)["id"] != user["id"]
    kept = admin.get(f"{zd.url}/api/v2/tickets/{ticket['id']}/comments.json").json()["comments"]
    assert [c["body"] for c in kept] == ["words of the user"]
    assert admin.get(f"{zd.url}/api/v2/tickets/{ticket['id']}.json").json()["ticket"]["requester_id"] == user["id"]


def test_deleting_a_deleted_user_again_is_not_found_and_the_owner_cannot_be_deleted(
    zd: Sandbox, admin: requests.Session
) -> None:
    user = _user(zd, admin)
    assert admin.delete(f"{zd.url}/api/v2/users/{user['id']}.json").status_code == 200
    assert admin.delete(f"{zd.url}/api/v2/users/{user['id']}.json").status_code == 404
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    assert admin.delete(f"{zd.url}/api/v2/users/{me['id']}.json").status_code == 403


def test_only_admins_permanently_delete(zd: Sandbox, admin: requests.Session) -> None:
    agent = admin.post(
        f"{zd.url}/api/v2/users.json", json={"user": {"name": "Agent", "email": "agent2@example.test", "role": "agent"}}
    ).json()["user"]
    user = _user(zd, admin)
    assert admin.delete(f"{zd.url}/api/v2/users/{user['id']}.json").status_code == 200
    as_agent = requests.Session()
    as_agent.auth = (f"{agent['email']}/token", zd.agent_token)
    assert as_agent.delete(f"{zd.url}/api/v2/deleted_users/{user['id']}.json").status_code == 403
