"""Details as Zendesk documents them (sources in docs/sandbox-conformance.md): export ``start_time``,
offset pagination depth, cursor pagination of ticket fields, idempotency keys compared by parameters."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import requests

from sync.sandbox import Sandbox


def _events(zd: Sandbox, admin: requests.Session, start: str) -> requests.Response:
    return admin.get(f"{zd.url}/api/v2/incremental/ticket_events.json", params={"start_time": start})


@pytest.mark.parametrize("path", ["/api/v2/incremental/ticket_events.json", "/api/v2/incremental/tickets/cursor.json"])
@pytest.mark.parametrize(("offset_s", "status"), [(-3600, 200), (-61, 200), (-30, 400), (0, 400), (3600, 400)])
def test_an_export_start_time_must_be_a_minute_in_the_past(
    zd: Sandbox, admin: requests.Session, path: str, offset_s: int, status: int
) -> None:
    now = int(admin.get(f"{zd.url}/__sandbox/state").json()["offset_s"] + time.time())
    r = admin.get(f"{zd.url}{path}", params={"start_time": str(now + offset_s)})
    assert r.status_code == status, r.text
    if status == 400:
        assert r.json()["error"] == "InvalidValue"


def test_a_fractional_start_time_is_accepted(zd: Sandbox, admin: requests.Session) -> None:
    assert _events(zd, admin, "1.5").status_code == 200
    assert _events(zd, admin, "soon").status_code == 400


@pytest.mark.parametrize(("page", "status"), [(100, 200), (101, 400), (5000, 400)])
def test_offset_pagination_stops_at_the_first_10000_records(
    zd: Sandbox, admin: requests.Session, page: int, status: int
) -> None:
    r = admin.get(f"{zd.url}/api/v2/users.json", params={"page": page, "per_page": 100})
    assert r.status_code == status, r.text
    if status == 400:
        assert "page[size]" in r.json()["description"]


def test_ticket_fields_take_cursor_pagination(zd: Sandbox, admin: requests.Session) -> None:
    for title in ("One", "Two", "Three"):
        admin.post(f"{zd.url}/api/v2/ticket_fields.json", json={"ticket_field": {"type": "text", "title": title}})
    first = admin.get(f"{zd.url}/api/v2/ticket_fields.json", params={"page[size]": 2}).json()
    assert [f["title"] for f in first["ticket_fields"]] == ["One", "Two"] and first["meta"]["has_more"] is True
    rest = admin.get(first["links"]["next"]).json()
    assert [f["title"] for f in rest["ticket_fields"]] == ["Three"] and rest["meta"]["has_more"] is False


def _create(zd: Sandbox, admin: requests.Session, key: str, body: str) -> requests.Response:
    return admin.post(f"{zd.url}/api/v2/tickets.json", data=body,
                      headers={"Idempotency-Key": key, "Content-Type": "application/json"})


def test_an_idempotency_key_compares_parameters_not_bytes(zd: Sandbox, admin: requests.Session) -> None:
    user = zd.create_end_user("i@x.test")
    ticket: dict[str, Any] = {"subject": "Once", "requester_id": user["id"], "comment": {"body": "b"}}
    first = _create(zd, admin, "k1", json.dumps({"ticket": ticket}))
    again = _create(zd, admin, "k1", json.dumps({"ticket": dict(reversed(list(ticket.items())))}, indent=2))
    assert first.status_code == 201 and again.status_code == 201
    assert (first.headers["x-idempotency-lookup"], again.headers["x-idempotency-lookup"]) == ("miss", "hit")
    assert again.json()["ticket"]["id"] == first.json()["ticket"]["id"]
    other = _create(zd, admin, "k1", json.dumps({"ticket": {**ticket, "subject": "Twice"}}))
    assert (other.status_code, other.json()["error"]) == (400, "IdempotentRequestError")


def test_account_settings_have_every_section_zendesk_returns(zd: Sandbox, admin: requests.Session) -> None:
    sections = {"active_features", "agents", "api", "apps", "billing", "branding", "brands", "chat", "email",
                "google_apps", "groups", "limits", "localization", "lotus", "metrics", "routing", "rule",
                "screencast", "statistics", "ticket_form", "ticket_sharing_partners", "tickets", "twitter", "user",
                "voice"}
    settings = admin.get(f"{zd.url}/api/v2/account/settings.json").json()["settings"]
    assert sections <= set(settings)
    assert settings["api"]["api_token_access"] == "true"
    zd.set_ccs_enabled(False)
    settings = admin.get(f"{zd.url}/api/v2/account/settings.json").json()["settings"]
    assert settings["tickets"]["follower_and_email_cc_collaborations"] is False
    assert settings["tickets"]["tagging"] is True  # the account's own keys override, the rest stays
