"""POST /webhooks/zendesk: limits, signatures, payload parsing and the sink contract."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.web import PayloadError, WebhookHint, parse_hint

from .conftest import MAX_BODY, NOW, NOW_TS, TOLERANCE_S, URL, AppFactory, RecordingSink, event_payload, signed


def _count(metrics: Any, outcome: str) -> float:
    return float(metrics.webhook_count(outcome))


# --- the happy path -----------------------------------------------------------------------------------


def test_a_signed_event_is_handed_to_the_sink(client: Any, sink: RecordingSink, metrics: Any) -> None:
    body = event_payload(ticket_id=42)
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    assert sink.hints == [
        WebhookHint(
            ticket_id=42,
            event_id="0b0c3a5e-7c38-4d4e-9c16-1f3f5e7f9a01",
            event_type="zen:event-type:ticket.comment_added",
            occurred_at=datetime(2024, 5, 1, 11, 59, 58, tzinfo=UTC),
        )
    ]
    assert _count(metrics, "accepted") == 1


@pytest.mark.parametrize(
    ("payload", "ticket_id"),
    [
        ({"ticket_id": 7}, 7),
        ({"ticket_id": "7"}, 7),
        ({"ticket": {"id": 8, "status": "solved"}}, 8),
        ({"ticket": {"id": "9"}}, 9),
        # The subject names the ticket when the detail lacks it.
        ({"type": "zen:event-type:ticket.status_changed", "id": "e", "subject": "zen:ticket:11", "detail": {}}, 11),
    ],
)
def test_trigger_style_and_minimal_payloads(client: Any, sink: RecordingSink, payload: dict[str, Any],
                                            ticket_id: int) -> None:
    body = json.dumps(payload).encode()
    assert client.post(URL, content=body, headers=signed(body)).status_code == 202
    assert [h.ticket_id for h in sink.hints] == [ticket_id]


def test_duplicate_deliveries_are_absorbed(client: Any, sink: RecordingSink, metrics: Any) -> None:
    body = event_payload()
    first = client.post(URL, content=body, headers=signed(body))
    second = client.post(URL, content=body, headers=signed(body))
    assert (first.status_code, second.status_code) == (202, 202)
    assert (first.json()["status"], second.json()["status"]) == ("accepted", "duplicate")
    assert len(sink.hints) == 2  # the sink decides what a duplicate is, so it sees both
    assert _count(metrics, "accepted") == 1
    assert _count(metrics, "duplicate") == 1


def test_payload_data_is_never_passed_on(client: Any, sink: RecordingSink) -> None:
    # Whatever the payload claims about status or comments, the sink only learns which ticket to re-read.
    body = event_payload(event={"comment": {"body": "DROP TABLE", "is_public": True}})
    client.post(URL, content=body, headers=signed(body))
    (hint,) = sink.hints
    assert {f.name for f in dataclasses.fields(hint)} == {"ticket_id", "event_id", "event_type", "occurred_at"}


def test_events_about_other_things_are_ignored(client: Any, sink: RecordingSink, metrics: Any) -> None:
    body = json.dumps({"type": "zen:event-type:user.created", "id": "e1", "subject": "zen:user:5",
                       "detail": {"id": "5"}}).encode()
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 202
    assert response.json()["status"] == "ignored"
    assert sink.hints == []
    assert _count(metrics, "ignored") == 1


# --- refusals -----------------------------------------------------------------------------------------


def test_without_a_secret_nothing_is_accepted(build: AppFactory, sink: RecordingSink) -> None:
    from starlette.testclient import TestClient

    from .conftest import make_settings

    client = TestClient(build(settings=make_settings(webhook_secret=None)))
    body = event_payload()
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 503
    assert "CASESYNC_WEBHOOK_SECRET" in response.json()["message"]
    assert sink.hints == []


@pytest.mark.parametrize(
    ("case", "timestamp", "secret", "outcome"),
    [
        ("wrong secret", NOW_TS, "not-the-secret", "bad_signature"),
        ("replayed", (NOW - timedelta(seconds=TOLERANCE_S + 1)).strftime("%Y-%m-%dT%H:%M:%SZ"), None, "stale"),
        ("future", (NOW + timedelta(seconds=TOLERANCE_S + 1)).strftime("%Y-%m-%dT%H:%M:%SZ"), None, "stale"),
        ("unparseable timestamp", "last tuesday", None, "bad_signature"),
    ],
)
def test_forged_or_replayed_deliveries_never_reach_the_sink(
    client: Any, sink: RecordingSink, metrics: Any, case: str, timestamp: str, secret: str | None, outcome: str
) -> None:
    body = event_payload()
    headers = signed(body, timestamp=timestamp, **({"secret": secret} if secret else {}))
    response = client.post(URL, content=body, headers=headers)
    assert response.status_code == 401, case
    assert sink.hints == []
    assert _count(metrics, outcome) == 1


def test_a_tampered_body_is_refused(client: Any, sink: RecordingSink) -> None:
    headers = signed(event_payload(ticket_id=1))
    assert client.post(URL, content=event_payload(ticket_id=2), headers=headers).status_code == 401
    assert sink.hints == []


@pytest.mark.parametrize("missing", ["X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"])
def test_missing_signature_headers(client: Any, sink: RecordingSink, missing: str) -> None:
    body = event_payload()
    headers = signed(body)
    del headers[missing]
    assert client.post(URL, content=body, headers=headers).status_code == 401
    assert sink.hints == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"\xff\xfe\x00garbage",
        b"[1, 2, 3]",
        b'"a string"',
        b"[" * 1000 + b"]" * 1000,
        b'{"ticket_id": null}',
        b'{"ticket_id": true}',
        b'{"ticket_id": -3}',
        b'{"ticket_id": 0}',
        b'{"ticket_id": 1.5}',
        b'{"ticket_id": "12abc"}',
        b'{"ticket_id": 99999999999999999999999}',
        b'{"ticket": "42"}',
        b'{"type": "zen:event-type:ticket.comment_added", "detail": {"id": "x"}, "subject": "zen:user:4"}',
        b'{"hello": "world"}',
    ],
)
def test_malformed_payloads_are_400(client: Any, sink: RecordingSink, metrics: Any, body: bytes) -> None:
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 400
    assert sink.hints == []
    assert _count(metrics, "malformed") == 1


def test_parse_hint_survives_absurd_nesting() -> None:
    body = b"[" * 200_000 + b"]" * 200_000
    with pytest.raises(PayloadError):
        parse_hint(body)


def test_oversized_body_is_413(client: Any, sink: RecordingSink, metrics: Any) -> None:
    body = event_payload(padding="x" * MAX_BODY)
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 413
    assert sink.hints == []
    assert _count(metrics, "too_large") == 1


def test_a_body_exactly_at_the_limit_is_accepted(client: Any, sink: RecordingSink) -> None:
    base = event_payload(padding="")
    body = event_payload(padding="x" * (MAX_BODY - len(base)))
    assert len(body) == MAX_BODY
    assert client.post(URL, content=body, headers=signed(body)).status_code == 202


def test_invalid_content_length_is_400(client: Any, sink: RecordingSink) -> None:
    status, _, pulled = _asgi(client.app, [b"{}"], content_length=b"12abc")
    assert (status, pulled) == (400, 0)
    assert sink.hints == []


def test_a_sink_failure_asks_zendesk_to_retry(build: AppFactory) -> None:
    from starlette.testclient import TestClient

    client = TestClient(build(sink=RecordingSink(fail=True)), raise_server_exceptions=False)
    body = event_payload()
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"


def test_only_post(client: Any) -> None:
    assert client.get(URL).status_code == 405


# --- streaming: the cap applies before the body is read in full ----------------------------------------


def _asgi(app: Any, chunks: list[bytes] | Iterator[bytes], *, content_length: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, bytes, int]:
    """Drive the app at the ASGI level: returns (status, body, number of body chunks it pulled)."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if content_length is not None:
        raw.append((b"content-length", content_length))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": URL, "raw_path": URL.encode(), "query_string": b"", "root_path": "",
             "headers": raw, "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    source = iter(chunks)
    pulled = 0
    sent: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        try:
            chunk = next(source)
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    asyncio.run(app(scope, receive, send))
    return sent["status"], sent["body"], pulled


def _endless(chunk: bytes) -> Iterator[bytes]:
    while True:
        yield chunk


def test_declared_length_over_the_limit_reads_nothing(client: Any, sink: RecordingSink) -> None:
    body = event_payload()
    status, _, pulled = _asgi(client.app, _endless(b"x" * 1024), content_length=b"999999999999",
                              headers=signed(body))
    assert (status, pulled) == (413, 0)
    assert sink.hints == []


@pytest.mark.parametrize("content_length", [None, b"100"], ids=["chunked, no length", "lying length"])
def test_streamed_body_is_cut_off_at_the_limit(client: Any, sink: RecordingSink, content_length: bytes | None) -> None:
    # An endless stream: the endpoint must stop pulling as soon as the limit is passed.
    body = event_payload()
    status, _, pulled = _asgi(client.app, _endless(b"x" * 1000), content_length=content_length,
                              headers=signed(body))
    assert status == 413
    assert pulled == MAX_BODY // 1000 + 1
    assert sink.hints == []


def test_chunked_body_within_the_limit_is_accepted(client: Any, sink: RecordingSink) -> None:
    body = event_payload(ticket_id=77)
    chunks = [body[i:i + 50] for i in range(0, len(body), 50)]
    status, answer, _ = _asgi(client.app, chunks, headers=signed(body))
    assert status == 202, answer
    assert [h.ticket_id for h in sink.hints] == [77]


def test_missing_headers_read_nothing(client: Any) -> None:
    status, _, pulled = _asgi(client.app, _endless(b"x"), headers={"Content-Type": "application/json"})
    assert (status, pulled) == (401, 0)


# --- parse_hint -----------------------------------------------------------------------------------------


def test_parse_hint_keeps_untrusted_text_short() -> None:
    hint = parse_hint(event_payload(id="e" * 500, time="not a time"))
    assert hint is not None
    assert hint.event_id is None
    assert hint.occurred_at is None


def test_parse_hint_reads_naive_times_as_utc() -> None:
    hint = parse_hint(event_payload(time="2024-05-01T11:00:00"))
    assert hint is not None and hint.occurred_at == datetime(2024, 5, 1, 11, tzinfo=UTC)
