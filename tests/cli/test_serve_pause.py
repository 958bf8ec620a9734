"""``casesync serve`` with credentials Zendesk refuses: ``/readyz`` 503 naming the cause, ``status`` says
paused, nothing dead-lettered, and the sync resumes by itself within a minute (docs/design.md §8)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from .procs import CASESYNC, free_port, run_cli, running, sandbox_process, wait_until, zendesk_env


def readyz(url: str) -> tuple[int, dict[str, str]]:
    try:
        answer = httpx.get(f"{url}/readyz", timeout=2)
    except httpx.HTTPError:
        return 0, {}
    return answer.status_code, answer.json()


def test_serve_pauses_on_refused_credentials_and_resumes(tmp_path: Path) -> None:
    from sync.api import SupportCases
    from sync.settings import Settings

    with sandbox_process(tmp_path) as sandbox:
        db = f"sqlite:///{tmp_path}/casesync.db"
        support = SupportCases(Settings(database_url=db))
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "u1", "ada@acme.test", "Ada")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = zendesk_env(sandbox, CASESYNC_DATABASE_URL=db, CASESYNC_HTTP_HOST="127.0.0.1",
                          CASESYNC_HTTP_PORT=str(port), CASESYNC_POLL_INTERVAL_S="1")
        with running([*CASESYNC, "serve"], env, tmp_path) as proc:
            wait_until(lambda: readyz(url)[0] == 200 or proc.popen.poll() is not None, timeout=30, what="ready")
            assert proc.popen.poll() is None, proc.output()

            rotated = httpx.post(f"{sandbox}/__sandbox/api_token", json={"token": "rotated"}, timeout=5)
            assert rotated.status_code == 200
            case = support.submit("acme", "u1", "VPN drops", "It drops every hour.")
            _code, body = wait_until(lambda: (r := readyz(url))[0] == 503 and r, timeout=30, what="/readyz 503")
            assert "Zendesk refuses the credentials" in body["reason"]

            status = run_cli(["status", "--json"], env, tmp_path)
            figures = json.loads(status.stdout)
            assert figures["connection"] == "paused"
            assert figures["connection_paused_cause"] == "credentials_refused"
            assert figures["dead_letters"] == 0
            metrics = httpx.get(f"{url}/metrics", timeout=5).text
            assert 'casesync_connection_paused{cause="credentials_refused"} 1.0' in metrics

            httpx.post(f"{sandbox}/__sandbox/api_token", json={"token": None}, timeout=5)
            wait_until(lambda: readyz(url)[0] == 200, timeout=60, what="/readyz 200 again")
            wait_until(lambda: support.get("acme", case.id).ticket_id, timeout=30, what="the ticket")
            assert support.store.counts().outbox_dead == 0
        support.store.close()
