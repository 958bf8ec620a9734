"""The retry policy and the pacer, with injected time: nothing here ever waits."""

from __future__ import annotations

import threading

import pytest
import responses
from hypothesis import given
from hypothesis import strategies as st

from sync.errors import (
    ConflictError,
    NetworkError,
    RateLimited,
    ServerUnavailable,
    UpdateConflict,
    ZendeskRejected,
)
from sync.gateway import DateHeaderClock, GatewaySession, ZendeskGateway
from sync.gateway.session import RateLimitResponse
from sync.retry import Pacer, RetryPolicy
from tests.gateway.gateway_fakes import BASE, FakeTime


class Flaky:
    """Raises the given errors in turn, then returns "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_retry_after_is_honoured_exactly(policy: RetryPolicy, fake_time: FakeTime) -> None:
    fn = Flaky(RateLimited("429", retry_after=3), ServerUnavailable("503", status=503, retry_after=1.5))
    assert policy.call(fn) == "ok"
    assert fake_time.sleeps == [3.0, 1.5]


def test_backoff_is_exponential_capped_and_jittered(fake_time: FakeTime) -> None:
    draws = iter([0.0, 1.0, 0.5, 0.5, 0.5])
    policy = RetryPolicy(
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        random_source=lambda: next(draws),
        base_s=1.0,
        cap_s=4.0,
        jitter=0.5,
        max_attempts=6,
        max_elapsed_s=None,
    )
    fn = Flaky(*[ServerUnavailable("500", status=500) for _ in range(5)])
    assert policy.call(fn) == "ok"
    # 1, 2, 4, 4 (cap), 4 — each is (1 - jitter) + jitter * draw of the full delay.
    assert fake_time.sleeps == [0.5, 2.0, 3.0, 3.0, 3.0]


@pytest.mark.parametrize("exc", [ZendeskRejected("422", status=422), UpdateConflict("409", status=409), KeyError("x")])
def test_non_retriable_errors_are_raised_at_once(policy: RetryPolicy, fake_time: FakeTime, exc: Exception) -> None:
    fn = Flaky(exc)
    with pytest.raises(type(exc)):
        policy.call(fn)
    assert fn.calls == 1 and fake_time.sleeps == []


def test_ambiguous_failures_of_writes_surface(policy: RetryPolicy) -> None:
    write = Flaky(NetworkError("read timeout", ambiguous=True))
    with pytest.raises(NetworkError):
        policy.call(write, write=True)
    assert write.calls == 1
    # The same failure on a read, or a failure that is not ambiguous on a write, is retried.
    assert policy.call(Flaky(NetworkError("read timeout", ambiguous=True))) == "ok"
    assert policy.call(Flaky(NetworkError("refused", ambiguous=False)), write=True) == "ok"
    assert policy.call(Flaky(RateLimited("429", retry_after=1)), write=True) == "ok"


def test_attempts_and_elapsed_time_are_bounded(fake_time: FakeTime) -> None:
    policy = RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock, max_attempts=3, max_elapsed_s=None)
    fn = Flaky(*[ServerUnavailable("500", status=500) for _ in range(5)])
    with pytest.raises(ServerUnavailable):
        policy.call(fn)
    assert fn.calls == 3
    timed = RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock, max_attempts=100, max_elapsed_s=10.0)
    fn = Flaky(*[RateLimited("429", retry_after=4) for _ in range(10)])
    with pytest.raises(RateLimited):
        timed.call(fn)
    assert fn.calls == 3  # waited 4 + 4; a third wait would pass 10 s


def test_rate_limits_can_be_left_to_the_caller(policy: RetryPolicy, fake_time: FakeTime) -> None:
    with pytest.raises(RateLimited):
        policy.call(Flaky(RateLimited("429", retry_after=1)), retry_rate_limited=False)
    assert fake_time.sleeps == []


def test_conflicts_are_not_retriable() -> None:
    assert not RetryPolicy().should_retry(ConflictError("x"), write=False)


@given(attempt=st.integers(min_value=1, max_value=60), draw=st.floats(min_value=0.0, max_value=0.999))
def test_backoff_stays_within_bounds(attempt: int, draw: float) -> None:
    policy = RetryPolicy(random_source=lambda: draw, base_s=0.5, cap_s=10.0, jitter=0.5)
    delay = policy.backoff(attempt)
    full = min(10.0, 0.5 * 2 ** (attempt - 1))
    assert full / 2 <= delay <= full
    assert policy.backoff(attempt, cap_s=300.0) <= 300.0


def test_invalid_policies_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(jitter=1.5)


# -- pacing ----------------------------------------------------------------------------------------------


def test_no_pacing_above_ten_percent(fake_time: FakeTime) -> None:
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep)
    pacer.observe(700, 71)
    assert [pacer.wait() for _ in range(3)] == [0.0, 0.0, 0.0]


def test_below_ten_percent_requests_are_spread_over_the_window(fake_time: FakeTime) -> None:
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep)
    pacer.observe(700, 600)  # the window starts: it ends 60 s later
    fake_time.now += 30.0
    pacer.observe(700, 60)  # under 70: 30 s left for 60 requests
    delays = [pacer.delay() for _ in range(4)]
    assert delays == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert max(delays) < 30.0


def test_an_exhausted_budget_waits_for_the_window_to_reset(fake_time: FakeTime) -> None:
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep)
    pacer.observe(700, 650)
    fake_time.now += 45.0
    pacer.observe(700, 0)
    assert pacer.wait() == pytest.approx(15.0)
    assert fake_time.sleeps == [pytest.approx(15.0)]
    # The window is over: no more pacing until the headers say otherwise.
    assert pacer.wait() == 0.0


def test_a_new_window_is_detected_when_remaining_goes_up(fake_time: FakeTime) -> None:
    pacer = Pacer(clock=fake_time.clock, sleep=fake_time.sleep)
    pacer.observe(700, 10)
    pacer.delay()
    pacer.observe(700, 699)
    assert pacer.delay() == 0.0


def test_the_session_feeds_the_pacer_and_waits_before_sending(
    gw: ZendeskGateway, rsps: responses.RequestsMock, fake_time: FakeTime
) -> None:
    ticket = {"ticket": {"id": 42, "status": "open"}}
    rsps.get(BASE + "tickets/42.json", json=ticket, headers={"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "0"})
    rsps.get(BASE + "tickets/42.json", json=ticket, headers={"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "699"})
    gw.get_ticket(42)
    assert gw.session.pacer.remaining == 0 and gw.session.pacer.limit == 700
    gw.get_ticket(42)
    assert fake_time.sleeps == [60.0]  # the whole window, before the second request left
    assert gw.session.pacer.remaining == 699


def test_the_pacer_is_shared_by_threads(fake_time: FakeTime) -> None:
    lock = threading.Lock()
    pacer = Pacer(clock=fake_time.clock, sleep=lambda s: None)
    pacer.observe(100, 100)
    fake_time.now += 40.0
    pacer.observe(100, 5)
    delays: list[float] = []

    def take() -> None:
        d = pacer.delay()
        with lock:
            delays.append(d)

    threads = [threading.Thread(target=take) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 20 s left for 5 requests: each thread got its own slot.
    assert sorted(delays) == pytest.approx([0.0, 4.0, 8.0, 12.0, 16.0])


# -- the session -----------------------------------------------------------------------------------------


def test_the_proxy_environment_is_read_once_per_host_and_still_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    session = GatewaySession()
    first = session.merge_environment_settings("https://acme.zendesk.com/api/v2/a.json", {}, None, None, None)
    assert first["proxies"]["https"] == "http://proxy.internal:3128"
    first["proxies"].clear()  # a caller's copy: the remembered settings are untouched
    monkeypatch.setenv("HTTPS_PROXY", "http://other.internal:3128")
    again = session.merge_environment_settings("https://acme.zendesk.com/api/v2/b.json", {}, None, None, None)
    assert again["proxies"]["https"] == "http://proxy.internal:3128"  # read once for this host
    local = session.merge_environment_settings("http://127.0.0.1:8080/api/v2/a.json", {}, None, None, None)
    assert "http" not in local["proxies"]  # NO_PROXY still honoured
    plain = session.merge_environment_settings("http://example.test/a", {}, None, None, None)
    assert plain["proxies"]["http"] == "http://proxy.internal:3128"
    explicit = session.merge_environment_settings(
        "https://acme.zendesk.com/api/v2/a.json", {"https": "http://explicit:1"}, None, None, None
    )
    assert explicit["proxies"]["https"] == "http://explicit:1"


def test_the_hook_raises_on_429_and_returns_none_otherwise(rsps: responses.RequestsMock) -> None:
    session = GatewaySession(clock=DateHeaderClock())
    rsps.get("https://acme.zendesk.com/a", body="ok", headers={"Date": "Wed, 01 Jan 2026 10:00:00 GMT"})
    rsps.get("https://acme.zendesk.com/b", status=429, body="slow down", headers={"Retry-After": "5"})
    response = session.get("https://acme.zendesk.com/a")
    assert response.text == "ok"  # the hook did not replace the response
    assert session.zendesk_clock.now() is not None
    with pytest.raises(RateLimitResponse) as info:
        session.get("https://acme.zendesk.com/b")
    assert info.value.response is not None and info.value.response.text == "slow down"
