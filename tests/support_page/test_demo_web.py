"""``casesync demo --web`` without a browser: what it serves, what it prints, and that it stops."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from sync.demo_web import WebDemo, run_demo_web
from sync.web.demo_site import STATIC_DIR


def test_the_pages_are_package_files() -> None:
    for name in ("support/index.html", "support/support.js", "support/style.css", "agent/index.html",
                 "agent/agent.js", "agent/agent.css"):
        assert (STATIC_DIR / name).is_file(), name


def test_it_serves_the_pages_the_api_and_the_agents_zendesk_api() -> None:
    with WebDemo() as demo:
        page = httpx.get(f"{demo.base_url}/demo/support/", timeout=10)
        assert page.status_code == 200 and '<script src="support.js"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert httpx.get(f"{demo.base_url}/demo/agent/agent.js", timeout=10).status_code == 200
        assert demo.token not in page.text  # the page gets the token only from the URL's fragment

        api = f"{demo.base_url}/api/v1/accounts/acme"
        assert httpx.get(f"{api}/recipients", timeout=10).status_code == 401
        recipients = httpx.get(f"{api}/recipients", headers={"Authorization": f"Bearer {demo.token}"}, timeout=10)
        assert recipients.json() == {"recipients": ["alice@acme.test", "it-support@acme.test"]}

        me = httpx.get(f"{demo.base_url}/demo/zendesk/api/v2/users/me.json", timeout=10).json()["user"]
        assert me["name"] == "Sam Rivera" and me["role"] == "agent"
        assert httpx.get(f"{demo.base_url}/healthz", timeout=10).json() == {"status": "ok"}


def test_run_demo_web_prints_the_urls_and_stops_when_told() -> None:
    lines: list[str] = []
    stop = threading.Event()
    result: list[int] = []

    def printed(line: str) -> None:
        lines.append(line)
        if any("OpenAPI document" in seen for seen in lines):
            stop.set()

    runner = threading.Thread(target=lambda: result.append(run_demo_web(stop=stop, out=printed)))
    runner.start()
    runner.join(timeout=60)
    assert result == [0]
    text = "\n".join(lines)
    assert "/demo/support/#token=" in text and "&account=acme&user=bob" in text
    assert "/demo/agent/" in text and "/api/v1/openapi.json" in text


@pytest.mark.timeout(120)
def test_casesync_demo_web_serves_until_ctrl_c(tmp_path: Path) -> None:
    casesync = Path(sys.executable).with_name("casesync")
    proc = subprocess.Popen([str(casesync), "demo", "--web"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(5)]
        support = next(line for line in lines if "Support page (as" in line).split()[-1]
        assert support.startswith("http://127.0.0.1:")
        base = support.split("/demo/")[0]
        assert httpx.get(f"{base}/demo/support/", timeout=10).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert list(tmp_path.iterdir()) == []  # the store lived in a temporary directory
