"""A ticket's organization is one of its requester's organizations (OAS ``TicketUpdateInput.organization_id``:
"You can only specify the ID of an organization associated with the requester"); a requester change brings
the new requester's default organization. Sources and the unconfirmed details: docs/sandbox-conformance.md."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sync.sandbox import Sandbox


def _org(zd: Sandbox, admin: requests.Session, name: str) -> int:
    r = admin.post(f"{zd.url}/api/v2/organizations.json", json={"organization": {"name": name}})
    assert r.status_code == 201, r.text
    return int(r.json()["organization"]["id"])


def _member(zd: Sandbox, admin: requests.Session, email: str, *orgs: int) -> int:
    user = zd.create_end_user(email)
    for org in orgs:
        r = admin.post(f"{zd.url}/api/v2/organization_memberships.json",
                       json={"organization_membership": {"user_id": user["id"], "organization_id": org}})
        assert r.status_code == 201, r.text
    return int(user["id"])


def _create(zd: Sandbox, admin: requests.Session, **fields: Any) -> requests.Response:
    return admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {
        "subject": "s", "comment": {"body": "b", "public": True}, **fields}})


def _update(zd: Sandbox, admin: requests.Session, tid: int, **fields: Any) -> requests.Response:
    return admin.put(f"{zd.url}/api/v2/tickets/{tid}.json", json={"ticket": fields})


def _refused_organization(r: requests.Response) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "RecordInvalid"
    assert body["details"]["organization_id"][0]["error"] == "InvalidValue"


@pytest.fixture()
def orgs(zd: Sandbox, admin: requests.Session) -> tuple[int, int]:
    return _org(zd, admin, "Acme"), _org(zd, admin, "Globex")


def test_a_new_ticket_gets_the_requesters_default_organization(zd: Sandbox, admin: requests.Session,
                                                                orgs: tuple[int, int]) -> None:
    acme, globex = orgs
    both = _member(zd, admin, "both@x.test", acme, globex)  # the first membership is the default
    none = _member(zd, admin, "none@x.test")
    assert _create(zd, admin, requester_id=both).json()["ticket"]["organization_id"] == acme
    assert _create(zd, admin, requester_id=both, organization_id=globex).json()["ticket"]["organization_id"] \
        == globex
    assert _create(zd, admin, requester_id=none).json()["ticket"]["organization_id"] is None


@pytest.mark.parametrize("membership", ["other", "none"])
def test_creating_a_ticket_in_an_organization_the_requester_is_not_in_is_refused(
        zd: Sandbox, admin: requests.Session, orgs: tuple[int, int], membership: str) -> None:
    acme, globex = orgs
    requester = _member(zd, admin, "r@x.test", *([acme] if membership == "other" else []))
    before = len(admin.get(f"{zd.url}/api/v2/tickets.json").json()["tickets"])
    _refused_organization(_create(zd, admin, requester_id=requester, organization_id=globex))
    assert len(admin.get(f"{zd.url}/api/v2/tickets.json").json()["tickets"]) == before  # nothing stored


def test_moving_a_ticket_to_an_organization_the_requester_is_not_in_is_refused(
        zd: Sandbox, admin: requests.Session, orgs: tuple[int, int]) -> None:
    acme, globex = orgs
    alice = _member(zd, admin, "alice@x.test", acme)
    tid = _create(zd, admin, requester_id=alice).json()["ticket"]["id"]
    _refused_organization(_update(zd, admin, tid, organization_id=globex, comment={"body": "moved"}))
    shown = admin.get(f"{zd.url}/api/v2/tickets/{tid}.json").json()["ticket"]
    assert shown["organization_id"] == acme
    comments = admin.get(f"{zd.url}/api/v2/tickets/{tid}/comments.json").json()["comments"]
    assert [c["body"] for c in comments] == ["b"]  # the refused update left nothing behind


def test_moving_a_ticket_is_accepted_once_the_requester_is_a_member(
        zd: Sandbox, admin: requests.Session, orgs: tuple[int, int]) -> None:
    acme, globex = orgs
    alice = _member(zd, admin, "alice@x.test", acme)
    tid = _create(zd, admin, requester_id=alice).json()["ticket"]["id"]
    admin.post(f"{zd.url}/api/v2/organization_memberships.json",
               json={"organization_membership": {"user_id": alice, "organization_id": globex}})
    r = _update(zd, admin, tid, organization_id=globex)
    assert r.status_code == 200, r.text
    assert r.json()["ticket"]["organization_id"] == globex
    assert _update(zd, admin, tid, organization_id=None).json()["ticket"]["organization_id"] is None


def test_a_new_requester_brings_its_default_organization(zd: Sandbox, admin: requests.Session,
                                                         orgs: tuple[int, int]) -> None:
    acme, globex = orgs
    alice = _member(zd, admin, "alice@x.test", acme)
    gus = _member(zd, admin, "gus@x.test", globex)
    loner = _member(zd, admin, "loner@x.test")
    tid = _create(zd, admin, requester_id=alice).json()["ticket"]["id"]
    r = _update(zd, admin, tid, requester_id=gus)
    assert (r.status_code, r.json()["ticket"]["organization_id"]) == (200, globex)
    assert _update(zd, admin, tid, requester_id=loner).json()["ticket"]["organization_id"] is None


def test_a_requester_change_with_an_organization_is_checked_against_the_new_requester(
        zd: Sandbox, admin: requests.Session, orgs: tuple[int, int]) -> None:
    acme, globex = orgs
    alice = _member(zd, admin, "alice@x.test", acme)
    gus = _member(zd, admin, "gus@x.test", globex)
    tid = _create(zd, admin, requester_id=alice).json()["ticket"]["id"]
    _refused_organization(_update(zd, admin, tid, requester_id=gus, organization_id=acme))
    shown = admin.get(f"{zd.url}/api/v2/tickets/{tid}.json").json()["ticket"]
    assert (shown["requester_id"], shown["organization_id"]) == (alice, acme)


def test_a_follow_up_for_another_requester_takes_that_requesters_organization(
        zd: Sandbox, admin: requests.Session, orgs: tuple[int, int]) -> None:
    acme, globex = orgs
    alice = _member(zd, admin, "alice@x.test", acme)
    gus = _member(zd, admin, "gus@x.test", globex)
    tid = _create(zd, admin, requester_id=alice, status="closed",
                  assignee_id=admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]["id"]).json()["ticket"]["id"]
    same = _create(zd, admin, via_followup_source_id=tid).json()["ticket"]
    assert (same["requester_id"], same["organization_id"]) == (alice, acme)
    other = _create(zd, admin, via_followup_source_id=tid, requester_id=gus).json()["ticket"]
    assert other["organization_id"] == globex


def test_a_bulk_update_refuses_the_item_whose_requester_is_not_in_the_organization(
        zd: Sandbox, admin: requests.Session, orgs: tuple[int, int]) -> None:
    acme, globex = orgs
    alice = _member(zd, admin, "alice@x.test", acme)
    both = _member(zd, admin, "both@x.test", acme, globex)
    refused = _create(zd, admin, requester_id=alice).json()["ticket"]["id"]
    moved = _create(zd, admin, requester_id=both).json()["ticket"]["id"]
    job = admin.put(f"{zd.url}/api/v2/tickets/update_many.json", json={"tickets": [
        {"id": refused, "organization_id": globex}, {"id": moved, "organization_id": globex}]}).json()["job_status"]
    requests.post(f"{zd.url}/__sandbox/jobs/run", timeout=10).raise_for_status()
    done = admin.get(f"{zd.url}/api/v2/job_statuses/{job['id']}.json").json()["job_status"]
    assert done["status"] == "completed"
    results = done["results"]
    [failed] = [r for r in results if r["id"] == refused]
    assert "error" in failed and "success" not in failed
    assert [r["success"] for r in results if r["id"] == moved] == [True]
    shown = {t: admin.get(f"{zd.url}/api/v2/tickets/{t}.json").json()["ticket"]["organization_id"]
             for t in (refused, moved)}
    assert shown == {refused: acme, moved: globex}
