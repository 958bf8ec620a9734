"""Regressions found by probing the webhook receiver with validly signed but unusual deliveries.

Zendesk posts webhook payloads as JSON, ``Content-Type: application/json``, encoded in UTF-8 (the webhook
"request format" is JSON; RFC 8259 §8.1 requires UTF-8 without a byte-order mark between systems).
"""

from __future__ import annotations

import codecs
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.web import parse_hint
from sync.web.webhooks import unsupported_media_type

from .conftest import URL, RecordingSink, event_payload, signed


@pytest.mark.parametrize(
    "time",
    [
        "0001-01-01T00:00:00+05:00",  # before year 1 once in UTC
        "9999-12-31T23:59:59-05:00",  # after year 9999 once in UTC
        "0001-01-01T00:30:00+23:59",
        "2024-05-01T11:59:58+14:00",
        "2024-05-01T11:59:58-12:00",
        "2024-05-01T11:59:58+05:45:30",
    ],
)
def test_a_signed_event_with_an_unusual_offset_is_accepted(client: Any, sink: RecordingSink, time: str) -> None:
    body = event_payload(ticket_id=42, time=time)
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 202, response.text
    assert [h.ticket_id for h in sink.hints] == [42]
    occurred = sink.hints[0].occurred_at
    assert occurred is None or str(occurred.tzinfo) == "UTC"  # kept in UTC, or dropped when out of range


def _encoded(body: bytes, encoding: str) -> bytes:
    return body.decode("utf-8").encode(encoding)


@pytest.mark.parametrize(
    "encode",
    [
        lambda b: codecs.BOM_UTF8 + b,
        lambda b: _encoded(b, "utf-16"),  # with its byte-order mark
        lambda b: _encoded(b, "utf-16-le"),
        lambda b: _encoded(b, "utf-16-be"),
        lambda b: _encoded(b, "utf-32"),
        lambda b: b.replace(b"Printer on fire", b"Imprimante \xe9teinte"),  # Latin-1, not UTF-8
    ],
)
def test_a_body_that_is_not_utf8_json_is_refused(client: Any, sink: RecordingSink, encode: Any) -> None:
    body = encode(event_payload(ticket_id=42))
    response = client.post(URL, content=body, headers=signed(body))
    assert response.status_code == 400, response.text
    assert sink.hints == []


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=utf-16", "text/plain", "application/xml", "application/x-www-form-urlencoded",
     'application/json; charset="latin-1"'],
)
def test_a_declared_media_type_other_than_utf8_json_is_415(client: Any, sink: RecordingSink, content_type: str) -> None:
    body = event_payload(ticket_id=42)
    response = client.post(URL, content=body, headers={**signed(body), "Content-Type": content_type})
    assert response.status_code == 415, response.text
    assert sink.hints == []


@pytest.mark.parametrize(
    ("content_type", "refused"),
    [
        (None, False), ("", False), ("application/json", False), ("application/json; charset=utf-8", False),
        ("Application/JSON; Charset=UTF-8", False), ('application/json; charset="utf-8"', False),
        ("application/vnd.zendesk+json", False),
        ("application/json; charset=utf-16", True), ("text/json", True), ("multipart/form-data", True),
    ],
)
def test_media_types(content_type: str | None, refused: bool) -> None:
    assert (unsupported_media_type(content_type) is not None) is refused


def test_utf8_text_beyond_ascii_is_still_accepted(client: Any, sink: RecordingSink) -> None:
    body = json.dumps({"ticket_id": 5, "note": "Drucker brennt — ✓"}, ensure_ascii=False).encode("utf-8")
    assert client.post(URL, content=body, headers=signed(body)).status_code == 202
    assert [h.ticket_id for h in sink.hints] == [5]


@given(
    st.datetimes(timezones=st.just(None)),
    st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1),
)
def test_any_time_with_any_offset_parses_or_is_dropped(moment: datetime, offset_min: int) -> None:
    stamp = moment.replace(tzinfo=timezone(timedelta(minutes=offset_min))).isoformat()
    hint = parse_hint(event_payload(ticket_id=9, time=stamp))
    assert hint is not None and hint.ticket_id == 9
    if hint.occurred_at is not None:
        assert hint.occurred_at == moment.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
