"""``casesync serve`` as a real process against a sandbox process.

Webhooks signed by the sandbox reach the inbox and the console, the HTTP endpoints answer, the status
page renders in a real headless Chromium when one is installed, and SIGTERM stops cleanly without losing
or duplicating work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from .procs import AGENT, CASESYNC, Proc, free_port, run_cli, running, sandbox_process, wait_until, zendesk_env

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
SUBSCRIPTIONS = [
    "zen:event-type:ticket.created",
    "zen:event-type:ticket.comment_added",
    "zen:event-type:ticket.status_changed",
]


@dataclass
class Served:
    sandbox: str
    url: str
    port: int
    db: str
    proc: Proc
    support: Any


def add_webhook(sandbox: str, endpoint: str) -> str:
    """Register ``endpoint`` with the sandbox as Zendesk's admin would; returns the signing secret."""
    with httpx.Client(base_url=sandbox, auth=AGENT, timeout=10) as zd:
        created = zd.post("/api/v2/webhooks", json={"webhook": {
            "name": "casesync", "endpoint": endpoint, "http_method": "POST", "request_format": "json",
            "status": "active", "subscriptions": SUBSCRIPTIONS,
        }})
        assert created.status_code == 201, created.text
        webhook_id = created.json()["webhook"]["id"]
        secret: str = zd.get(f"/api/v2/webhooks/{webhook_id}/signing_secret").json()["signing_secret"]["secret"]
        return secret


def console(db: str) -> Any:
    from sync.api import SupportCases
    from sync.settings import Settings

    support = SupportCases(Settings(database_url=db))
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "u1", "ada@acme.test", "Ada Admin", admin=True)
    return support


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A sandbox, a webhook pointing at a ``casesync serve`` process, and the console's store."""
    cwd = tmp_path_factory.mktemp("serve")
    with sandbox_process(cwd) as sandbox:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        secret = add_webhook(sandbox, f"{url}/webhooks/zendesk")
        db = f"sqlite:///{cwd}/casesync.db"
        support = console(db)
        env = zendesk_env(
            sandbox, CASESYNC_DATABASE_URL=db, CASESYNC_HTTP_HOST="127.0.0.1", CASESYNC_HTTP_PORT=str(port),
            CASESYNC_WEBHOOK_SECRET=secret,
            # Poll once at start only: a later Zendesk change can reach the console only through its webhook.
            CASESYNC_POLL_INTERVAL_S="3600",
        )
        with running([*CASESYNC, "serve"], env, cwd) as proc:
            wait_until(lambda: ready(url) or proc.popen.poll() is not None, timeout=30, what="serve /readyz")
            assert proc.popen.poll() is None, proc.output()
            try:
                yield Served(sandbox, url, port, db, proc, support)
            finally:
                support.store.close()


def test_endpoints_answer(served: Served, tmp_path: Path) -> None:
    with httpx.Client(base_url=served.url, timeout=5) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        assert http.get("/readyz").json() == {"status": "ready"}
        metrics = http.get("/metrics").text
        for name in ("casesync_zendesk_requests_total", "casesync_webhook_deliveries_total",
                     "casesync_outbox_depth", "casesync_dead_letters"):
            assert name in metrics
        page = http.get("/")
        assert page.status_code == 200 and "casesync status" in page.text and "Queue depth" in page.text
        status = http.get("/status.json").json()
        assert {"queue_depth", "dead_letters", "conflicts", "webhook_deliveries", "cursor_lag_s"} <= set(status)
    # The command the Docker HEALTHCHECK runs.
    probe = run_cli(["healthcheck"], zendesk_env(served.sandbox, CASESYNC_HTTP_PORT=str(served.port)), tmp_path)
    assert probe.returncode == 0, probe.stderr


def test_a_signed_webhook_brings_a_staff_reply_into_the_console(served: Served) -> None:
    support = served.support
    case = support.submit("acme", "u1", "VPN drops", "The VPN drops every hour.")
    ticket_id = wait_until(lambda: support.get("acme", case.id).ticket_id, timeout=20, what="the ticket")
    with httpx.Client(base_url=served.sandbox, auth=AGENT, timeout=10) as zd:
        answer = zd.put(f"/api/v2/tickets/{ticket_id}", json={"ticket": {
            "comment": {"body": "Which client version do you run?", "public": True}, "status": "pending",
        }})
        assert answer.status_code == 200, answer.text

    def replied() -> bool:
        got = support.get("acme", case.id)
        return got.status.value == "Pending" and any(m.author == "staff" for m in got.messages)

    wait_until(replied, timeout=20, what="the staff reply in the console")
    status = httpx.get(f"{served.url}/status.json", timeout=5).json()
    assert status["webhook_deliveries"] >= 1 and status["last_webhook_at"]
    metrics = httpx.get(f"{served.url}/metrics", timeout=5).text
    accepted = next(line for line in metrics.splitlines()
                    if line.startswith('casesync_webhook_deliveries_total{outcome="accepted"}'))
    assert float(accepted.rsplit(" ", 1)[1]) >= 1


@pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no headless browser at {CHROMIUM} "
                    "(Debian package `chromium`; .ci/run installs it)")
def test_status_page_in_headless_chromium(served: Served, tmp_path: Path) -> None:
    figures = httpx.get(f"{served.url}/status.json", timeout=5).json()
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "status-page.png"
    shot.unlink(missing_ok=True)
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,900", f"{served.url}/status"],
                   capture_output=True, timeout=60, check=False)
    assert shot.exists(), "chromium wrote no screenshot"
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000  # a rendered page, not a blank one

    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", f"{served.url}/status"],
                         capture_output=True, text=True, timeout=60, check=False).stdout
    assert "<h1>casesync status</h1>" in dom
    for label in ("Queue depth", "Dead letters", "Conflicts", "Webhook deliveries", "Cursor lag"):
        assert label in dom
    assert f">{figures['cases']}<" in dom
    # The operator's sections: the last hour as inline SVG charts, the case lookup, the queues; read-only
    # here (no CASESYNC_OPERATOR_TOKEN), so no action forms.
    sections = ("The last hour", "Where is a case?", "Held entries", "Open conflicts", "Latest errors", "Read-only")
    for section in sections:
        assert section in dom, section
    assert dom.count("<svg") == 2 and "/operator/" not in dom

    lookup = ARTIFACTS / "status-page-case.png"
    lookup.unlink(missing_ok=True)
    subprocess.run([CHROMIUM, *flags, f"--screenshot={lookup}", "--window-size=1200,1400",
                    f"{served.url}/status?case=1"], capture_output=True, timeout=60, check=False)
    assert lookup.exists() and lookup.read_bytes().startswith(b"\x89PNG")


def test_sigterm_finishes_the_item_in_hand_and_loses_nothing(tmp_path: Path) -> None:
    with sandbox_process(tmp_path) as sandbox:
        # Slow ticket creation down, so that SIGTERM arrives while deliveries are under way.
        rule = {"path": r"^/api/v2/tickets", "method": "POST", "latency_ms": 150}
        assert httpx.post(f"{sandbox}/__sandbox/faults", json={"seed": 1, "rules": [rule]}, timeout=5).is_success
        db = f"sqlite:///{tmp_path}/casesync.db"
        support = console(db)
        cases = [support.submit("acme", "u1", f"Case {n}", f"Body {n}").id for n in range(12)]
        port = free_port()
        env = zendesk_env(sandbox, CASESYNC_DATABASE_URL=db, CASESYNC_HTTP_HOST="127.0.0.1",
                          CASESYNC_HTTP_PORT=str(port))
        try:
            with running([*CASESYNC, "serve"], env, tmp_path) as proc:
                wait_until(lambda: any(support.get("acme", c).ticket_id for c in cases), timeout=30,
                           what="a first delivery")
                proc.signal(signal.SIGTERM)
                assert proc.wait(timeout=30) == 0, proc.output()
                assert any('"serve.stopped"' in line for line in proc.stderr)
            delivered = [c for c in cases if support.get("acme", c).ticket_id]
            assert 0 < len(delivered) < len(cases), f"SIGTERM did not land mid-work ({len(delivered)} delivered)"

            # Nothing is left leased or half-done: the rest is simply still queued, and a restart finishes it.
            with support.store.read() as tx:
                entries = tx.outbox_entries()
            assert {e.status for e in entries} == {"pending", "done"}
            assert [e.id for e in entries if e.status == "pending" and e.lease_owner] == []
            status = json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)
            assert status["dead_letters"] == 0
            for _ in range(10):
                if json.loads(run_cli(["status", "--json"], env, tmp_path).stdout)["queue_depth"] == 0:
                    break
                assert run_cli(["sync", "--once"], env, tmp_path).returncode == 0
            assert all(support.get("acme", c).ticket_id for c in cases)
            with httpx.Client(base_url=sandbox, auth=AGENT, timeout=10) as zd:
                tickets = zd.get("/api/v2/tickets", params={"per_page": 100}).json()["tickets"]
            external = [t["external_id"] for t in tickets if t.get("external_id")]
            assert sorted(external) == sorted(f"console-case:{c}" for c in cases)  # one ticket per case
        finally:
            support.store.close()

