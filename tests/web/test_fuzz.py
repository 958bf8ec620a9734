"""Hypothesis: whatever arrives, the endpoint never fails with a 500, and only a valid signature reaches the sink."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sync.metrics import Metrics
from sync.web import create_app, sign

from .conftest import MAX_BODY, NOW, NOW_TS, SECRET, URL, RecordingSink, make_settings

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_ticketish = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["zen:event-type:ticket.comment_added", "zen:event-type:user.created", "other"])
        | st.text(max_size=30),
        "id": st.text(max_size=40) | st.integers(),
        "subject": st.sampled_from(["zen:ticket:5", "zen:ticket:x", "zen:user:5"]) | st.text(max_size=20),
        "detail": st.fixed_dictionaries({}, optional={"id": st.integers() | st.text(max_size=25) | _json}) | _json,
        "ticket_id": st.integers() | st.text(max_size=25) | _json,
        "ticket": st.fixed_dictionaries({}, optional={"id": st.integers() | st.text(max_size=8)}) | _json,
        "time": st.sampled_from(["2024-05-01T11:00:00Z", "nope"]) | st.text(max_size=30),
    },
)
_ticket_ids = st.integers(min_value=-5, max_value=2**64) | st.text("0123456789x", max_size=21)
_bodies = (
    st.binary(max_size=256)
    | st.integers(min_value=MAX_BODY - 8, max_value=MAX_BODY + 8).map(lambda n: b'{"ticket_id": 1}'.ljust(n))
    | _ticket_ids.map(lambda i: json.dumps({"ticket_id": i}).encode())
    | _ticket_ids.map(lambda i: json.dumps({"type": "zen:event-type:ticket.x", "detail": {"id": i}}).encode())
    | _json.map(lambda v: json.dumps(v).encode())
    | _ticketish.map(lambda v: json.dumps(v).encode())
)
_header_text = st.binary(max_size=80)  # raw header bytes: anything a client could put on the wire
_timestamps = st.sampled_from([NOW_TS.encode(), b"2024-05-01T11:00:00Z", b"2024-05-01T12:04:59Z"]) | _header_text


def _call(app: Any, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": URL, "raw_path": URL.encode(), "query_string": b"", "root_path": "",
             "headers": headers, "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    chunks = [body[i:i + 1024] for i in range(0, len(body), 1024)] or [b""]
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    asyncio.run(app(scope, receive, send))
    return status[0]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=_bodies,
    timestamp=st.one_of(st.just(NOW_TS.encode()), st.just(NOW_TS.encode()), st.none(), _timestamps),
    # Repeated branches weigh the draw towards genuine deliveries, so the sink path is well exercised.
    signature=st.one_of(st.just(b"valid"), st.just(b"valid"), st.none(), _header_text),
    with_length=st.booleans(),
)
def test_the_endpoint_never_fails_and_only_signed_data_passes(
    body: bytes, timestamp: bytes | None, signature: bytes | None, with_length: bool
) -> None:
    sink = RecordingSink()
    app = create_app(settings=make_settings(), sink=sink, status_provider=dict, ready=lambda: (True, ""),
                     metrics=Metrics(), clock=lambda: NOW)
    genuine = False
    headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]
    if with_length:
        headers.append((b"content-length", str(len(body)).encode()))
    if timestamp is not None:
        headers.append((b"x-zendesk-webhook-signature-timestamp", timestamp))
    if signature == b"valid" and timestamp is not None:
        text = timestamp.decode("latin-1")
        signature = sign(SECRET, text, body).encode()
        genuine = True
    if signature is not None:
        headers.append((b"x-zendesk-webhook-signature", signature))

    status = _call(app, body, headers)
    event(f"status {status}, reached the sink: {bool(sink.hints)}")

    assert status in (202, 400, 401, 413)
    if sink.hints:
        assert genuine and status == 202 and len(body) <= MAX_BODY
    if not genuine:
        assert status != 202 or not sink.hints
        assert sink.hints == []
