"""The signature of console webhook deliveries, made as Zendesk signs its own webhooks.

``X-Casesync-Signature`` is base64(HMAC-SHA256(secret, timestamp + body)) and
``X-Casesync-Signature-Timestamp`` the timestamp (ISO-8601, UTC), so a console that already checks
Zendesk's ``X-Zendesk-Webhook-Signature`` checks these the same way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "sign", "verify"]

SIGNATURE_HEADER = "X-Casesync-Signature"
TIMESTAMP_HEADER = "X-Casesync-Signature-Timestamp"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """base64(HMAC-SHA256(secret, timestamp + body))."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is :func:`sign`'s for these values (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)
