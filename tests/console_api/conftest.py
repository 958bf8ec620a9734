"""The console HTTP API served for real: ``create_app`` with the API mounted, uvicorn on 127.0.0.1."""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.api import SupportCases
from sync.settings import Settings
from sync.store import open_store
from sync.web import create_app, serve_app
from sync.web.api import create_api

TOKEN = "console-api-test-token"


@dataclass
class Served:
    """A running server: its base URL, an authorized client and the library behind it."""

    url: str
    http: httpx.Client
    support: SupportCases


@contextlib.contextmanager
def serve(support: SupportCases | None, **api_options: Any) -> Iterator[str]:
    """Serve the whole app (the API mounted when ``support`` is given; off otherwise) on 127.0.0.1."""
    api = create_api(support, TOKEN, **api_options) if support is not None else None
    app = create_app(settings=Settings(_env_file=None), sink=lambda _hint: True,
                     status_provider=lambda: {}, ready=lambda: (True, ""), api=api)
    stop = threading.Event()
    ports: queue.Queue[int] = queue.Queue()
    thread = threading.Thread(target=serve_app, args=(app, "127.0.0.1", 0),
                              kwargs={"stop": stop, "on_started": ports.put}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=10)}"
    finally:
        stop.set()
        thread.join(timeout=10)


@contextlib.contextmanager
def serving(db: Path | str) -> Iterator[Served]:
    """A server over a store at ``db``: a SQLite file path, or a database URL."""
    store = open_store(db if isinstance(db, str) else f"sqlite:///{db}")
    support = SupportCases(store=store)
    try:
        with serve(support, max_body_bytes=64 * 1024, max_wait_s=5.0) as url, httpx.Client(
            base_url=url, timeout=15, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            yield Served(url, http, support)
    finally:
        store.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A fresh store behind a fresh server."""
    with serving(tmp_path / "casesync.db") as served:
        yield served


@pytest.fixture
def acme_on_each(store_url: str) -> Iterator[Served]:
    """``acme`` on each store backend (SQLite, and PostgreSQL when there is one)."""
    with serving(store_url) as served:
        yield populated(served)


@pytest.fixture
def acme(served: Served) -> Served:
    """Two accounts: acme (admin alice, user bob) and globex (carol)."""
    return populated(served)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """``acme`` shared by a module's tests that only check what a request does *not* change."""
    with serving(tmp_path_factory.mktemp("shared") / "casesync.db") as served:
        yield populated(served)


def populated(served: Served) -> Served:
    http = served.http
    for account, name in (("acme", "Acme Corp"), ("globex", "Globex")):
        assert http.put(f"/api/v1/accounts/{account}", json={"name": name}).status_code == 200
    for account, user, admin in (("acme", "alice", True), ("acme", "bob", False), ("globex", "carol", True)):
        body = {"email": f"{user}@{account}.test", "name": user.title(), "admin": admin}
        assert http.put(f"/api/v1/accounts/{account}/users/{user}", json=body).status_code == 200
    return served


def snapshot(support: SupportCases) -> tuple[Any, ...]:
    """Everything a write could change: outbox and case counts, both accounts' cases with messages, the feed."""
    return (support.store.counts(), support.list("acme"), support.list("globex"), support.changes(0))
