"""Malformed input gets Zendesk's 400/422 envelope, never a 500, and changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.sandbox import Sandbox

T = "{ticket}"

MALFORMED: list[tuple[str, str, dict[str, Any] | None, int, str, str | None]] = [
    # (method, path, body, status, error, detail field)
    ("PUT", "/api/v2/tickets/update_many.json?ids=12a,x", {"ticket": {"status": "open"}}, 400, "InvalidValue", None),
    ("GET", "/api/v2/tickets/show_many.json?ids=one", None, 400, "InvalidValue", None),
    ("GET", "/api/v2/tickets.json?page=x", None, 400, "InvalidValue", None),
    ("PUT", f"/api/v2/tickets/{T}.json", {"ticket": {"requester_id": None}}, 422, "RecordInvalid", "requester_id"),
    ("PUT", f"/api/v2/tickets/{T}.json", {"ticket": {"organization_id": "x"}}, 422, "RecordInvalid",
     "organization_id"),
    ("PUT", f"/api/v2/tickets/{T}.json", {"ticket": {"comment": {"body": "x", "author_id": "bob"}}}, 422,
     "RecordInvalid", "author_id"),
    ("PUT", f"/api/v2/tickets/{T}.json", {"ticket": {"collaborator_ids": ["x"]}}, 422, "RecordInvalid",
     "collaborator_ids"),
    ("PUT", f"/api/v2/tickets/{T}.json", {"ticket": {"comment": {"body": "x", "uploads": "tok"}}}, 422,
     "RecordInvalid", "uploads"),
    ("POST", f"/api/v2/tickets/{T}/merge.json", {"ids": ["a"]}, 422, "RecordInvalid", "ids"),
    ("PUT", "/api/v2/tickets/update_many.json", {"tickets": [{"id": "x", "status": "open"}]}, 422,
     "RecordInvalid", "id"),
    ("POST", "/api/v2/tickets.json", {"ticket": "x"}, 400, "InvalidJSON", None),
    ("POST", "/api/v2/users/create_or_update.json", {"user": {"email": 5}}, 422, "RecordInvalid", "email"),
    ("POST", "/api/v2/users/create_or_update.json", {"user": "x"}, 400, "InvalidJSON", None),
    ("POST", "/api/v2/organization_memberships.json",
     {"organization_membership": {"user_id": "x", "organization_id": "y"}}, 422, "RecordInvalid", "user_id"),
    ("POST", "/api/v2/webhooks.json", {"webhook": "x"}, 400, "InvalidJSON", None),
    ("PUT", "/api/v2/tickets/abc.json", {"ticket": {}}, 404, "RecordNotFound", None),
]


def _ticket(zd: Sandbox, admin: requests.Session) -> dict[str, Any]:
    user = zd.create_end_user("v@x.test")
    r = admin.post(f"{zd.url}/api/v2/tickets.json",
                   json={"ticket": {"subject": "s", "comment": {"body": "b"}, "requester_id": user["id"]}})
    body: dict[str, Any] = r.json()["ticket"]
    return body


@pytest.mark.parametrize(("method", "path", "body", "status", "error", "field"), MALFORMED)
def test_malformed_requests_get_zendesks_error_and_change_nothing(
    zd: Sandbox, admin: requests.Session, method: str, path: str, body: Any, status: int, error: str,
    field: str | None,
) -> None:
    ticket = _ticket(zd, admin)
    r = admin.request(method, zd.url + path.replace(T, str(ticket["id"])), json=body)
    assert (r.status_code, r.json()["error"]) == (status, error), r.text
    assert r.headers["Content-Type"].startswith("application/json")
    if field is not None:
        (entry,) = r.json()["details"][field]
        assert entry["error"] in ("InvalidValue", "BlankValue") and ": " in entry["description"]
    zd.run_jobs()
    after = admin.get(f"{zd.url}/api/v2/tickets/{ticket['id']}.json").json()["ticket"]
    assert after["updated_at"] == ticket["updated_at"] and after["status"] == ticket["status"]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                    max_leaves=6)
FIELDS = st.sampled_from(["requester_id", "organization_id", "assignee_id", "status", "tags", "comment",
                          "email_ccs", "followers", "collaborator_ids", "custom_fields", "subject", "external_id",
                          "via_followup_source_id", "safe_update"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.dictionaries(FIELDS, JSON, min_size=1, max_size=3))
def test_no_ticket_update_body_is_a_server_error(sandbox: Sandbox, fields: dict[str, Any]) -> None:
    s = requests.Session()
    s.auth = (f"{sandbox.agent_email}/token", sandbox.agent_token)
    ticket = _ticket(sandbox, s)
    for method, path, body in (
        ("PUT", f"/api/v2/tickets/{ticket['id']}.json", {"ticket": fields}),
        ("POST", "/api/v2/tickets.json", {"ticket": {"comment": {"body": "b"}, **fields}}),
        ("PUT", "/api/v2/tickets/update_many.json", {"tickets": [{"id": ticket["id"], **fields}]}),
    ):
        r = s.request(method, sandbox.url + path, data=json.dumps(body),
                      headers={"Content-Type": "application/json"})
        assert r.status_code < 500, (body, r.text)
    sandbox.run_jobs()  # the bulk item runs too: a bad value must fail its row, not the job runner
    assert s.get(f"{sandbox.url}/api/v2/tickets/{ticket['id']}.json").status_code == 200
