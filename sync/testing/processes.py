"""Helpers that run casesync's moving parts in their own processes, as on separate machines.

:class:`SandboxProcess` serves the Zendesk sandbox from a child process; :class:`ChildProcess` runs one
mode of ``proc_main.py`` (a sync engine, a poller-lock holder or racer) and reads its output lines.
Everything started here is stopped by its owner in a ``finally``; waits are deadlines, never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import requests

from sync.sandbox.staff import Staff

__all__ = ["REPO", "ChildProcess", "SandboxProcess", "free_port", "wait_for"]

REPO = Path(__file__).resolve().parents[2]
PROC_MAIN = Path(__file__).resolve().with_name("proc_main.py")


def free_port() -> int:
    """A port that was free a moment ago (the child binds it right away)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.setdefault("CASESYNC_LOG_LEVEL", "WARNING")
    return env


class ChildProcess:
    """A child Python process whose stdout lines are collected by a reader thread.

    ``env``: variables added to the child's environment; ``stderr``: a file of the caller's that gets the
    child's stderr (by default a temporary file, read back only to explain a failure).
    """

    def __init__(self, args: list[str], *, name: str, env: dict[str, str] | None = None,
                 stderr: IO[str] | None = None) -> None:
        self.name = name
        # stderr goes to a file, never a pipe: a pipe nobody reads could fill up and block the child.
        self._own_stderr = stderr is None
        self._stderr = tempfile.TemporaryFile(mode="w+") if stderr is None else stderr  # noqa: SIM115 - stop()
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=REPO,
            env={**_child_env(), **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self._reader.start()

    @classmethod
    def main(cls, mode: str, *args: str, name: str) -> ChildProcess:
        """Run ``proc_main.py <mode> <args>``."""
        return cls([str(PROC_MAIN), mode, *args], name=name)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def expect(self, prefix: str, timeout: float) -> str:
        """The next output line starting with ``prefix`` (earlier other lines are skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"{self.name}: no {prefix!r} line within {timeout:.0f}s; output {self.lines[-5:]}"
                    f"\n{self.stderr_tail()}"
                )
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait(timeout=5)
                raise AssertionError(
                    f"{self.name} exited ({self.proc.returncode}) before printing {prefix!r}\n{self.stderr_tail()}"
                )
            if line.startswith(prefix):
                return line

    def stderr_tail(self, chars: int = 3000) -> str:
        """The end of what the child wrote to stderr (nothing when it went to the caller's file)."""
        if not self._own_stderr:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()[-chars:]

    def send(self, line: str) -> None:
        """Write one line to the child's stdin."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to release anything (a crash, a lost machine)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        if self._own_stderr:
            self._stderr.close()
        return self.proc.returncode


class SandboxProcess:
    """The Zendesk sandbox served from its own process (``proc_main.py sandbox``), plus its control endpoints.

    ``start()``/``stop()``, or a context manager.  The sandbox counts the faults it injects
    (:meth:`fault_counts`); ``tuning`` is passed to :class:`~sync.sandbox.Sandbox` (e.g.
    ``requests_per_minute``).  :attr:`agent_email` and :attr:`agent_token` are its admin's credentials.
    """

    def __init__(self, *, rate_limits: bool = False, **tuning: Any) -> None:
        self.rate_limits = rate_limits
        self.tuning = tuning
        self.url = self.agent_email = self.agent_token = ""
        self.child: ChildProcess | None = None
        self.http = requests.Session()

    def start(self) -> SandboxProcess:
        self.child = ChildProcess.main("sandbox", str(self.rate_limits).lower(), json.dumps(self.tuning),
                                       name="sandbox")
        try:
            self.url, self.agent_email, self.agent_token = self.child.expect("ready", 30).split()[1:]
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()
        self.http.close()

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/__sandbox/<path>`` (never faulted, never rate-limited); its JSON answer."""
        # A state dump of a large run takes a while to build: a generous timeout.
        response = self.http.request(method, f"{self.url}/__sandbox/{path}", json=body, timeout=120)
        response.raise_for_status()
        return response.json()

    def admin(self, **options: Any) -> Staff:
        """The sandbox's admin as a support agent (``options`` as for :class:`~sync.sandbox.staff.Staff`)."""
        return Staff(self.url, self.agent_email, self.agent_token, advance_clock=self.advance_clock, **options)

    def reset(self) -> None:
        self.control("POST", "reset")

    def faults(self, body: dict[str, Any]) -> None:
        self.control("POST", "faults", body)

    def advance_clock(self, seconds: float) -> datetime:
        """Move the sandbox's clock forward; its new time."""
        now = self.control("POST", "clock/advance", {"seconds": seconds})["now"]
        return datetime.fromisoformat(str(now).replace("Z", "+00:00"))

    def stats(self) -> dict[str, Any]:
        return dict(self.control("GET", "stats"))

    def state(self) -> dict[str, Any]:
        return dict(self.control("GET", "state"))

    def fault_counts(self) -> dict[str, int]:
        """How often each kind of fault fired since the start (``reset``, ``429``, ``drop_after_commit``, …)."""
        return dict(self.control("GET", "fault_counts")["counts"])
