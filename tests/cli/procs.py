"""Running ``casesync`` as real processes in tests: environment, ports, readiness polling, clean-up.

Every process started here is killed by the context manager that started it, whatever the test does;
nothing waits blindly — readiness is polled against a deadline.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from sync.testing.processes import free_port, wait_for

__all__ = [
    "AGENT",
    "CASESYNC",
    "Proc",
    "cli_env",
    "free_port",
    "run_cli",
    "running",
    "sandbox_process",
    "wait_until",
    "zendesk_env",
]

#: The installed console script (what operators and the Docker image run), next to this interpreter.
CASESYNC: list[str] = (
    [found] if (found := shutil.which("casesync", path=str(Path(sys.executable).parent))) else
    [sys.executable, "-m", "sync.cli"]
)
#: The sandbox's admin agent (docs/design.md §6 defaults), as HTTP basic-auth for the Zendesk API.
AGENT = ("admin@sandbox.test/token", "sandbox")


def cli_env(**variables: str) -> dict[str, str]:
    """The current environment without any ``CASESYNC_*`` variable, plus ``variables``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASESYNC_")}
    env.update(variables)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def zendesk_env(url: str, **variables: str) -> dict[str, str]:
    """``cli_env`` with the sandbox's agent credentials for ``url``."""
    credentials = {
        "CASESYNC_ZENDESK_URL": url,
        "CASESYNC_ZENDESK_EMAIL": "admin@sandbox.test",
        "CASESYNC_ZENDESK_TOKEN": "sandbox",
    }
    return cli_env(**{**credentials, **variables})


def run_cli(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, *, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``casesync args`` to completion."""
    return subprocess.run(
        [*CASESYNC, *args], env=dict(env), cwd=cwd, input=stdin if stdin is not None else "",
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    return wait_for(predicate, timeout, what or repr(predicate), interval)


class Proc:
    """A child process whose stdout and stderr are collected line by line by reader threads."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self.popen = popen
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(popen.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(popen.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, *, timeout: float, stream: str = "stdout") -> re.Match[str]:
        """The first line of ``stream`` matching ``pattern``; fails if the process exits or time runs out."""
        lines = self.stdout if stream == "stdout" else self.stderr
        regex = re.compile(pattern)

        def found() -> re.Match[str] | None:
            for line in list(lines):
                if match := regex.search(line):
                    return match
            if self.popen.poll() is not None:
                code = self.popen.returncode
                raise AssertionError(f"process exited with {code} before {pattern!r}:\n{self.output()}")
            return None

        match: re.Match[str] = wait_until(found, timeout=timeout, what=pattern)
        return match

    def signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def wait(self, timeout: float) -> int:
        code = self.popen.wait(timeout=timeout)
        self.join_readers()
        return code

    def join_readers(self) -> None:
        """Wait for the readers to reach the end of the output (the process has exited)."""
        for reader in self._readers:
            reader.join(timeout=5)

    def output(self) -> str:
        return "\n".join(["--- stdout", *self.stdout, "--- stderr", *self.stderr])

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(timeout=10)


@contextlib.contextmanager
def running(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> Iterator[Proc]:
    """Start ``args``; on exit the process is terminated (then killed) if it is still running."""
    popen = subprocess.Popen(
        list(args), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    proc = Proc(popen)
    try:
        yield proc
    finally:
        if popen.poll() is None:
            popen.send_signal(signal.SIGTERM)
            try:
                popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        proc.join_readers()
        for stream in (popen.stdout, popen.stderr):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def sandbox_process(cwd: Path, *, rate_limits: bool = False) -> Iterator[str]:
    """``casesync sandbox --port 0`` as a child process; yields its URL once it accepts requests."""
    args = [*CASESYNC, "sandbox", "--port", "0"] + ([] if rate_limits else ["--no-rate-limits"])
    with running(args, cli_env(), cwd) as proc:
        url = proc.wait_for_line(r"Zendesk sandbox on (http://\S+)", timeout=30).group(1)
        wait_until(lambda: _answers(f"{url}/__sandbox/stats"), timeout=15, what="the sandbox")
        yield url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
