"""The :class:`Sandbox` object and the blocking :func:`run_sandbox` entry point."""

from __future__ import annotations

import signal
import threading
from types import TracebackType
from typing import Any

from . import (
    control,
    custom_statuses,
    deleted_users,
    directory_exports,
    exports,
    jobs,
    redaction,
    requests_api,
    search,
    suspended,
    tickets_api,
    users_orgs,
    webhooks,
)
from .auth import create_oauth_client, create_oauth_token, current_token
from .clock import Clock
from .job_runner import JobRunner, run_due_jobs
from .routing import Router
from .server import App, SandboxHTTPServer
from .state import Config, Record, State

__all__ = ["Sandbox", "run_sandbox"]


class Sandbox:
    """A stateful Zendesk Support API emulator over real HTTP on 127.0.0.1.

    ``with Sandbox() as zd:`` starts it on an ephemeral port; ``zd.url``, ``zd.agent_email`` and
    ``zd.agent_token`` are what a client needs. Keyword arguments tune it: ``rate_limits`` (default on),
    ``requests_per_minute`` (700), ``export_requests_per_minute`` (10), ``ticket_updates_per_window`` (30
    per ``ticket_update_window_s`` = 600 s), ``auto_close_hours`` (96), ``upload_ttl_s`` (3600),
    ``agent_email``/``agent_token``, ``port`` (0 = ephemeral) and ``host``.
    """

    def __init__(self, *, rate_limits: bool = True, port: int = 0, host: str = "127.0.0.1", **tuning: Any) -> None:
        self.config = Config(rate_limits=rate_limits, **tuning)
        self._initial_token = self.config.agent_token
        self.clock = Clock()
        self.state = State(config=self.config, clock=self.clock)
        api = Router()
        modules = (
            jobs, tickets_api, users_orgs, deleted_users, requests_api, exports, directory_exports, search, webhooks,
            redaction, suspended, custom_statuses,
        )
        for module in modules:
            module.register(api)
        api.add("POST", "/api/v2/oauth/clients", create_oauth_client)
        api.add("POST", "/api/v2/oauth/tokens", create_oauth_token)
        api.add("GET", "/api/v2/oauth/tokens/current", current_token)
        ctl = Router()
        self.app = App(self.state, api, ctl)
        self.faults = self.app.faults
        self.dispatcher = webhooks.Dispatcher(self.state, self.faults)
        self.state.on_event = self.dispatcher.emit
        self.job_runner = JobRunner(self.state)
        control.register(ctl, self)
        self._host, self._port = host, port
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind and serve in a background thread."""
        if self._server is None:
            self._server = SandboxHTTPServer((self._host, self._port), self.app)
            self._thread = threading.Thread(target=self._server.serve_forever, name="sandbox-http", daemon=True)
            self._thread.start()
            self.dispatcher.start()
            self.job_runner.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self.job_runner.stop()
            self.dispatcher.stop()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "the sandbox is not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://{self._host}:{self.port}"

    @property
    def agent_email(self) -> str:
        """The admin agent's email (pairs with the account-wide API token)."""
        return self.config.agent_email

    @property
    def agent_token(self) -> str:
        """The account-wide API token."""
        return self.config.agent_token

    # ----- helpers for tests (everything is also reachable over HTTP) ------------------------------

    def reset(self) -> None:
        """Empty the account (keeps the configuration and the admin), clear faults, limits, clock offset.

        An API token rotated with :meth:`rotate_api_token` is back to the one the sandbox started with.
        """
        with self.state.lock:
            self.config.agent_token = self._initial_token
            self.clock.reset()
            self.state.reset()
            self.faults.clear()
            self.app.limiter.reset()
            self.dispatcher.delivered.clear()

    def advance_clock(self, seconds: float) -> float:
        """Move the sandbox clock forward; returns the new offset (also runs auto-close)."""
        from .tickets import auto_close

        with self.state.lock:
            offset = self.clock.advance(seconds)
            auto_close(self.state)
            run_due_jobs(self.state)
            return offset

    def rotate_api_token(self, token: str | None = None) -> str:
        """Replace the account-wide API token (as an admin does in Zendesk's Admin Center); the old one is
        refused from then on with a 401.  ``None`` restores the token the sandbox started with.  Returns the
        token now in force."""
        with self.state.lock:
            self.config.agent_token = token or self._initial_token
            return self.config.agent_token

    def run_jobs(self) -> int:
        """Run every pending background job now (as ``POST /__sandbox/jobs/run``); returns the items run."""
        with self.state.lock:
            return run_due_jobs(self.state, everything=True)

    def create_agent(self, email: str, name: str | None = None, *, role: str = "agent") -> tuple[str, str]:
        """Create an agent (or admin) and return its ``(email, token)`` credentials."""
        with self.state.lock:
            user = self.state.user_by_email(email)
            if user is None:
                self.state.new_user(name or email.split("@")[0], email, role=role, verified=True)
            else:
                user["role"] = role
        return email.lower(), self.config.agent_token

    def create_end_user(self, email: str, name: str | None = None) -> Record:
        """Create a verified end user (returns the internal record)."""
        with self.state.lock:
            return self.state.new_user(name, email, role="end-user", verified=True)

    def set_ccs_enabled(self, enabled: bool) -> None:
        """Turn the account's CCs and followers setting on or off."""
        with self.state.lock:
            self.state.settings["tickets"]["follower_and_email_cc_collaborations"] = enabled
            self.state.settings["tickets"]["collaboration"] = enabled
            self.state.settings["active_features"]["email_ccs"] = enabled

    def emails(self) -> list[dict[str, Any]]:
        """The notification log (as ``GET /__sandbox/emails``)."""
        with self.state.lock:
            return [dict(e) for e in self.state.emails]

    def webhook_deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt made so far (``{webhook_id, status, ok, at, body}``)."""
        return list(self.dispatcher.delivered)

    def configure_faults(self, body: dict[str, Any]) -> None:
        """Same as ``POST /__sandbox/faults``."""
        self.faults.configure(body)


def run_sandbox(port: int = 8080, host: str = "127.0.0.1", *, rate_limits: bool = True, **tuning: Any) -> None:
    """Serve a sandbox until KeyboardInterrupt or SIGTERM (for ``casesync sandbox --port P``)."""
    sb = Sandbox(rate_limits=rate_limits, port=port, host=host, **tuning)
    stop = threading.Event()

    def _term(signum: int, frame: object) -> None:
        stop.set()

    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _term)
    sb.start()
    print(f"Zendesk sandbox on {sb.url}  (agent {sb.agent_email} / token {sb.agent_token})", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
