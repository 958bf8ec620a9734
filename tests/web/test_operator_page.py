"""The status page as an operator's workplace: dead letters with reasons, held entries, conflicts, errors,
the last hour as charts, a case lookup, and replay/discard behind the operator token with CSRF checks."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from sync.api import SupportCases
from sync.status import collect_status
from sync.store import Store, open_store
from sync.store.kv_keys import CONNECTION_PAUSE, RECONCILE_LAST
from sync.store.kv_values import ReconcileSummary
from sync.web import create_app
from sync.workplace import Workplace

from .conftest import RecordingSink, make_settings

TOKEN = "an-operator-token-for-tests"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'casesync.db'}", clock=clock)
    yield opened
    opened.close()


def world(store: Store, clock: Clock) -> dict[str, Any]:
    """Three cases: one delivered, one dead-lettered (and a reply held behind it), one with a retrying error."""
    support = SupportCases(store=store)
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "bob", "bob@acme.test", "Bob")
    done = support.submit("acme", "bob", "Delivered", "fine")
    dead = support.submit("acme", "bob", "Refused", "<script>alert(1)</script>")
    support.reply("acme", dead.id, "bob", "more")
    failing = support.submit("acme", "bob", "Flaky", "slow")
    clock.now += timedelta(seconds=30)
    heads = store.claim_outbox("w1", clock(), limit=100)
    claimed = {e.case_id: e for e in heads if e.kind == "submit"}
    for entry in heads:
        if entry.kind != "submit":
            store.complete(entry)  # the account and the user
    store.complete(claimed[done.id])
    store.dead_letter(claimed[dead.id], "POST /api/v2/tickets: HTTP 422: <b>Subject</b> is invalid")
    store.fail(claimed[failing.id], "ServerUnavailable: HTTP 503", clock() + timedelta(seconds=60))
    with store.transaction() as tx:
        RECONCILE_LAST.put(tx, ReconcileSummary(at=clock(), drift=5, repaired=3))
        tx.record_conflict("cc_limit", "more than 48 CCs", account_id="acme", case_id=done.id, ticket_id=7)
    return {"done": done.id, "dead": dead.id, "failing": failing.id, "dead_entry": claimed[dead.id].id}


def client(store: Store, clock: Clock, **settings: Any) -> TestClient:
    app = create_app(
        settings=make_settings(**settings),
        sink=RecordingSink(),
        status_provider=lambda: collect_status(store, now=clock()),
        ready=lambda: (True, ""),
        clock=clock,
        workplace=Workplace(store, clock=clock),
    )
    return TestClient(app, base_url="http://testserver")


def entry_status(store: Store, entry_id: int) -> str | None:
    with store.read() as tx:
        entry = tx.outbox_entry(entry_id)
    return entry.status if entry is not None else None


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


def test_the_page_lists_what_needs_an_operator(store: Store, clock: Clock) -> None:
    ids = world(store, clock)
    page = client(store, clock).get("/status").text
    assert "Dead letters (1)" in page
    assert "HTTP 422: &lt;b&gt;Subject&lt;/b&gt; is invalid" in page  # the reason, escaped
    assert "<script>" not in page
    assert "Held entries (1)" in page and f"behind a dead letter of case:{ids['dead']}" in page
    assert "Open conflicts (1)" in page and "more than 48 CCs" in page
    assert "Latest errors (retrying)" in page and "ServerUnavailable: HTTP 503" in page
    # The last hour: one bar per minute with deliveries (three entries were delivered this minute).
    assert page.count("<svg") == 2 and "3 in the hour" in page
    # Drift as what is left, not what was found.
    assert "<th>Reconcile drift</th>" not in page
    assert re.search(r"<th>Reconcile drift left</th><td><span class=\"warn\"><span class=\"num\">2<", page)


def test_a_paused_connection_is_announced_first(store: Store, clock: Clock) -> None:
    from sync.connection import Pause

    world(store, clock)
    http = client(store, clock)
    assert "Sync paused" not in http.get("/status").text
    pause = Pause(cause="credentials_refused", since=clock(), detail="GET /api/v2/users/me: HTTP 401")
    with store.transaction() as tx:
        CONNECTION_PAUSE.put(tx, pause)
    page = http.get("/status").text
    assert page.index("Sync paused: Zendesk refuses the credentials") < page.index("Dead letters")
    assert "HTTP 401" in page


def test_case_lookup(store: Store, clock: Clock) -> None:
    ids = world(store, clock)
    http = client(store, clock)
    page = http.get("/status", params={"case": str(ids["dead"])}).text
    assert f"Case {ids['dead']} of account <b>acme</b>" in page and "ticket none yet" in page
    assert page.count("<td>dead</td>") == 1 and page.count("<td>pending</td>") == 1
    assert '<meta http-equiv="refresh"' not in page  # no reload while an operator looks something up
    assert "No case 999." in http.get("/status", params={"case": "999"}).text


def test_without_the_token_the_page_is_read_only(store: Store, clock: Clock) -> None:
    ids = world(store, clock)
    http = client(store, clock)
    page = http.get("/status").text
    assert "Read-only" in page and "/operator/" not in page
    answer = http.post(f"/operator/dead-letters/outbox/{ids['dead_entry']}/replay", data={"csrf": "x"})
    assert answer.status_code == 404
    assert http.post("/operator/login", data={"token": ""}).status_code == 404


def test_sign_in_sets_a_strict_http_only_cookie(store: Store, clock: Clock) -> None:
    world(store, clock)
    http = client(store, clock, operator_token=TOKEN)
    assert 'name="token"' in http.get("/status").text
    assert http.post("/operator/login", data={"token": "wrong"}, follow_redirects=False).status_code == 403
    answer = http.post("/operator/login", data={"token": TOKEN}, follow_redirects=False)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Replay" in http.get("/status").text


@pytest.mark.parametrize(("action", "status_after"), [("replay", "pending"), ("discard", "discarded")])
def test_replay_and_discard_need_the_session_and_its_csrf_token(
    store: Store, clock: Clock, action: str, status_after: str
) -> None:
    ids = world(store, clock)
    http = client(store, clock, operator_token=TOKEN)
    url = f"/operator/dead-letters/outbox/{ids['dead_entry']}/{action}"
    assert http.post(url, data={"csrf": "guess"}).status_code == 401  # not signed in
    http.post("/operator/login", data={"token": TOKEN})
    csrf = csrf_of(http.get("/status").text)
    assert http.post(url, data={}).status_code == 403  # a cross-site form has no token
    assert http.post(url, data={"csrf": csrf[:-1] + "x"}).status_code == 403
    assert entry_status(store, ids["dead_entry"]) == "dead"
    assert http.post(url, data={"csrf": csrf}, follow_redirects=False).status_code == 303
    assert entry_status(store, ids["dead_entry"]) == status_after
    assert http.post(url, data={"csrf": csrf}).status_code == 409  # no dead letter any more
    # Signed out, the same form is refused.
    http.post("/operator/logout", data={"csrf": csrf})
    assert http.post(url, data={"csrf": csrf}).status_code == 401
