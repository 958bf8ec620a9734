"""Fixtures: one sandbox per session, reset before each test; an admin session over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from sync.sandbox import Sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as zd:
        yield zd


@pytest.fixture()
def zd(sandbox: Sandbox) -> Sandbox:
    sandbox.reset()
    return sandbox


@pytest.fixture()
def admin(zd: Sandbox) -> requests.Session:
    s = requests.Session()
    s.auth = (f"{zd.agent_email}/token", zd.agent_token)
    return s
