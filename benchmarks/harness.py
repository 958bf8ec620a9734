"""Shared pieces of the chaos run and the benchmarks: processes, a support agent, and small helpers.

Every subprocess is started on 127.0.0.1, waited for with a deadline, and killed in ``finally`` by the
context managers here.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import requests

__all__ = ["Agent", "SandboxProcess", "WorkerProcess", "free_port", "wait_until"]

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate: Any, timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout_s`` has passed; returns its last value."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def _read_ready(proc: subprocess.Popen[str], timeout_s: float) -> list[str]:
    """The words after ``READY`` on the process's first such stdout line (with a deadline)."""
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()

    def pump(stream: IO[str]) -> None:
        # Keeps reading so the pipe never fills up and blocks the child.
        for line in stream:
            lines.put(line)

    threading.Thread(target=pump, args=(proc.stdout,), daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode} before it was ready") from None
            continue
        if line.startswith("READY"):
            return line.split()[1:]
    raise RuntimeError("process did not get ready in time")


def _kill(proc: subprocess.Popen[str] | None, sig: int = signal.SIGTERM, grace_s: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class SandboxProcess:
    """``python -m benchmarks.sandbox_proc`` as a context manager, with its control endpoints."""

    def __init__(self, *, rate_limits: bool = False, requests_per_minute: int = 700) -> None:
        self.args = ["--requests-per-minute", str(requests_per_minute)] + (["--rate-limits"] if rate_limits else [])
        self.proc: subprocess.Popen[str] | None = None
        self.url = self.agent_email = self.agent_token = ""
        self.http = requests.Session()

    def __enter__(self) -> SandboxProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.sandbox_proc", *self.args],
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
        )
        try:
            self.url, self.agent_email, self.agent_token = _read_ready(self.proc, 30)
        except BaseException:
            _kill(self.proc)
            raise
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        _kill(self.proc)
        self.http.close()

    def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """Call ``/__sandbox/<path>`` (never faulted, never rate-limited)."""
        response = self.http.request(method, f"{self.url}/__sandbox/{path}", json=body, timeout=120)
        response.raise_for_status()
        return response.json()

    def faults(self, body: dict[str, Any]) -> None:
        self.control("POST", "faults", body)

    def advance(self, seconds: float) -> None:
        self.control("POST", "clock/advance", {"seconds": seconds})

    def state(self) -> dict[str, Any]:
        return dict(self.control("GET", "state"))

    def stats(self) -> dict[str, Any]:
        return dict(self.control("GET", "stats"))

    def fault_counts(self) -> dict[str, int]:
        return dict(self.control("GET", "fault_counts")["counts"])


class WorkerProcess:
    """``python -m benchmarks.worker_proc``: started, SIGKILLed and restarted by the chaos run."""

    def __init__(self, env: dict[str, str], *, webhook_port: int = 0, log: IO[str] | None = None) -> None:
        self.env = {**os.environ, **env}
        self.webhook_port = webhook_port
        self.log = log
        self.proc: subprocess.Popen[str] | None = None
        self.kills = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.worker_proc", "--webhook-port", str(self.webhook_port)],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=self.log or subprocess.DEVNULL, text=True,
        )
        _read_ready(self.proc, 60)

    def kill(self) -> None:
        """SIGKILL: no cleanup, leases and transactions are left as a crash leaves them."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.kills += 1

    def stop(self) -> None:
        _kill(self.proc)

    def __enter__(self) -> WorkerProcess:
        self.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


class Agent:
    """A support agent (or the sandbox's email channel) acting through Zendesk's ordinary API.

    Faults hit the agent's requests too; like a person clicking again, it retries a few times on 429, 5xx,
    resets and answers cut short, and gives up quietly on a refusal (a 4xx, e.g. updating a ticket that is
    closed).
    """

    def __init__(self, url: str, email: str, token: str) -> None:
        self.base = url
        self.http = requests.Session()
        self.http.auth = (f"{email}/token", token)
        self.failures = 0
        self.id = int((self.call("GET", "users/me") or {})["user"]["id"])

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, attempts: int = 4) -> Any:
        """The JSON answer of ``/api/v2/<path>``, or None when Zendesk refused or kept failing."""
        for attempt in range(attempts):
            try:
                response = self.http.request(method, f"{self.base}/api/v2/{path}", json=body, timeout=30)
            except requests.RequestException:
                time.sleep(0.05 * (attempt + 1))
                continue
            if response.status_code in (429, 500, 502, 503):
                time.sleep(min(float(response.headers.get("Retry-After") or 0.05), 1.0))
                continue
            if response.status_code >= 400:
                self.failures += 1
                return None
            try:
                return response.json() if response.content else {}
            except ValueError:  # an answer cut short on the way: look again, as a person reloads the page
                time.sleep(0.05)
                continue
        self.failures += 1
        return None

    def upload(self, filename: str, data: bytes) -> Any:
        """``POST /api/v2/uploads`` → the ``upload`` object (token and attachment), or None when refused."""
        for attempt in range(4):
            try:
                response = self.http.post(f"{self.base}/api/v2/uploads", params={"filename": filename}, data=data,
                                          headers={"Content-Type": "application/octet-stream"}, timeout=30)
            except requests.RequestException:
                time.sleep(0.05 * (attempt + 1))
                continue
            if response.status_code < 300:
                try:
                    return response.json().get("upload")
                except ValueError:  # cut short: the upload may exist, unused; upload again
                    continue
            if response.status_code not in (429, 500, 502, 503):
                break
        self.failures += 1
        return None

    def email_reply(self, ticket_id: int, sender: str, body: str) -> Any:
        """An end user answering by email (the sandbox's email channel; never faulted)."""
        response = self.http.post(
            f"{self.base}/__sandbox/tickets/{ticket_id}/email_reply", json={"from": sender, "body": body}, timeout=30
        )
        return response.json() if response.status_code < 300 else None
