"""``followers`` and ``collaborator_ids`` writes take effect; ``is_public`` follows the comments' privacy."""

from __future__ import annotations

from typing import Any

import requests

from sync.sandbox import Sandbox


def _ticket(zd: Sandbox, admin: requests.Session) -> dict[str, Any]:
    user = zd.create_end_user("req@x.test")
    r = admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {
        "subject": "s", "requester_id": user["id"], "comment": {"body": "b", "public": True}}})
    body: dict[str, Any] = r.json()["ticket"]
    return body


def _update(zd: Sandbox, admin: requests.Session, tid: int, **fields: Any) -> requests.Response:
    return admin.put(f"{zd.url}/api/v2/tickets/{tid}.json", json={"ticket": fields})


def test_followers_are_put_and_deleted(zd: Sandbox, admin: requests.Session) -> None:
    t = _ticket(zd, admin)
    email, _ = zd.create_agent("follow@support.test")
    r = _update(zd, admin, t["id"], followers=[{"user_email": email, "action": "put"}])
    assert r.status_code == 200, r.text
    agent = admin.get(f"{zd.url}/api/v2/users/search.json", params={"query": email}).json()["users"][0]
    assert r.json()["ticket"]["follower_ids"] == [agent["id"]]
    r = _update(zd, admin, t["id"], followers=[{"user_id": agent["id"], "action": "delete"}])
    assert r.json()["ticket"]["follower_ids"] == []


def test_an_end_user_cannot_follow(zd: Sandbox, admin: requests.Session) -> None:
    t = _ticket(zd, admin)
    zd.create_end_user("eu@x.test")
    r = _update(zd, admin, t["id"], followers=[{"user_email": "eu@x.test"}])
    assert (r.status_code, r.json()["error"]) == (422, "RecordInvalid")


def test_collaborator_ids_set_the_ccs(zd: Sandbox, admin: requests.Session) -> None:
    t = _ticket(zd, admin)
    a, b = zd.create_end_user("a@x.test"), zd.create_end_user("b@x.test")
    r = _update(zd, admin, t["id"], collaborator_ids=[a["id"], b["id"]])
    assert r.status_code == 200 and r.json()["ticket"]["collaborator_ids"] == [a["id"], b["id"]]
    r = _update(zd, admin, t["id"], collaborator_ids=[b["id"]])
    assert r.json()["ticket"]["email_cc_ids"] == [b["id"]]


def test_is_public_follows_make_private(zd: Sandbox, admin: requests.Session) -> None:
    t = _ticket(zd, admin)
    (first,) = admin.get(f"{zd.url}/api/v2/tickets/{t['id']}/comments.json").json()["comments"]
    assert t["is_public"] is True
    admin.put(f"{zd.url}/api/v2/tickets/{t['id']}/comments/{first['id']}/make_private.json")
    assert admin.get(f"{zd.url}/api/v2/tickets/{t['id']}.json").json()["ticket"]["is_public"] is False
    _update(zd, admin, t["id"], comment={"body": "public again", "public": True})
    assert admin.get(f"{zd.url}/api/v2/tickets/{t['id']}.json").json()["ticket"]["is_public"] is True
