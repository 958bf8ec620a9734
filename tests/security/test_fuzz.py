"""Bad input, fuzzed with hypothesis: through the library API and through the webhook endpoint, every input
is either accepted or refused with a clear error, and a refused input leaves the store exactly as it was."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.models import Attachment
from sync.api import SupportCases
from sync.errors import CaseSyncError
from sync.inbound import webhook_sink
from sync.settings import Settings
from sync.store import Store, open_store
from sync.web.app import create_app
from sync.web.signature import sign

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette's TestClient prefers httpx2; httpx works
    from starlette.testclient import TestClient

SECRET = "fuzz-secret-5a4b3c2d1e"
_weird = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", " ", "\x00", "\ud800", "x" * 300, "a@b.test", "ADMIN@acme.test", "acme", "u1", "#1"]),
    st.integers(min_value=-3, max_value=5), st.none(), st.booleans(), st.binary(max_size=8),
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'f.db'}")
    api = SupportCases(store=store)
    api.upsert_account("acme", "Acme")
    api.upsert_user("acme", "u1", "admin@acme.test", "Ann", admin=True)
    api.upsert_account("beta", "Beta")
    api.upsert_user("beta", "u1", "b@beta.test", "Bea")
    api.submit("acme", "u1", "first", "body")
    closed = api.submit("beta", "u1", "second", "body")
    api.close("beta", closed.id, "u1")
    with store.transaction() as tx:
        tx.add_staff_email("agent@support.test")
    try:
        yield store
    finally:
        store.close()


_CALLS = ["upsert_account", "upsert_user", "add_recipient", "remove_recipient", "submit", "reply", "close", "get",
          "list", "attachment", "changes"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(_CALLS), args=st.lists(_weird, min_size=5, max_size=5),
       files=st.lists(st.builds(Attachment, filename=st.text(max_size=6), content_type=st.text(max_size=6),
                                data=st.binary(max_size=8)), max_size=2))
def test_library_calls_refuse_cleanly_or_accept(
    seeded: Store, dump: Callable[[Any], dict[str, Any]], name: str, args: list[Any], files: list[Any]
) -> None:
    api = SupportCases(store=seeded)
    a, b, c, d, e = args
    calls = {
        "upsert_account": lambda: api.upsert_account(a, b),
        "upsert_user": lambda: api.upsert_user(a, b, c, d, admin=e),
        "add_recipient": lambda: api.add_recipient(a, b),
        "remove_recipient": lambda: api.remove_recipient(a, b),
        "submit": lambda: api.submit(a, b, c, d, refers_to=e, attachments=files),
        "reply": lambda: api.reply(a, b, c, d, acknowledges_solution=e, attachments=files),
        "close": lambda: api.close(a, b, c),
        "get": lambda: api.get(a, b),
        "list": lambda: api.list(a, status=b),
        "attachment": lambda: api.attachment(a, b, c),
        "changes": lambda: api.changes(a if isinstance(a, int) else 0, account_id=b),
    }
    before = dump(seeded)
    try:
        calls[name]()  # type: ignore[no-untyped-call]
    except CaseSyncError as exc:
        assert str(exc).strip(), f"{name}: an error without a message"
        assert dump(seeded) == before, f"{name} raised {exc!r} but changed the store"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Store]]:
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('hooks') / 'w.db'}")
    store.counts()
    app = create_app(settings=Settings(webhook_secret=SECRET, webhook_max_body_bytes=4096),
                     sink=webhook_sink(store), status_provider=dict, ready=lambda: (True, ""))
    with TestClient(app) as c:
        yield c, store
    store.close()


_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_payloads = st.one_of(
    st.binary(max_size=64),
    _json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"ticket_id": _json_values}).map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"type": st.sampled_from(["zen:event-type:ticket.comment_added", "zen:event-type:x"]),
                           "detail": st.fixed_dictionaries({"id": _json_values}),
                           "id": _json_values, "time": _json_values}).map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_payloads, signed=st.booleans(), ts=st.one_of(st.none(), st.text(max_size=30)))
def test_webhook_endpoint_answers_every_input_cleanly(
    client: tuple[TestClient, Store], dump: Callable[[Any], dict[str, Any]], body: bytes, signed: bool,
    ts: str | None,
) -> None:
    c, store = client
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if ts is None else ts
    headers = {"X-Zendesk-Webhook-Signature-Timestamp": stamp,
               "X-Zendesk-Webhook-Signature": sign(SECRET, stamp, body) if signed else "AAAA"}
    before = dump(store)
    try:
        response = c.post("/webhooks/zendesk", content=body, headers=headers)
    except UnicodeEncodeError:
        return  # the HTTP client itself cannot send such a header: nothing reached the receiver
    assert response.status_code in (202, 400, 401), response.text
    assert response.json()["message"]
    inbox_before, inbox_after = before.pop("inbox"), dump(store).pop("inbox")
    if response.status_code != 202 or response.json()["status"] != "accepted":
        assert inbox_after == inbox_before
    else:
        assert len(inbox_after) == len(inbox_before) + 1
    assert {k: v for k, v in dump(store).items() if k != "inbox"} == before
