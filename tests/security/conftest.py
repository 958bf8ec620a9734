"""Fixtures for the security tests: a real store, the real webhook receiver over HTTP, and a synced world.

The receiver is served by uvicorn (``serve_app``) on 127.0.0.1 with the store's real sink, so every check
runs through the same code and transport as in ``casesync serve``.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sync.inbound import webhook_sink
from sync.report import SyncReport
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.store import Store, open_store
from sync.testing.world import World as EngineWorld
from sync.web.app import create_app, serve_app

SECRET = "whsec-security-tests-0123456789abcdef"
MAX_BODY = 8192


@dataclass
class Receiver:
    """The webhook receiver on a real port, backed by a real store."""

    port: int
    store: Store

    def post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("POST", "/webhooks/zendesk", body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()


@pytest.fixture
def db_store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path / 'security.db'}")
    opened.counts()  # the schema is created on first use; the dumps compare from here on
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def receiver(db_store: Store) -> Iterator[Receiver]:
    settings = Settings(webhook_secret=SECRET, webhook_max_body_bytes=MAX_BODY)
    app = create_app(settings=settings, sink=webhook_sink(db_store), status_provider=dict, ready=lambda: (True, ""))
    stop = threading.Event()
    started = threading.Event()
    ports: list[int] = []

    def on_started(port: int) -> None:
        ports.append(port)
        started.set()

    thread = threading.Thread(target=serve_app, args=(app, "127.0.0.1", 0),
                              kwargs={"stop": stop, "on_started": on_started}, daemon=True)
    thread.start()
    try:
        assert started.wait(15), "the receiver did not start"
        yield Receiver(ports[0], db_store)
    finally:
        stop.set()
        thread.join(timeout=15)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limits=False) as zd:
        yield zd


class World(EngineWorld):
    """Two accounts synced with a sandbox through a real engine; a staff agent acting over Zendesk's API."""

    def __init__(self, zd: Sandbox, db: Path, **settings: Any) -> None:
        super().__init__(zd, f"sqlite:///{db}", staff=("sam@support.test", "Sam Staff"), **settings)
        for account in ("acme", "globex"):
            self.support.upsert_account(account, account.title())
            self.support.upsert_user(account, "admin", f"admin@{account}.test", f"{account} Admin", admin=True)
            self.support.upsert_user(account, "user", f"user@{account}.test", f"{account} User")

    def sync(self, rounds: int = 4, *, until_idle: bool = False) -> SyncReport:
        """Four polls by default, whether or not a pass moved anything."""
        return super().sync(rounds, until_idle=until_idle)

    def submit(self, account: str, body: str = "help") -> tuple[int, int]:
        case = self.support.submit(account, "user", "Subject", body)
        self.sync(2)
        ticket = self.support.get(account, case.id).ticket_id
        assert ticket is not None
        return case.id, ticket


@pytest.fixture
def world(sandbox: Sandbox, tmp_path: Path) -> Iterator[World]:
    sandbox.reset()
    w = World(sandbox, tmp_path / "world.db")
    try:
        yield w
    finally:
        w.engine.close()
