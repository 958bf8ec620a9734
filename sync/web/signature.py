"""Zendesk webhook signatures: pure verification, no I/O.

Zendesk signs every delivery with the webhook's signing secret::

    X-Zendesk-Webhook-Signature           = base64(HMAC-SHA256(secret_utf8, timestamp + body))
    X-Zendesk-Webhook-Signature-Timestamp = ISO-8601, e.g. 2021-07-25T10:00:00Z

The key is the secret string's UTF-8 bytes as shown by Zendesk (not base64-decoded), and the message is the
timestamp header's exact text followed by the raw body bytes (no separator).  Zendesk documents no replay
window, so casesync adds one: a timestamp further than ``tolerance_s`` from our clock, in either direction,
is refused even when its signature is valid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from datetime import UTC, datetime

from sync.errors import CaseSyncError

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "BadSignature",
    "MalformedHeaders",
    "SignatureError",
    "StaleTimestamp",
    "parse_timestamp",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Zendesk-Webhook-Signature"
TIMESTAMP_HEADER = "X-Zendesk-Webhook-Signature-Timestamp"

# Generous bounds on header sizes: a real timestamp is ~20 characters and a signature 44.  Anything far
# longer is refused before any parsing or decoding work is spent on it.
_MAX_TIMESTAMP_CHARS = 64
_MAX_SIGNATURE_CHARS = 256
_DIGEST_BYTES = hashlib.sha256().digest_size


class SignatureError(CaseSyncError):
    """A webhook delivery failed verification; the subclass says why."""


class MalformedHeaders(SignatureError):
    """The signature or timestamp header is missing, empty or unparseable."""


class BadSignature(SignatureError):
    """The signature does not match the body and timestamp under our secret."""


class StaleTimestamp(SignatureError):
    """The signed timestamp is outside the tolerance window (a replay, or a badly skewed clock)."""

    def __init__(self, message: str, *, skew_s: float) -> None:
        super().__init__(message)
        self.skew_s = skew_s


def _key(secret: bytes | str) -> bytes:
    return secret.encode("utf-8") if isinstance(secret, str) else secret


def _digest(secret: bytes | str, timestamp: str, body: bytes) -> bytes:
    return hmac.new(_key(secret), timestamp.encode("utf-8") + body, hashlib.sha256).digest()


def sign(secret: bytes | str, timestamp: str, body: bytes) -> str:
    """Return the ``X-Zendesk-Webhook-Signature`` value Zendesk would send for ``timestamp`` and ``body``.

    ``secret`` is the signing secret as text or its UTF-8 bytes.  Used by tests, the sandbox-facing tools and
    anyone replaying a captured delivery by hand.
    """
    return base64.b64encode(_digest(secret, timestamp, body)).decode("ascii")


def parse_timestamp(value: str) -> datetime:
    """Parse the timestamp header as an aware UTC datetime; a missing offset means UTC (Zendesk sends ``Z``).

    Raises :class:`MalformedHeaders` when it is not ISO-8601.
    """
    text = value.strip()
    if not text or len(text) > _MAX_TIMESTAMP_CHARS:
        raise MalformedHeaders(f"{TIMESTAMP_HEADER} is empty or too long")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise MalformedHeaders(f"{TIMESTAMP_HEADER} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def verify_signature(
    secret: bytes | str,
    timestamp: str | None,
    body: bytes,
    signature_b64: str | None,
    *,
    now: datetime,
    tolerance_s: float,
) -> None:
    """Return quietly when ``signature_b64`` is Zendesk's signature of ``timestamp + body`` and fresh.

    Checks, in this order: both headers present and parseable (:class:`MalformedHeaders`); the signature,
    compared in constant time (:class:`BadSignature`); then the timestamp within ``tolerance_s`` seconds of
    ``now``, inclusive, in either direction (:class:`StaleTimestamp`).  The signature is checked before the
    window so that "stale" is only ever reported for a genuine delivery, which makes replays tell apart
    from forgeries in the logs and metrics.
    """
    if not secret:
        # An empty key would make every attacker's HMAC "valid"; refuse to verify with it.
        raise ValueError("the webhook signing secret is empty")
    if timestamp is None or not timestamp.strip():
        raise MalformedHeaders(f"{TIMESTAMP_HEADER} is missing")
    if signature_b64 is None or not signature_b64.strip():
        raise MalformedHeaders(f"{SIGNATURE_HEADER} is missing")
    signed_at = parse_timestamp(timestamp)

    text = signature_b64.strip()
    if len(text) > _MAX_SIGNATURE_CHARS or not text.isascii():
        raise BadSignature("the signature is not base64 of an HMAC-SHA256 digest")
    try:
        given = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadSignature("the signature is not base64 of an HMAC-SHA256 digest") from None
    # The length check leaks nothing secret (every valid signature has the same length); a hex digest
    # (64 characters that happen to be valid base64) is caught here.
    expected = _digest(secret, timestamp, body)
    if len(given) != _DIGEST_BYTES or not hmac.compare_digest(given, expected):
        raise BadSignature("the signature does not match the body and timestamp")

    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    skew = (now - signed_at).total_seconds()
    if abs(skew) > tolerance_s:
        direction = "old" if skew > 0 else "in the future"
        raise StaleTimestamp(
            f"the signed timestamp is {abs(skew):.0f} s {direction} (tolerance {tolerance_s:.0f} s)", skew_s=skew
        )
