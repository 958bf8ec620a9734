"""The casesync worker process of the chaos run and the soak, started, SIGKILLed and restarted by them.

The sandbox process, the staff client and free ports come from the package's test kit
(:mod:`sync.testing.processes`, :mod:`sync.sandbox.staff`), shared with the tests.
"""

from __future__ import annotations

import subprocess
from typing import IO

from sync.testing.processes import ChildProcess

__all__ = ["WorkerProcess"]


class WorkerProcess:
    """``python -m benchmarks.worker_proc``: the engine loop and the webhook receiver, as ``casesync serve``.

    ``env``: the ``CASESYNC_*`` settings; ``log`` gets the worker's log lines (stderr).
    """

    def __init__(self, env: dict[str, str], *, webhook_port: int = 0, log: IO[str] | None = None) -> None:
        self.env = env
        self.webhook_port = webhook_port
        self.log = log
        self.child: ChildProcess | None = None
        self.kills = 0

    @property
    def proc(self) -> subprocess.Popen[str] | None:
        """The running (or exited) process, None before the first start."""
        return self.child.proc if self.child is not None else None

    def start(self) -> None:
        self.child = ChildProcess(["-m", "benchmarks.worker_proc", "--webhook-port", str(self.webhook_port)],
                                  name="worker", env=self.env, stderr=self.log)
        self.child.expect("READY", 60)

    def kill(self) -> None:
        """SIGKILL: no cleanup, leases and transactions are left as a crash leaves them."""
        if self.child is not None and self.child.proc.poll() is None:
            self.child.kill()
            self.kills += 1

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def __enter__(self) -> WorkerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
