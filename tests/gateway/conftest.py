"""Fixtures: a gateway on https://acme.zendesk.com with fake time, and ``responses`` intercepting HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from sync.gateway import DateHeaderClock, GatewaySession, ZendeskGateway
from sync.retry import Pacer, RetryPolicy
from tests.gateway.gateway_fakes import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def policy(fake_time: FakeTime) -> RetryPolicy:
    return RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock, random_source=lambda: 0.5, max_elapsed_s=120.0)


@pytest.fixture
def session(fake_time: FakeTime) -> GatewaySession:
    return GatewaySession(
        pacer=Pacer(clock=fake_time.clock, sleep=fake_time.sleep), clock=DateHeaderClock(fake_time.clock)
    )


@pytest.fixture
def gw(session: GatewaySession, policy: RetryPolicy) -> ZendeskGateway:
    return ZendeskGateway(
        url="https://acme.zendesk.com", email="agent@acme.test", token="tok", session=session, policy=policy
    )


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
