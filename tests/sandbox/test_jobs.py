"""Bulk jobs run as on Zendesk: accepted ``queued``, applied while ``working``, rows like Zendesk's rows.

The failure row's shape is the recorded one (``TestOrganizationCreateUpdateDelete.
test_multiple_update_full_objects-update-many`` in the shared Zendesk recordings); the life cycle is Zendesk's
Job Statuses reference (see docs/sandbox-conformance.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sync.sandbox import Sandbox

DELAY = 100.0  # sandbox seconds: long enough that the wall clock never moves a job on by itself


@pytest.fixture(scope="module")
def slow_jobs() -> Iterator[Sandbox]:
    with Sandbox(job_delay_s=DELAY) as zd:
        yield zd


@pytest.fixture()
def zd(slow_jobs: Sandbox) -> Sandbox:
    slow_jobs.reset()
    return slow_jobs


@pytest.fixture()
def admin(zd: Sandbox) -> requests.Session:
    s = requests.Session()
    s.auth = (f"{zd.agent_email}/token", zd.agent_token)
    return s


def _tickets(admin: requests.Session, zd: Sandbox, n: int, **extra: Any) -> list[dict[str, Any]]:
    user = zd.create_end_user("requester@x.test")
    out = []
    for i in range(n):
        r = admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {
            "subject": f"T{i}", "comment": {"body": "first"}, "requester_id": user["id"], **extra}})
        assert r.status_code == 201, r.text
        out.append(r.json()["ticket"])
    return out


def _ticket(admin: requests.Session, zd: Sandbox, ticket_id: int) -> dict[str, Any]:
    body: dict[str, Any] = admin.get(f"{zd.url}/api/v2/tickets/{ticket_id}.json").json()["ticket"]
    return body


def _job(admin: requests.Session, job: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = admin.get(job["url"]).json()["job_status"]
    return body


def test_a_failed_item_has_error_and_details_but_no_success_key(zd: Sandbox, admin: requests.Session) -> None:
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    ok, closed = _tickets(admin, zd, 1)[0], _tickets(admin, zd, 1, status="closed", assignee_id=me["id"])[0]
    job = admin.put(f"{zd.url}/api/v2/tickets/update_many.json", json={"tickets": [
        {"id": ok["id"], "additional_tags": ["x"]}, {"id": closed["id"], "subject": "new"}]}).json()["job_status"]
    zd.run_jobs()
    rows = _job(admin, job)["results"]
    assert rows[0] == {"id": ok["id"], "index": 0, "action": "update", "status": "Updated", "success": True}
    assert set(rows[1]) == {"id", "index", "error", "details"}
    assert (rows[1]["id"], rows[1]["index"], rows[1]["error"]) == (closed["id"], 1, "TicketUpdateFailed")
    assert "closed" in rows[1]["details"]


def test_nothing_changes_while_the_job_is_queued(zd: Sandbox, admin: requests.Session) -> None:
    tickets = _tickets(admin, zd, 2)
    ids = ",".join(str(t["id"]) for t in tickets)
    job = admin.put(f"{zd.url}/api/v2/tickets/update_many.json?ids={ids}",
                    json={"ticket": {"status": "pending"}}).json()["job_status"]
    assert job["status"] == "queued" and job["results"] is None
    assert [_ticket(admin, zd, t["id"])["status"] for t in tickets] == ["new", "new"]
    assert _job(admin, job)["status"] == "queued"  # polling alone does not move a job on


def test_a_job_works_through_its_items_as_the_clock_moves(zd: Sandbox, admin: requests.Session) -> None:
    tickets = _tickets(admin, zd, 4)
    job = admin.put(f"{zd.url}/api/v2/tickets/update_many.json", json={"tickets": [
        {"id": t["id"], "status": "pending"} for t in tickets]}).json()["job_status"]
    zd.advance_clock(DELAY * (0.5 + 0.5 * 2.5 / 4))  # the working half 2.5/4 done: two items have run
    working = _job(admin, job)
    assert (working["status"], working["progress"], working["results"]) == ("working", 2, None)
    assert [_ticket(admin, zd, t["id"])["status"] for t in tickets] == ["pending", "pending", "new", "new"]
    zd.advance_clock(DELAY)
    done = _job(admin, job)
    assert (done["status"], done["progress"]) == ("completed", 4)
    assert done["message"].startswith("Completed at ")
    assert [r["index"] for r in done["results"]] == [0, 1, 2, 3]
    assert {_ticket(admin, zd, t["id"])["status"] for t in tickets} == {"pending"}


def test_the_control_endpoint_runs_pending_jobs_now(zd: Sandbox, admin: requests.Session) -> None:
    (t,) = _tickets(admin, zd, 1)
    job = admin.put(f"{zd.url}/api/v2/tickets/update_many.json?ids={t['id']}",
                    json={"ticket": {"additional_tags": ["bulk"]}}).json()["job_status"]
    assert requests.post(f"{zd.url}/__sandbox/jobs/run", timeout=10).json() == {"ran": 1}
    assert _job(admin, job)["status"] == "completed"
    assert "bulk" in _ticket(admin, zd, t["id"])["tags"]


def test_an_item_is_judged_when_it_runs_not_when_it_is_accepted(zd: Sandbox, admin: requests.Session) -> None:
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    (t,) = _tickets(admin, zd, 1)
    job = admin.put(f"{zd.url}/api/v2/tickets/update_many.json?ids={t['id']}",
                    json={"ticket": {"subject": "late"}}).json()["job_status"]
    closed = admin.put(f"{zd.url}/api/v2/tickets/{t['id']}.json",
                       json={"ticket": {"status": "closed", "assignee_id": me["id"]}})
    assert closed.status_code == 200
    zd.run_jobs()
    (row,) = _job(admin, job)["results"]
    assert row["error"] == "TicketUpdateFailed" and "success" not in row
    assert _ticket(admin, zd, t["id"])["subject"] == "T0"


def test_merge_closes_the_sources_when_its_job_runs(zd: Sandbox, admin: requests.Session) -> None:
    source, target = _tickets(admin, zd, 2)
    job = admin.post(f"{zd.url}/api/v2/tickets/{target['id']}/merge.json",
                     json={"ids": [source["id"]]}).json()["job_status"]
    assert (job["status"], _ticket(admin, zd, source["id"])["status"]) == ("queued", "new")
    zd.run_jobs()
    merged = _ticket(admin, zd, source["id"])
    assert merged["status"] == "closed" and "closed_by_merge" in merged["tags"]
    assert _job(admin, job)["results"] == [
        {"id": source["id"], "index": 0, "action": "merge", "status": "Merged", "success": True}]


def test_merge_copies_the_sources_attachments_into_the_target_comment(zd: Sandbox, admin: requests.Session) -> None:
    token = admin.post(f"{zd.url}/api/v2/uploads.json", params={"filename": "log.txt"}, data=b"trace",
                       headers={"Content-Type": "text/plain"}).json()["upload"]["token"]
    user = zd.create_end_user("att@x.test")
    source = admin.post(f"{zd.url}/api/v2/tickets.json", json={"ticket": {
        "subject": "With file", "requester_id": user["id"], "comment": {"body": "see log", "uploads": [token]}}}
    ).json()["ticket"]
    (target,) = _tickets(admin, zd, 1)
    admin.post(f"{zd.url}/api/v2/tickets/{target['id']}/merge.json", json={"ids": [source["id"]]})
    zd.run_jobs()
    last = admin.get(f"{zd.url}/api/v2/tickets/{target['id']}/comments.json").json()["comments"][-1]
    (copied,) = last["attachments"]
    assert copied["file_name"] == "log.txt"
    assert admin.get(copied["content_url"], timeout=10).content == b"trace"
    (original,) = admin.get(f"{zd.url}/api/v2/tickets/{source['id']}/comments.json").json()["comments"][0][
        "attachments"]
    assert copied["id"] != original["id"]


def test_a_merge_whose_target_closed_meanwhile_still_finishes(zd: Sandbox, admin: requests.Session) -> None:
    me = admin.get(f"{zd.url}/api/v2/users/me.json").json()["user"]
    source, target = _tickets(admin, zd, 2)
    job = admin.post(f"{zd.url}/api/v2/tickets/{target['id']}/merge.json",
                     json={"ids": [source["id"]]}).json()["job_status"]
    closing = admin.put(f"{zd.url}/api/v2/tickets/{target['id']}.json",
                        json={"ticket": {"status": "closed", "assignee_id": me["id"]}})
    assert closing.status_code == 200
    zd.advance_clock(DELAY)  # the job runs here; its refused last step must not fail this or any request
    assert _job(admin, job)["status"] == "completed"
    assert admin.get(f"{zd.url}/api/v2/users/me.json").status_code == 200
