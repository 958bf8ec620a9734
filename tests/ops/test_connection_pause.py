"""Refused credentials and an unreachable Zendesk pause the connection: nothing is dead-lettered, the
engine probes cheaply, status and metrics say so, and the sync resumes by itself (docs/design.md §8)."""

from __future__ import annotations

import itertools
from collections import Counter
from typing import Any

import httpx
import pytest

from sync.api import SupportCases
from sync.connection import CREDENTIALS_REFUSED, UNREACHABLE, ConnectionGuard
from sync.errors import AuthenticationFailed, NetworkError, RecordNotFound, ServerUnavailable
from sync.metrics import Metrics
from sync.sandbox import Sandbox
from sync.store import Store
from tests.support.tcpproxy import TcpProxy
from tests.support.zendesk import Clock

from .conftest import EngineFor, Monotonic


def seed(support: SupportCases) -> int:
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "bob", "bob@acme.test", "Bob")
    return support.submit("acme", "bob", "VPN drops", "It drops every hour.").id


def requests_made(zd: Sandbox) -> Counter[str]:
    return Counter(httpx.get(f"{zd.url}/__sandbox/stats", timeout=5).json()["requests"])


def paused_gauge(metrics: Metrics, cause: str) -> float | None:
    return metrics.registry.get_sample_value("casesync_connection_paused", {"cause": cause})


def test_refused_credentials_pause_the_connection_and_it_resumes_by_itself(
    zd: Sandbox, support: SupportCases, engine_for: EngineFor, monotonic: Monotonic
) -> None:
    engine = engine_for()
    case_id = seed(support)
    assert engine.run_once().pending == 0
    ticket_id = support.get("acme", case_id).ticket_id
    assert ticket_id is not None

    # An admin rotates the API token in Zendesk; casesync still holds the old one.
    answer = httpx.post(f"{zd.url}/__sandbox/api_token", json={"token": "rotated-by-an-admin"}, timeout=5)
    assert answer.status_code == 200
    support.reply("acme", case_id, "bob", "Still broken after the update.")
    support.upsert_user("acme", "eve", "eve@acme.test", "Eve")

    first = engine.run_once()
    pause = engine.connection.paused
    assert pause is not None and pause.cause == CREDENTIALS_REFUSED
    assert "Couldn't authenticate you" in pause.detail
    assert any("zendesk connection paused" in e for e in first.errors)
    before = requests_made(zd)
    for _ in range(6):
        report = engine.run_once()
        assert report.dead_letters == 0 and report.pending == 2
        monotonic.advance(10)
    spent = requests_made(zd) - before
    # While paused only the credentials are probed: no delivery, no poll.
    assert set(spent) == {"GET /api/v2/users/me"}, spent
    assert spent["GET /api/v2/users/me"] <= 4  # probed with a backoff, not on every pass

    status = engine.status()
    assert status["connection"] == "paused"
    assert status["connection_paused_cause"] == CREDENTIALS_REFUSED
    assert status["connection_paused_since"] is not None
    assert paused_gauge(engine.metrics, CREDENTIALS_REFUSED) == 1

    httpx.post(f"{zd.url}/__sandbox/api_token", json={"token": None}, timeout=5)
    monotonic.advance(30)  # the probe's backoff is capped at 30 s: resumed within a minute
    resumed = engine.run_once()
    assert engine.connection.paused is None
    assert resumed.pending == 0 and resumed.dead_letters == 0
    comments = httpx.get(f"{zd.url}/api/v2/tickets/{ticket_id}/comments.json",
                         auth=(f"{zd.agent_email}/token", zd.agent_token), timeout=5).json()["comments"]
    assert any("Still broken after the update." in c["body"] for c in comments)
    assert engine.status()["connection"] == "running"
    assert paused_gauge(engine.metrics, CREDENTIALS_REFUSED) == 0


def test_a_pause_outlives_the_process_until_a_probe_succeeds(
    zd: Sandbox, support: SupportCases, engine_for: EngineFor, monotonic: Monotonic
) -> None:
    seed(support)
    zd.rotate_api_token("rotated")
    engine_for().run_once()
    restarted = engine_for()
    assert restarted.connection.paused is not None  # read back from the store
    assert paused_gauge(restarted.metrics, CREDENTIALS_REFUSED) == 1
    zd.rotate_api_token(None)
    monotonic.advance(30)
    assert restarted.run_once().pending == 0
    assert restarted.connection.paused is None


def test_a_long_unreachable_zendesk_pauses_and_resumes_without_dead_letters(
    zd: Sandbox, support: SupportCases, engine_for: EngineFor, monotonic: Monotonic, clock: Clock
) -> None:
    with TcpProxy("127.0.0.1", zd.port) as proxy:
        engine = engine_for(f"http://127.0.0.1:{proxy.port}", unreachable_after_s=120)
        case_id = seed(support)
        assert engine.run_once().pending == 0
        proxy.cut()
        support.reply("acme", case_id, "bob", "Any news?")
        engine.run_once()
        assert engine.connection.paused is None  # one failed pass is a retry, not yet a pause
        for _ in range(5):
            monotonic.advance(30)
            report = engine.run_once()
            assert report.dead_letters == 0
        pause = engine.connection.paused
        assert pause is not None and pause.cause == UNREACHABLE
        assert engine.status()["connection_paused_cause"] == UNREACHABLE
        assert paused_gauge(engine.metrics, UNREACHABLE) == 1

        proxy.restore()
        monotonic.advance(30)
        clock.advance(400)  # the reply failed once before the pause: its outbox backoff runs out
        report = engine.run_once()
        assert engine.connection.paused is None
        assert report.pending == 0 and report.dead_letters == 0


class FakeProbe:
    """Stands in for ``GET /api/v2/users/me``: answers, or raises the error it was given."""

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.error is not None:
            raise self.error


def _auth(status: int) -> AuthenticationFailed:
    body = '{"error":"Couldn\'t authenticate you"}' if status == 401 else '{"error":{"title":"Forbidden"}}'
    return AuthenticationFailed(f"GET /api/v2/x: HTTP {status}", status=status, body=body)


@pytest.mark.parametrize(
    ("error", "probe_error", "paused"),
    [
        (_auth(401), None, CREDENTIALS_REFUSED),  # 401: Zendesk could not identify the caller at all
        (_auth(403), _auth(403), CREDENTIALS_REFUSED),  # the credentials themselves are refused
        (_auth(403), _auth(401), CREDENTIALS_REFUSED),
        (_auth(403), None, None),  # a 403 for one object: that change fails alone
        (_auth(403), NetworkError("no answer", ambiguous=False), None),  # nothing learnt
        (RecordNotFound("404", status=404), None, None),
        (ServerUnavailable("503", status=503), None, None),
        (NetworkError("refused", ambiguous=False), None, None),  # once is a retry, not a pause
    ],
)
def test_which_failures_pause(
    store: Store, clock: Clock, monotonic: Monotonic, error: Exception, probe_error: Exception | None,
    paused: str | None,
) -> None:
    guard = ConnectionGuard(store, FakeProbe(probe_error), clock=clock, monotonic=monotonic)
    guard.observe(error)
    assert (guard.paused.cause if guard.paused else None) == paused
    assert guard.explains(error) is (paused is not None)


def test_probing_backs_off_and_success_resumes(store: Store, clock: Clock, monotonic: Monotonic) -> None:
    probe = FakeProbe(_auth(401))
    guard = ConnectionGuard(store, probe, clock=clock, monotonic=monotonic, probe_base_s=2, probe_cap_s=30)
    guard.observe(_auth(401))
    attempts: list[tuple[float, int]] = []
    for _ in range(120):  # two minutes, one pass a second
        monotonic.advance(1)
        calls = probe.calls
        assert guard.may_send() is False
        if probe.calls > calls:
            attempts.append((monotonic.now, probe.calls))
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(attempts)]
    assert gaps == sorted(gaps) and max(gaps) <= 30 and gaps[0] < gaps[-1]
    probe.error = None
    monotonic.advance(30)
    assert guard.may_send() is True and guard.paused is None
    with store.read() as tx:
        stored: Any = tx.kv_get("connection:paused")
    assert stored is None
