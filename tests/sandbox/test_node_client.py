"""node-zendesk, a widely used third-party Zendesk client (npm), drives the sandbox unmodified.

``node_client/package.json`` pins ``node-zendesk`` and ``package-lock.json`` locks it; the first run installs
it from the npm registry with ``npm ci``.  ``node_client/drive.js`` makes a fixed list of calls (reads,
writes, a bulk job and the ticket-event export) and prints one JSON line per call.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.sandbox import Sandbox

CLIENT = Path(__file__).parent / "node_client"

pytestmark = pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                reason="node and npm are needed to run node-zendesk")


@pytest.fixture(scope="module")
def node_zendesk() -> Path:
    if not (CLIENT / "node_modules" / "node-zendesk").is_dir():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENT, check=True, capture_output=True,
                       timeout=240)
    return CLIENT


@pytest.fixture(scope="module")
def open_sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limits=False) as zd:
        yield zd


def _drive(zd: Sandbox, client: Path) -> dict[str, dict[str, Any]]:
    env = {**os.environ, "ZD_URL": zd.url, "ZD_EMAIL": zd.agent_email, "ZD_TOKEN": zd.agent_token}
    out = subprocess.run(["node", "drive.js"], cwd=client, env=env, capture_output=True, text=True, timeout=120,
                         check=True)
    return {line["call"]: line for line in map(json.loads, out.stdout.splitlines())}


def test_node_zendesk_reads_writes_and_exports(open_sandbox: Sandbox, node_zendesk: Path) -> None:
    results = _drive(open_sandbox, node_zendesk)
    failed = {name: r["error"] for name, r in results.items() if not r["ok"]}
    assert failed == {}
    values = {name: r["value"] for name, r in results.items()}
    assert values == {
        "users.me": open_sandbox.agent_email,
        "accountsettings.show": values["accountsettings.show"],
        "users.create": "end-user",
        "tickets.create": "new",
        "tickets.show": "From node",
        "tickets.update": "pending",
        "tickets.getComments": 2,
        "tickets.list": 1,
        "users.list": 2,
        "tickets.updateMany": "string",
        "jobstatuses.show": "completed",
        "tickets.showMany": 1,
        "ticketaudits.list": 3,
        "ticketevents.incrementalInclude": 3,
    }
    assert {"tickets", "active_features"} <= set(values["accountsettings.show"])
