"""Custom ticket statuses and ticket priority in the sandbox, as Zendesk documents them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sync.sandbox import Sandbox
from tests.sandbox.test_fidelity import _nullable, _schema, oas  # noqa: F401  (the OAS fixture)


def _create(admin: requests.Session, zd: Sandbox, **fields: Any) -> requests.Response:
    return admin.post(f"{zd.url}/api/v2/custom_statuses.json", json={"custom_status": fields})


def _ticket(admin: requests.Session, zd: Sandbox, **fields: Any) -> dict[str, Any]:
    r = admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {"subject": "s", "comment": {"body": "b"},
                                                                        **fields}})
    assert r.status_code == 201, r.text
    return r.json()["ticket"]  # type: ignore[no-any-return]


def _put(admin: requests.Session, zd: Sandbox, ticket_id: int, **fields: Any) -> requests.Response:
    return admin.put(f"{zd.url}/api/v2/tickets/{ticket_id}.json", json={"ticket": fields})


def test_every_category_has_an_active_default_and_the_list_filters(zd: Sandbox, admin: requests.Session) -> None:
    listed = admin.get(f"{zd.url}/api/v2/custom_statuses.json").json()["custom_statuses"]
    assert sorted(s["status_category"] for s in listed) == ["hold", "new", "open", "pending", "solved"]
    assert all(s["default"] and s["active"] for s in listed)
    made = _create(admin, zd, status_category="pending", agent_label="Waiting on vendor",
                   end_user_label="Waiting on a third party")
    assert made.status_code == 201
    pending = admin.get(f"{zd.url}/api/v2/custom_statuses.json",
                        params={"status_categories": "pending", "default": "false"}).json()["custom_statuses"]
    assert [(s["agent_label"], s["end_user_label"]) for s in pending] == [("Waiting on vendor",
                                                                           "Waiting on a third party")]
    shown = admin.get(f"{zd.url}/api/v2/custom_statuses/{made.json()['custom_status']['id']}.json").json()
    assert shown["custom_status"]["raw_agent_label"] == "Waiting on vendor"


@pytest.mark.parametrize("fields,field", [
    ({"status_category": "closed", "agent_label": "x"}, "status_category"),
    ({"status_category": "open"}, "agent_label"),
    ({"status_category": "open", "agent_label": "x" * 49}, "agent_label"),
    ({"status_category": "open", "agent_label": "ok", "active": "yes"}, "active"),
])
def test_invalid_custom_statuses_are_422(zd: Sandbox, admin: requests.Session, fields: dict[str, Any],
                                         field: str) -> None:
    r = _create(admin, zd, **fields)
    assert r.status_code == 422 and field in r.json()["details"]


def test_only_admins_create_and_a_default_cannot_be_deactivated(zd: Sandbox, admin: requests.Session) -> None:
    admin.post(f"{zd.url}/api/v2/users.json", json={"user": {"name": "A", "email": "a@s.test", "role": "agent"}})
    agent = requests.Session()
    agent.auth = ("a@s.test/token", zd.agent_token)
    assert _create(agent, zd, status_category="open", agent_label="x").status_code == 403
    r = admin.put(f"{zd.url}/api/v2/custom_statuses/902.json", json={"custom_status": {"active": False}})
    assert r.status_code == 422


def test_custom_status_id_and_status_stay_consistent(zd: Sandbox, admin: requests.Session) -> None:
    engineering = _create(admin, zd, status_category="open", agent_label="Waiting on engineering").json()
    sid = engineering["custom_status"]["id"]
    assert engineering["custom_status"]["end_user_label"] == "Waiting on engineering"  # defaults to the agent's
    t = _ticket(admin, zd)
    assert (t["status"], t["custom_status_id"]) == ("new", 901)
    t = _put(admin, zd, t["id"], custom_status_id=sid).json()["ticket"]
    assert (t["status"], t["custom_status_id"]) == ("open", sid)  # the custom status sets the category
    t = _put(admin, zd, t["id"], priority="low").json()["ticket"]
    assert t["custom_status_id"] == sid  # other changes keep it
    t = _put(admin, zd, t["id"], status="pending").json()["ticket"]
    assert (t["status"], t["custom_status_id"]) == ("pending", 903)  # the status alone: the default
    assert _put(admin, zd, t["id"], custom_status_id=999).status_code == 422
    assert _put(admin, zd, t["id"], custom_status_id=sid, status="solved").status_code == 422
    admin.put(f"{zd.url}/api/v2/custom_statuses/{sid}.json", json={"custom_status": {"active": False}})
    assert _put(admin, zd, t["id"], custom_status_id=sid).status_code == 422  # inactive


@pytest.mark.parametrize("priority", ["low", "normal", "high", "urgent", None])
def test_valid_priorities(zd: Sandbox, admin: requests.Session, priority: str | None) -> None:
    assert _ticket(admin, zd, priority=priority)["priority"] == priority


@pytest.mark.parametrize("priority", ["HIGH", "critical", "", 2])
def test_an_invalid_priority_is_422_as_on_zendesk(zd: Sandbox, admin: requests.Session, priority: object) -> None:
    r = admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {"subject": "s", "comment": {"body": "b"},
                                                                        "priority": priority}})
    assert r.status_code == 422
    assert r.json()["details"]["base"][0]["description"] == "Priority: is invalid"
    t = _ticket(admin, zd)
    assert _put(admin, zd, t["id"], priority=priority).status_code == 422


def test_custom_status_answers_match_the_oas(zd: Sandbox, admin: requests.Session,
                                             oas: dict[str, Any]) -> None:  # noqa: F811
    jsonschema = pytest.importorskip("jsonschema")
    body = admin.get(f"{zd.url}/api/v2/custom_statuses.json").json()
    jsonschema.validate(body, _nullable(_schema(oas, "CustomStatusesResponse")))
    one = _create(admin, zd, status_category="hold", agent_label="Parked").json()
    jsonschema.validate(one, _nullable(_schema(oas, "CustomStatusResponse")))
