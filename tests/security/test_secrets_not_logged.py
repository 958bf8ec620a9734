"""Secrets never reach a log: a full engine run (API token, then an OAuth token with impersonation), webhook
deliveries with the signing secret, and faults that make every error path log, captured at DEBUG level."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.logging import REDACTED, configure_logging, get_logger
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.web.app import create_app
from sync.web.signature import sign

API_TOKEN = "apitok-7c1e9b2f4a5d6e8f0a1b2c3d"
WEBHOOK_SECRET = "whsec-3f9a8b7c6d5e4f3a2b1c0d9e"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """Everything structlog renders and everything the standard logging tree (urllib3, uvicorn) emits."""
    out = io.StringIO()
    configure_logging("json", "DEBUG", stream=out)
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        configure_logging("json", "WARNING")


def _oauth_token(zd: Sandbox) -> str:
    http = requests.Session()
    http.auth = (f"{zd.agent_email}/token", API_TOKEN)
    client = http.post(f"{zd.url}/api/v2/oauth/clients", json={"client": {"name": "c", "identifier": "c"}},
                       timeout=10).json()["client"]
    token = http.post(f"{zd.url}/api/v2/oauth/tokens",
                      json={"token": {"client_id": client["id"], "scopes": ["read", "write", "impersonate"]}},
                      timeout=10).json()["token"]
    return str(token["full_token"])


def _run(settings: Settings, zd: Sandbox) -> None:
    engine = SyncEngine(settings)
    try:
        support = SupportCases(store=engine.store)
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "ann", "ann@acme.test", "Ann", admin=True)
        case = support.submit("acme", "ann", "Help", "it broke")
        for _ in range(3):
            zd.advance_clock(61)
            engine.run_once()
        support.reply("acme", case.id, "ann", "more")
        for _ in range(6):
            zd.advance_clock(61)
            engine.run_once()
    finally:
        engine.close()


def test_no_secret_appears_in_any_log_line(captured: io.StringIO, tmp_path: Path) -> None:
    with Sandbox(rate_limits=False, agent_token=API_TOKEN) as zd:
        oauth = _oauth_token(zd)
        # Every error path: refusals, resets, lost answers; the retries log each attempt.
        zd.configure_faults({"seed": 3, "rules": [{"path": "^/api/v2/", "error_429": 0.04, "error_500": 0.05,
                                                   "error_503": 0.04, "reset": 0.05, "drop_after_commit": 0.05}]})
        common: dict[str, Any] = {"zendesk_url": zd.url, "default_assignee_email": zd.agent_email, "poll_interval_s": 0,
                  "webhook_secret": WEBHOOK_SECRET, "outbox_max_backoff_s": 0.01}
        _run(Settings(zendesk_email=zd.agent_email, zendesk_token=API_TOKEN,
                      database_url=f"sqlite:///{tmp_path / 'a.db'}", **common), zd)
        _run(Settings(zendesk_oauth_token=oauth,
                      database_url=f"sqlite:///{tmp_path / 'b.db'}", **common), zd)
        _webhooks(tmp_path)
    log = get_logger("security-test")
    basic = base64.b64encode(f"{zd.agent_email}/token:{API_TOKEN}".encode()).decode()
    log.warning("outgoing", headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})
    log.warning("raw header text", detail=f"Authorization: Bearer {oauth}")
    text = captured.getvalue()
    assert "outbox" in text or "retry" in text, "the run logged nothing: the capture is broken"
    for secret in (API_TOKEN, oauth, WEBHOOK_SECRET, basic):
        assert secret not in text
    events = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    outgoing = next(e for e in events if e.get("event") == "outgoing")
    assert outgoing["headers"] == REDACTED or outgoing["headers"]["Authorization"] == REDACTED
    assert REDACTED in next(e for e in events if e.get("event") == "raw header text")["detail"]


def _webhooks(tmp_path: Path) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Starlette's TestClient prefers httpx2; httpx works
        from starlette.testclient import TestClient

    from sync.inbound import webhook_sink
    from sync.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'c.db'}")
    settings = Settings(webhook_secret=WEBHOOK_SECRET)
    app = create_app(settings=settings, sink=webhook_sink(store), status_provider=dict, ready=lambda: (True, ""))
    body = b'{"ticket_id": 5}'
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with TestClient(app) as client:
        for signature in (sign(WEBHOOK_SECRET, ts, body), sign("forged", ts, body), "garbage"):
            client.post("/webhooks/zendesk", content=body, headers={
                "X-Zendesk-Webhook-Signature": signature, "X-Zendesk-Webhook-Signature-Timestamp": ts})
    store.close()
