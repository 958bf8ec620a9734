"""casesync's HTTP side: the signed webhook receiver, health and readiness, metrics and the status page.

``casesync serve`` builds the app with :func:`create_app` from callables backed by the store and runs it
with :func:`serve_app`; nothing here imports the store.
"""

from __future__ import annotations

from sync.web.app import ReadyCheck, StatusProvider, create_app, serve_app
from sync.web.signature import BadSignature, MalformedHeaders, SignatureError, StaleTimestamp, sign, verify_signature
from sync.web.webhooks import PayloadError, WebhookHint, WebhookSink, parse_hint

__all__ = [
    "BadSignature",
    "MalformedHeaders",
    "PayloadError",
    "ReadyCheck",
    "SignatureError",
    "StaleTimestamp",
    "StatusProvider",
    "WebhookHint",
    "WebhookSink",
    "create_app",
    "parse_hint",
    "serve_app",
    "sign",
    "verify_signature",
]
