"""Forged, replayed, oversized and malformed webhook deliveries are refused by the real receiver and leave the
store exactly as it was; a genuine delivery is stored once, however often it arrives."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.web.signature import sign

from .conftest import MAX_BODY, SECRET, Receiver


def _ts(delta_s: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=delta_s)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _payload(ticket_id: int = 7, event_id: str = "5f0c2d4e-1111-4222-8333-944455556666") -> bytes:
    return json.dumps({
        "type": "zen:event-type:ticket.comment_added", "id": event_id, "subject": f"zen:ticket:{ticket_id}",
        "time": _ts(), "detail": {"id": str(ticket_id)}, "event": {},
    }).encode()


def _signed(body: bytes, *, secret: str = SECRET, ts: str | None = None) -> dict[str, str]:
    ts = ts or _ts()
    return {"Content-Type": "application/json", "X-Zendesk-Webhook-Signature-Timestamp": ts,
            "X-Zendesk-Webhook-Signature": sign(secret, ts, body)}


def test_a_genuine_delivery_is_stored_once(receiver: Receiver, dump: Callable[[Any], dict[str, Any]]) -> None:
    body = _payload()
    assert receiver.post(body, _signed(body))[0] == 202
    once = dump(receiver.store)
    assert len(once["inbox"]) == 1
    status, answer = receiver.post(body, _signed(body))  # Zendesk delivering the same event again
    assert status == 202 and json.loads(answer)["status"] == "duplicate"
    assert dump(receiver.store) == once


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("wrong secret", lambda b: _signed(b, secret="not-the-secret")),
        ("signature of another body", lambda b: _signed(b + b" ")),
        ("no signature", lambda b: {"X-Zendesk-Webhook-Signature-Timestamp": _ts()}),
        ("no timestamp", lambda b: {"X-Zendesk-Webhook-Signature": _signed(b)["X-Zendesk-Webhook-Signature"]}),
        ("timestamp swapped after signing", lambda b: {**_signed(b), "X-Zendesk-Webhook-Signature-Timestamp": _ts(1)}),
        ("hex instead of base64", lambda b: {**_signed(b), "X-Zendesk-Webhook-Signature": "ab" * 32}),
        ("garbage signature", lambda b: {**_signed(b), "X-Zendesk-Webhook-Signature": "%%%"}),
        ("garbage timestamp", lambda b: _signed(b, ts="yesterday")),
    ],
)
def test_forged_deliveries_are_refused_without_side_effects(
    receiver: Receiver, dump: Callable[[Any], dict[str, Any]], name: str, make: Callable[[bytes], dict[str, str]]
) -> None:
    body = _payload()
    before = dump(receiver.store)
    status, _ = receiver.post(body, make(body))
    assert status == 401, name
    assert dump(receiver.store) == before


@pytest.mark.parametrize("delta_s", [-3600, -301, 301, 86400])
def test_replayed_or_future_deliveries_are_refused(
    receiver: Receiver, dump: Callable[[Any], dict[str, Any]], delta_s: int
) -> None:
    body = _payload()
    before = dump(receiver.store)
    status, answer = receiver.post(body, _signed(body, ts=_ts(delta_s)))  # a valid signature, but old
    assert status == 401, answer
    assert dump(receiver.store) == before


def test_a_captured_delivery_replayed_later_is_refused(
    receiver: Receiver, dump: Callable[[Any], dict[str, Any]]
) -> None:
    body = _payload(event_id="a-new-event")
    captured = _signed(body, ts=_ts(-600))  # what an attacker recorded ten minutes ago
    before = dump(receiver.store)
    assert receiver.post(body, captured)[0] == 401
    assert dump(receiver.store) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b"[1, 2, 3]", 400),
        (b'{"type": "zen:event-type:ticket.comment_added", "detail": {"id": "abc"}}', 400),
        (b'{"ticket_id": true}', 400),
        (b'{"ticket_id": -4}', 400),
        (b'{"ticket_id": 99999999999999999999999}', 400),
        (b"[" * 3000 + b"]" * 3000, 400),
        (b'{"type": "zen:event-type:user.created", "detail": {"id": "1"}}', 202),  # not a ticket: ignored
    ],
)
def test_malformed_signed_payloads_change_nothing(
    receiver: Receiver, dump: Callable[[Any], dict[str, Any]], body: bytes, status: int
) -> None:
    before = dump(receiver.store)
    assert receiver.post(body, _signed(body))[0] == status
    assert dump(receiver.store) == before


def test_oversized_bodies_are_refused_before_being_stored(
    receiver: Receiver, dump: Callable[[Any], dict[str, Any]]
) -> None:
    body = json.dumps({"ticket_id": 7, "padding": "x" * (MAX_BODY * 2)}).encode()
    before = dump(receiver.store)
    assert receiver.post(body, _signed(body))[0] == 413
    assert dump(receiver.store) == before


def test_a_lying_content_length_is_refused(receiver: Receiver, dump: Callable[[Any], dict[str, Any]]) -> None:
    import socket

    body = json.dumps({"ticket_id": 7, "padding": "x" * (MAX_BODY * 2)}).encode()
    headers = _signed(body)
    before = dump(receiver.store)
    # Chunked transfer: no Content-Length at all, so the receiver must stop reading at its own limit.
    with socket.create_connection(("127.0.0.1", receiver.port), timeout=10) as s:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        s.sendall(f"POST /webhooks/zendesk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{head}\r\n".encode())
        try:
            for i in range(0, len(body), 1024):
                chunk = body[i : i + 1024]
                s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the receiver may close the connection as soon as it has answered 413
        answer = s.recv(200)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    assert dump(receiver.store) == before
