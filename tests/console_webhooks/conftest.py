"""Fixtures of the console webhook tests: a real HTTP receiver on 127.0.0.1 and the sandbox."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.support.zendesk import sandbox, zd

__all__ = ["Receiver", "sandbox", "zd"]


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def seqs(self) -> list[int]:
        return [c["seq"] for c in json.loads(self.body)["changes"]]


@dataclass
class Receiver:
    """A console's webhook endpoint: records every POST and answers the statuses queued in ``answers``
    (then 200)."""

    url: str = ""
    deliveries: list[Delivery] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    always: int | None = None
    received: threading.Event = field(default_factory=threading.Event)

    def answer(self) -> int:
        if self.always is not None:
            return self.always
        return self.answers.pop(0) if self.answers else 200

    @property
    def seqs(self) -> list[int]:
        return [s for d in self.deliveries for s in d.seqs]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = rec.answer()
            rec.deliveries.append(Delivery({k: v for k, v in self.headers.items()}, body))
            rec.received.set()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/casesync/webhook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
