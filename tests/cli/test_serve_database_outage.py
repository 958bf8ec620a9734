"""``casesync serve`` rides out a PostgreSQL restart: ``/readyz`` 503 meanwhile, the process stays up,
reconnects with a backoff, and every change queued is delivered afterwards.

A TCP proxy between casesync and PostgreSQL plays the restart (cut, then restored), so the shared
PostgreSQL server of the machine is never restarted.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from tests.support.tcpproxy import TcpProxy

from .procs import CASESYNC, free_port, running, sandbox_process, wait_until, zendesk_env


def readyz(url: str) -> int:
    try:
        return httpx.get(f"{url}/readyz", timeout=3).status_code
    except httpx.HTTPError:
        return 0


def not_ready_reason(url: str) -> str:
    answer = httpx.get(f"{url}/readyz", timeout=3)
    assert answer.status_code == 503
    return str(answer.json()["reason"])


def test_serve_rides_out_a_database_outage(tmp_path: Path, pg_database: str) -> None:
    from sync.api import SupportCases
    from sync.settings import Settings

    direct = make_url(pg_database)
    support = SupportCases(Settings(database_url=pg_database))
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "u1", "ada@acme.test", "Ada")
    with TcpProxy(direct.host or "127.0.0.1", direct.port or 5432) as proxy, sandbox_process(tmp_path) as sandbox:
        proxied = direct.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = zendesk_env(sandbox, CASESYNC_DATABASE_URL=proxied, CASESYNC_HTTP_HOST="127.0.0.1",
                          CASESYNC_HTTP_PORT=str(port), CASESYNC_POLL_INTERVAL_S="1")
        with running([*CASESYNC, "serve"], env, tmp_path) as proc:
            wait_until(lambda: readyz(url) == 200 or proc.popen.poll() is not None, timeout=30, what="ready")
            first = support.submit("acme", "u1", "Before", "Before the restart.")
            wait_until(lambda: support.get("acme", first.id).ticket_id, timeout=20, what="the first ticket")

            proxy.cut()  # PostgreSQL goes away
            wait_until(lambda: readyz(url) == 503, timeout=20, what="/readyz 503 while the database is away")
            proc.wait_for_line("store_unavailable", timeout=20, stream="stderr")
            assert not_ready_reason(url).startswith("the database does not answer")
            # Written by the console just before the restart (its own connection still had it).
            second = support.submit("acme", "u1", "During", "While the database restarts.")
            assert readyz(url) == 503 and proc.popen.poll() is None

            proxy.restore()  # PostgreSQL is back
            wait_until(lambda: readyz(url) == 200, timeout=40, what="/readyz 200 after the restart")
            wait_until(lambda: support.get("acme", second.id).ticket_id, timeout=30, what="the second ticket")
            assert proc.popen.poll() is None
            counts = support.store.counts()
            assert counts.outbox_pending == 0 and counts.outbox_dead == 0
    support.store.close()
