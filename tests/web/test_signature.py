"""verify_signature and sign: Zendesk's scheme, replay window, and the usual implementation mistakes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from sync.errors import CaseSyncError
from sync.web.signature import (
    BadSignature,
    MalformedHeaders,
    SignatureError,
    StaleTimestamp,
    parse_timestamp,
    sign,
    verify_signature,
)

from .conftest import NOW, NOW_TS, SECRET

BODY = b'{"type":"zen:event-type:ticket.comment_added","detail":{"id":"42"}}'
TOL = 300.0

# The published example from Zendesk's documentation.  Its signature only verifies as body + timestamp
# (an older, inconsistent page); the current scheme, timestamp + body, gives the second value.
DOC_SECRET = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="
DOC_BODY = b'{"say": "hello"}'
DOC_TS = "2021-07-25T10:00:00Z"
DOC_SIG_BODY_FIRST = "tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw="
DOC_SIG_TIMESTAMP_FIRST = "Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk="
DOC_NOW = datetime(2021, 7, 25, 10, 0, tzinfo=UTC)


def _verify(signature: str | None, timestamp: str | None = NOW_TS, body: bytes = BODY, now: datetime = NOW,
            secret: bytes | str = SECRET) -> None:
    verify_signature(secret, timestamp, body, signature, now=now, tolerance_s=TOL)


def test_sign_matches_the_documented_scheme() -> None:
    assert sign(DOC_SECRET, DOC_TS, DOC_BODY) == DOC_SIG_TIMESTAMP_FIRST
    assert sign(DOC_SECRET.encode(), DOC_TS, DOC_BODY) == DOC_SIG_TIMESTAMP_FIRST
    verify_signature(DOC_SECRET, DOC_TS, DOC_BODY, DOC_SIG_TIMESTAMP_FIRST, now=DOC_NOW, tolerance_s=TOL)


def test_errors_are_casesync_errors() -> None:
    for cls in (BadSignature, MalformedHeaders, StaleTimestamp):
        assert issubclass(cls, SignatureError)
        assert issubclass(cls, CaseSyncError)


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


ROWS = [
    ("valid", sign(SECRET, NOW_TS, BODY), NOW_TS, NOW, None),
    ("valid with surrounding spaces", " " + sign(SECRET, NOW_TS, BODY) + " ", NOW_TS, NOW, None),
    ("wrong secret", sign("another-secret", NOW_TS, BODY), NOW_TS, NOW, BadSignature),
    ("secret base64-decoded as key",
     base64.b64encode(hmac.new(base64.b64decode(SECRET), NOW_TS.encode() + BODY, "sha256").digest()).decode(),
     NOW_TS, NOW, BadSignature),
    ("hex digest instead of base64", _hmac(SECRET, NOW_TS.encode() + BODY).hex(), NOW_TS, NOW, BadSignature),
    ("body then timestamp", base64.b64encode(_hmac(SECRET, BODY + NOW_TS.encode())).decode(), NOW_TS, NOW,
     BadSignature),
    ("dot separator", base64.b64encode(_hmac(SECRET, NOW_TS.encode() + b"." + BODY)).decode(), NOW_TS, NOW,
     BadSignature),
    ("signature of another timestamp", sign(SECRET, "2024-05-01T12:00:01Z", BODY), NOW_TS, NOW, BadSignature),
    ("truncated", sign(SECRET, NOW_TS, BODY)[:20], NOW_TS, NOW, BadSignature),
    ("not base64", "!!!not-base64!!!", NOW_TS, NOW, BadSignature),
    ("non-ascii", "sïgnature", NOW_TS, NOW, BadSignature),
    ("very long", "A" * 10_000, NOW_TS, NOW, BadSignature),
    ("missing signature", None, NOW_TS, NOW, MalformedHeaders),
    ("empty signature", "", NOW_TS, NOW, MalformedHeaders),
    ("missing timestamp", sign(SECRET, NOW_TS, BODY), None, NOW, MalformedHeaders),
    ("empty timestamp", sign(SECRET, "", BODY), "", NOW, MalformedHeaders),
    ("unix timestamp", sign(SECRET, "1714564800", BODY), "1714564800", NOW, MalformedHeaders),
    ("garbage timestamp", sign(SECRET, "yesterday", BODY), "yesterday", NOW, MalformedHeaders),
    ("stale (replay)", sign(SECRET, NOW_TS, BODY), NOW_TS, NOW + timedelta(seconds=TOL + 1), StaleTimestamp),
    ("future", sign(SECRET, NOW_TS, BODY), NOW_TS, NOW - timedelta(seconds=TOL + 1), StaleTimestamp),
    ("old edge, inclusive", sign(SECRET, NOW_TS, BODY), NOW_TS, NOW + timedelta(seconds=TOL), None),
    ("future edge, inclusive", sign(SECRET, NOW_TS, BODY), NOW_TS, NOW - timedelta(seconds=TOL), None),
    ("just past the edge", sign(SECRET, NOW_TS, BODY), NOW_TS, NOW + timedelta(seconds=TOL, microseconds=1),
     StaleTimestamp),
    ("offset timestamp", sign(SECRET, "2024-05-01T14:00:00+02:00", BODY), "2024-05-01T14:00:00+02:00", NOW, None),
    ("fractional seconds", sign(SECRET, "2024-05-01T12:00:00.250Z", BODY), "2024-05-01T12:00:00.250Z", NOW, None),
    ("stale and forged reports the forgery", sign("x", NOW_TS, BODY), NOW_TS, NOW + timedelta(days=1),
     BadSignature),
]


@pytest.mark.parametrize(("case", "signature", "timestamp", "now", "error"), ROWS, ids=[row[0] for row in ROWS])
def test_signature_table(case: str, signature: str | None, timestamp: str | None, now: datetime,
                         error: type[Exception] | None) -> None:
    if error is None:
        _verify(signature, timestamp, now=now)
    else:
        with pytest.raises(error):
            _verify(signature, timestamp, now=now)


def test_a_changed_body_is_refused() -> None:
    signature = sign(SECRET, NOW_TS, BODY)
    with pytest.raises(BadSignature):
        _verify(signature, body=BODY.replace(b"42", b"43"))
    with pytest.raises(BadSignature):
        _verify(signature, body=BODY + b" ")


def test_bytes_and_text_secrets_agree() -> None:
    _verify(sign(SECRET.encode(), NOW_TS, BODY), secret=SECRET)
    _verify(sign(SECRET, NOW_TS, BODY), secret=SECRET.encode())


def test_stale_reports_the_skew() -> None:
    with pytest.raises(StaleTimestamp) as info:
        _verify(sign(SECRET, NOW_TS, BODY), now=NOW + timedelta(hours=1))
    assert info.value.skew_s == pytest.approx(3600)
    assert "old" in str(info.value)


def test_an_empty_secret_or_naive_clock_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        _verify(sign("", NOW_TS, BODY), secret="")
    with pytest.raises(ValueError):
        _verify(sign(SECRET, NOW_TS, BODY), now=NOW.replace(tzinfo=None))


def test_parse_timestamp() -> None:
    assert parse_timestamp("2024-05-01T12:00:00Z") == NOW
    assert parse_timestamp("2024-05-01T12:00:00") == NOW  # no offset: UTC
    with pytest.raises(MalformedHeaders):
        parse_timestamp("2024-05-01T12:00:00Z" * 10)
