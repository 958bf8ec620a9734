"""The console HTTP API over real HTTP: every route, auth, the error mapping, isolation, bad input."""

from __future__ import annotations

import base64
import warnings
from typing import Any

import httpx
import pytest

from sync.commands.serve import console_api
from sync.settings import Settings
from sync.store import open_store
from sync.web import create_app

with warnings.catch_warnings():
    # Starlette 1.x prefers httpx2 for its TestClient; httpx (the declared dev dependency) still works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from .conftest import TOKEN, Served, serve, snapshot

A = "/api/v1/accounts/acme"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def submit(served: Served, account: str = "acme", user: str = "bob", **extra: Any) -> dict[str, Any]:
    body = {"user_id": user, "subject": "Cannot sign in", "body": "The login page loops.", **extra}
    response = served.http.post(f"/api/v1/accounts/{account}/cases", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_accounts_users_and_recipients(acme: Served) -> None:
    http = acme.http
    renamed = http.put(A, json={"name": "Acme Inc"})
    assert renamed.json() == {"id": "acme", "name": "Acme Inc"}
    user = http.put(f"{A}/users/dave", json={"email": "dave@acme.test", "name": "Dave"}).json()
    assert user == {"account_id": "acme", "id": "dave", "email": "dave@acme.test", "name": "Dave", "admin": False}

    assert http.get(f"{A}/recipients").json() == {"recipients": ["alice@acme.test"]}
    added = http.post(f"{A}/recipients", json={"email": "it@acme.test"})
    assert added.status_code == 200 and added.json() == {"recipients": ["alice@acme.test", "it@acme.test"]}
    removed = http.delete(f"{A}/recipients/it@acme.test")
    assert removed.json() == {"recipients": ["alice@acme.test"]}
    assert acme.support.recipients("acme") == ["alice@acme.test"]


def test_a_case_from_submit_to_close(acme_on_each: Served) -> None:
    acme = acme_on_each
    http = acme.http
    case = submit(acme, attachments=[{"filename": "trace.har", "content_type": "application/json",
                                      "data": b64(b'{"log": {}}')}])
    assert case["status"] == "New" and case["requester_id"] == "bob"
    assert case["messages"][0]["body"] == "The login page loops."
    ref = case["messages"][0]["attachments"][0]
    assert (ref["filename"], ref["content_type"], ref["size"]) == ("trace.har", "application/json", 11)
    assert acme.support.get("acme", case["id"]).subject == "Cannot sign in"

    listed = http.get(f"{A}/cases").json()
    assert [c["id"] for c in listed["cases"]] == [case["id"]] and listed["next_cursor"] is None
    assert http.get(f"{A}/cases/{case['id']}").json() == case

    replied = http.post(f"{A}/cases/{case['id']}/replies",
                        json={"user_id": "alice", "body": "Works now", "acknowledges_solution": True})
    assert replied.status_code == 200
    assert [m["body"] for m in replied.json()["messages"]] == ["The login page loops.", "Works now"]

    closed = http.post(f"{A}/cases/{case['id']}/close", json={"user_id": "bob"})
    assert closed.status_code == 200 and closed.json()["status"] == "Closed"
    assert closed.json()["closed_by"] == "user"

    later = submit(acme, subject="It is back", refers_to=case["id"])
    assert later["refers_to"] == case["id"]


def test_attachment_bytes_come_back_with_their_type_and_a_safe_disposition(acme: Served) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    case = submit(acme, attachments=[
        {"filename": 'screen "1"; é.png', "content_type": "image/png", "data": b64(png)},
        {"filename": "page.html", "content_type": "text/html\r\nX-Evil: 1", "data": b64(b"<script>1</script>")},
    ])
    refs = {a["filename"]: a for a in case["messages"][0]["attachments"]}
    image, page = refs['screen "1"; é.png'], refs["page.html"]
    got = acme.http.get(f"{A}/cases/{case['id']}/attachments/{image['id']}")
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"screen _1__ _.png\"; filename*=UTF-8''screen%20%221%22%3B%20%C3%A9.png"
    )
    assert got.headers["x-content-type-options"] == "nosniff"
    # A content type that is not a MIME type is never echoed into a header.
    html = acme.http.get(f"{A}/cases/{case['id']}/attachments/{page['id']}")
    assert html.headers["content-type"] == "application/octet-stream" and "x-evil" not in html.headers
    assert "sandbox" in html.headers["content-security-policy"]


def test_the_change_feed(acme: Served) -> None:
    submit(acme)
    feed = acme.http.get("/api/v1/changes", params={"since": 0, "account_id": "acme"})
    assert feed.status_code == 200
    assert feed.json() == {"changes": [c.model_dump(mode="json") for c in acme.support.changes(0, account_id="acme")]}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer not-the-token"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": f"Bearer {TOKEN}x"},
], ids=["missing", "wrong", "not-bearer", "longer"])
@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"{A}/cases"), ("PUT", A), ("POST", f"{A}/cases"), ("GET", "/api/v1/changes"),
])
def test_without_the_token_every_route_is_401(shared: Served, headers: dict[str, str], method: str,
                                               path: str) -> None:
    before = snapshot(shared.support)
    with httpx.Client(base_url=shared.url, timeout=10) as anonymous:
        response = anonymous.request(method, path, headers=headers, json={"name": "x"})
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"
    assert snapshot(shared.support) == before


def test_the_openapi_document_needs_no_token(served: Served) -> None:
    doc = httpx.get(f"{served.url}/api/v1/openapi.json", timeout=10).json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/accounts/{account_id}/cases/{case_id}/replies" in doc["paths"]


def test_without_a_token_configured_the_api_is_off() -> None:
    with serve(None) as url:
        for path in ("/api/v1/openapi.json", "/api/v1/accounts/acme/cases", "/api/v1/changes"):
            response = httpx.get(url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
            assert response.status_code == 404
            assert response.json()["error"] == "NotFound"
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200


ERRORS = [
    # (method, path, body, status, error class)
    ("POST", f"{A}/cases", {"user_id": "bob", "subject": "", "body": "x"}, 400, "InvalidInput"),
    ("POST", f"{A}/cases", {"user_id": "bob", "subject": "s" * 256, "body": "x"}, 400, "InvalidInput"),
    ("POST", f"{A}/cases", {"user_id": "bob", "subject": "s"}, 400, "InvalidInput"),
    ("POST", f"{A}/cases", {"user_id": "bob", "subject": "s", "body": "b", "sneaky": 1}, 400, "InvalidInput"),
    ("POST", f"{A}/cases", {"user_id": "bob", "subject": "s", "body": "b", "refers_to": "one"}, 400,
     "InvalidInput"),
    ("POST", f"{A}/cases", {"user_id": "bob", "subject": "s", "body": "b", "refers_to": 999}, 400, "InvalidInput"),
    ("POST", f"{A}/cases", {"user_id": "bob", "subject": "s", "body": "b",
                            "attachments": [{"filename": "a", "data": "!!not base64!!"}]}, 400, "InvalidInput"),
    ("POST", f"{A}/cases", {"user_id": "nobody", "subject": "s", "body": "b"}, 422, "UnknownUser"),
    ("POST", f"{A}/cases", "not json", 400, "InvalidInput"),
    ("GET", f"{A}/cases/999", None, 404, "CaseNotFound"),
    ("GET", f"{A}/cases/abc", None, 400, "InvalidInput"),
    ("GET", f"{A}/cases/0", None, 400, "InvalidInput"),
    ("GET", f"{A}/cases?status=Weird", None, 400, "InvalidInput"),
    ("GET", f"{A}/cases?limit=101", None, 400, "InvalidInput"),
    ("POST", f"{A}/cases/999/replies", {"user_id": "bob", "body": "b"}, 404, "CaseNotFound"),
    ("POST", f"{A}/cases/999/close", {"user_id": "bob"}, 404, "CaseNotFound"),
    ("PUT", f"{A}/users/eve", {"email": "not an address", "name": "Eve"}, 400, "InvalidInput"),
    ("PUT", "/api/v1/accounts/nowhere/users/eve", {"email": "eve@x.test", "name": "Eve"}, 400, "InvalidInput"),
    ("DELETE", f"{A}/recipients/alice@acme.test", None, 400, "InvalidInput"),
    ("GET", "/api/v1/changes?since=-1", None, 400, "InvalidInput"),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "error"), ERRORS)
def test_library_errors_map_to_the_statuses_of_the_design(shared: Served, method: str, path: str, body: Any,
                                                          status: int, error: str) -> None:
    before = snapshot(shared.support)
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, str) else {"json": body}
    response = shared.http.request(method, path, **kwargs)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert response.json()["message"]
    assert snapshot(shared.support) == before  # bad input writes nothing


def test_a_closed_case_is_409_and_stays_closed(acme: Served) -> None:
    case = submit(acme)
    assert acme.http.post(f"{A}/cases/{case['id']}/close", json={"user_id": "bob"}).status_code == 200
    before = snapshot(acme.support)
    for path, body in ((f"{A}/cases/{case['id']}/replies", {"user_id": "bob", "body": "again"}),
                       (f"{A}/cases/{case['id']}/close", {"user_id": "bob"})):
        response = acme.http.post(path, json=body)
        assert (response.status_code, response.json()["error"]) == (409, "CaseClosed")
    assert snapshot(acme.support) == before


def test_another_accounts_case_reads_as_missing(acme_on_each: Served) -> None:
    acme = acme_on_each
    theirs = submit(acme, account="globex", user="carol",
                    attachments=[{"filename": "a.txt", "content_type": "text/plain", "data": b64(b"secret")}])
    att = theirs["messages"][0]["attachments"][0]["id"]
    base = f"{A}/cases/{theirs['id']}"
    before = snapshot(acme.support)
    for method, path, body in (("GET", base, None), ("GET", f"{base}/attachments/{att}", None),
                               ("POST", f"{base}/replies", {"user_id": "bob", "body": "hi"}),
                               ("POST", f"{base}/close", {"user_id": "bob"})):
        response = acme.http.request(method, path, json=body)
        assert (response.status_code, response.json()["error"]) == (404, "CaseNotFound"), path
        assert "globex" not in response.text
    assert acme.http.get(f"{A}/cases").json()["cases"] == []
    assert acme.http.get("/api/v1/changes", params={"account_id": "acme"}).json() == {"changes": []}
    assert snapshot(acme.support) == before


def test_a_body_over_the_limit_is_413_and_writes_nothing(acme: Served) -> None:
    big = {"user_id": "bob", "subject": "s", "body": "b",
           "attachments": [{"filename": "big.bin", "data": b64(b"x" * 60_000)}]}
    response = acme.http.post(f"{A}/cases", json=big)
    assert (response.status_code, response.json()["error"]) == (413, "PayloadTooLarge")
    chunks = iter([b'{"user_id": "bob", "subject": "s", "body": "', b"y" * 70_000, b'"}'])
    chunked = acme.http.post(f"{A}/cases", content=chunks, headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413
    assert acme.support.store.counts().cases == 0


def test_serve_turns_the_api_on_only_with_a_token(tmp_path: Any) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'serve.db'}")
    try:
        assert console_api(Settings(_env_file=None), store) is None
        assert console_api(Settings(_env_file=None, api_token="   "), store) is None  # blank is unset
        api = console_api(Settings(_env_file=None, api_token=TOKEN), store)
        app = create_app(settings=Settings(_env_file=None), sink=lambda _hint: True, status_provider=dict,
                         ready=lambda: (True, ""), api=api)
        with TestClient(app) as client:
            created = client.put("/api/v1/accounts/acme", json={"name": "Acme"},
                                 headers={"Authorization": f"Bearer {TOKEN}"})
            assert created.json() == {"id": "acme", "name": "Acme"}
        with store.read() as tx:  # the API wrote to the store serve gave it
            assert tx.get_account("acme") is not None
    finally:
        store.close()


def test_erasing_a_user_over_http(acme: Served) -> None:
    case = submit(acme, attachments=[{"filename": "me.txt", "content_type": "text/plain", "data": b64(b"Bob's")}])
    erased = acme.http.delete(f"{A}/users/bob")
    assert erased.status_code == 200, erased.text
    report = erased.json()
    assert (report["account_id"], report["user_id"]) == ("acme", "bob")
    assert report["messages_erased"] == 1 and report["attachments_removed"] == 1
    assert report["cases_closed"] == [case["id"]]
    after = acme.http.get(f"{A}/cases/{case['id']}").json()
    assert after["status"] == "Closed" and "loops" not in after["messages"][0]["body"]

    again = acme.http.delete(f"{A}/users/bob")
    assert (again.status_code, again.json()["error"]) == (422, "UnknownUser")
    other = acme.http.delete(f"{A}/users/carol")  # globex's user is not acme's
    assert (other.status_code, other.json()["error"]) == (422, "UnknownUser")
    assert acme.support.recipients("globex") == ["carol@globex.test"]
