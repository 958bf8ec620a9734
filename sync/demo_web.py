"""``casesync demo --web``: the console's Support page and an agent view in a browser, against the sandbox.

Like ``casesync demo`` it needs no Zendesk account: the sandbox, a temporary SQLite store and the sync
engine run in this process.  The HTTP server is the ``casesync serve`` app with the console HTTP API turned
on (a random token) and the demo's pages (:mod:`sync.web.demo_site`) beside it, on 127.0.0.1 only.  It seeds
the account of ``casesync demo`` (Acme Corp: Alice the admin, Bob, and a registered address) and an agent,
prints the URLs, and serves until Ctrl-C.
"""

from __future__ import annotations

import queue
import secrets
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from sync.api import SupportCases
from sync.engine import SyncEngine
from sync.logging import get_logger
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.web import create_app, serve_app
from sync.web.api import create_api
from sync.web.demo_site import create_demo_site

__all__ = ["ACCOUNT", "AGENT_EMAIL", "WebDemo", "run_demo_web"]

log = get_logger(__name__)

ACCOUNT = "acme"
AGENT_EMAIL = "sam.rivera@sandbox.test"
#: How often the in-process engine runs a sync pass.
SYNC_EVERY_S = 1.0
#: Zendesk's incremental export leaves out its most recent minute: after an agent's change the sandbox's
#: clock is moved past it, so the next pass imports the change.
EXPORT_LAG_S = 61.0


class WebDemo:
    """The sandbox, the store, the engine and the demo's HTTP server; ``with WebDemo() as demo: …``.

    ``port`` 0 picks a free port.  ``support_url`` (with the token, the account and the user in its
    fragment) and ``agent_url`` are set once it has started.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self.port = host, port
        self.token = secrets.token_urlsafe(24)
        self.stop = threading.Event()
        self._agent_wrote = threading.Event()
        self._tmp = tempfile.TemporaryDirectory(prefix="casesync-demo-web-")
        self.sandbox = Sandbox(rate_limits=False)
        self._threads: list[threading.Thread] = []
        self._failures: list[BaseException] = []
        self.base_url = ""
        self.engine: SyncEngine | None = None

    @property
    def support_url(self) -> str:
        return f"{self.base_url}/demo/support/#token={self.token}&account={ACCOUNT}&user=bob"

    @property
    def agent_url(self) -> str:
        return f"{self.base_url}/demo/agent/"

    def __enter__(self) -> WebDemo:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start everything and seed the account; returns once the server accepts connections."""
        zd = self.sandbox.start()
        agent_email, agent_token = zd.create_agent(AGENT_EMAIL, "Sam Rivera")
        settings = Settings(
            _env_file=None,
            zendesk_url=zd.url,
            zendesk_email=zd.agent_email,
            zendesk_token=zd.agent_token,
            database_url=f"sqlite:///{Path(self._tmp.name) / 'casesync.db'}",
            default_assignee_email=agent_email,
            poll_interval_s=0,
        )
        self.engine = engine = SyncEngine(settings)
        support = SupportCases(store=engine.store)
        _seed(support)
        app = create_app(
            settings=settings,
            sink=engine.webhook_sink,
            status_provider=engine.status,
            ready=lambda: (True, ""),
            metrics=engine.metrics,
            api=create_api(support, self.token, stopping=self.stop),
        )
        site = create_demo_site(
            app, zendesk_url=zd.url, agent_auth=(f"{agent_email}/token", agent_token),
            on_agent_write=self._agent_wrote.set,
        )
        ports: queue.Queue[int] = queue.Queue()
        self._spawn("http", lambda: serve_app(site, self.host, self.port, stop=self.stop, on_started=ports.put))
        self._spawn("sync", self._sync_loop)
        while True:
            try:
                port = ports.get(timeout=0.2)
                break
            except queue.Empty:
                if self._failures:
                    raise self._failures[0] from None
        self.base_url = f"http://{self.host}:{port}"

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        def body() -> None:
            try:
                target()
            except BaseException as exc:
                log.exception("demo_web.thread_failed", thread=name)
                self._failures.append(exc)
                self.stop.set()

        thread = threading.Thread(target=body, name=f"casesync-demo-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _sync_loop(self) -> None:
        assert self.engine is not None
        while not self.stop.wait(SYNC_EVERY_S):
            if self._agent_wrote.is_set():
                self._agent_wrote.clear()
                self.sandbox.advance_clock(EXPORT_LAG_S)
            self.engine.run_once()

    def close(self) -> None:
        """Stop the server and the engine, then the sandbox; removes the temporary store."""
        self.stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.engine is not None:
            self.engine.close()
        self.sandbox.stop()
        self._tmp.cleanup()

    def wait(self) -> None:
        """Block until ``stop`` is set (Ctrl-C, SIGTERM, or a failed part); re-raise a part's failure."""
        while not self.stop.wait(0.5):
            pass
        if self._failures:
            raise self._failures[0]


def _seed(support: SupportCases) -> None:
    """The account of ``casesync demo``: an admin, a user and an additionally registered address."""
    support.upsert_account(ACCOUNT, "Acme Corp")
    support.upsert_user(ACCOUNT, "alice", "alice@acme.test", "Alice Admin", admin=True)
    support.upsert_user(ACCOUNT, "bob", "bob@acme.test", "Bob Builder")
    support.add_recipient(ACCOUNT, "it-support@acme.test")


def run_demo_web(*, port: int = 0, stop: threading.Event | None = None, out: Callable[[str], None] = print) -> int:
    """Serve the web demo on 127.0.0.1 until ``stop`` is set (the CLI sets it on Ctrl-C); 0 after a clean stop."""
    with WebDemo(port=port) as demo:
        if stop is not None:

            def relay() -> None:
                stop.wait()
                demo.stop.set()

            threading.Thread(target=relay, name="casesync-demo-stop", daemon=True).start()
        say = out
        say("casesync demo --web: the console's Support page and the sandbox's agent view (Ctrl-C stops)")
        say(f"  Support page (as Bob of Acme Corp): {demo.support_url}")
        say(f"  Agent view (Sam Rivera, support staff): {demo.agent_url}")
        say(f"  HTTP API: {demo.base_url}/api/v1/  (Authorization: Bearer {demo.token})")
        say(f"  OpenAPI document: {demo.base_url}/api/v1/openapi.json")
        demo.wait()
    return 0
