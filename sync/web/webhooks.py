"""The Zendesk webhook receiver: ``POST /webhooks/zendesk``.

A delivery is only ever a *hint* that a ticket changed.  The receiver verifies the signature, extracts the
ticket id (plus the event id, type and time when Zendesk sent an event payload), hands a
:class:`WebhookHint` to an injected ``sink`` that stores it durably in the inbox, and answers 202 at once.
Nothing else from the payload is used: the inbox worker re-fetches the ticket from Zendesk, so a forged,
stale or reordered delivery can at worst cause one extra read.

Order of checks, cheapest first, so that an attacker cannot make us buffer or hash large bodies:

1. no signing secret configured → 503 (unsigned data is never accepted);
2. ``Content-Length`` above the limit → 413 without reading the body;
3. signature headers missing → 401 without reading the body;
4. the body, read in chunks and abandoned as soon as it passes the limit → 413 (lying or absent
   ``Content-Length``, chunked uploads);
5. signature → 401; timestamp outside the tolerance window (replay, future) → 401;
6. a ``Content-Type`` other than JSON in UTF-8 → 415; a body that is not UTF-8 JSON without a byte-order
   mark, or without a ticket id → 400; a signed event about something other than a ticket → 202 ignored;
7. the sink (503 if it fails, so that Zendesk delivers again) → 202 accepted or duplicate.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from sync.clock import utc_now
from sync.hints import WebhookHint, WebhookSink
from sync.logging import get_logger
from sync.metrics import Metrics
from sync.web.signature import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    BadSignature,
    MalformedHeaders,
    StaleTimestamp,
    verify_signature,
)

__all__ = ["PayloadError", "WebhookHint", "WebhookReceiver", "WebhookSink", "parse_hint", "unsupported_media_type"]

log = get_logger(__name__)

_EVENT_PREFIX = "zen:event-type:"
_TICKET_EVENT_PREFIX = "zen:event-type:ticket."
# ASCII digits only: str.isdigit and \d also accept other scripts' digits.
_SUBJECT = re.compile(r"zen:ticket:([0-9]{1,19})")
_DIGITS = re.compile(r"[0-9]{1,19}")
_LENGTH = re.compile(r"[0-9]{1,20}")
_MAX_TICKET_ID = 2**63 - 1  # Zendesk ids are 64-bit; anything beyond cannot be a ticket.
_MAX_TEXT = 200  # event ids are UUIDs and types short names; longer values are not trusted as keys.


class PayloadError(ValueError):
    """The body is not JSON, or carries no usable ticket id."""


def _ticket_id(value: Any) -> int | None:
    if isinstance(value, bool):  # bool is an int subclass; true is not ticket 1
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.fullmatch(value):
        number = int(value)
    else:
        return None
    return number if 0 < number <= _MAX_TICKET_ID else None


def _short_text(value: Any) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= _MAX_TEXT and value.isprintable():
        return value
    return None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        # An offset can carry a time past datetime's range once converted ("0001-01-01T00:00:00+05:00",
        # "9999-12-31T23:59:59-05:00"): OverflowError.  The time is informative only: drop it.
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_hint(body: bytes) -> WebhookHint | None:
    """Extract the hint from a delivery's body; ``None`` for a valid event that is not about a ticket.

    Accepts Zendesk event payloads (``{"type": "zen:event-type:ticket.…", "id", "time", "subject":
    "zen:ticket:N", "detail": {"id": "N"}}``) and trigger-style ones (``{"ticket_id": N}`` or
    ``{"ticket": {"id": N}}``, the id as a number or a string of digits).  Raises :class:`PayloadError`.
    """
    # Zendesk posts a JSON payload (developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request)
    # and JSON between systems is UTF-8 without a byte-order mark (RFC 8259 §8.1).  json.loads would also
    # guess UTF-16/32 and skip a BOM: refuse those instead.
    if body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        raise PayloadError("the body starts with a byte-order mark: webhook JSON must be UTF-8 without one")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("the body is not UTF-8") from None
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested arrays
        raise PayloadError("the body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise PayloadError("the body is not a JSON object")

    kind = payload.get("type")
    if isinstance(kind, str) and kind.startswith(_EVENT_PREFIX):
        if not kind.startswith(_TICKET_EVENT_PREFIX):
            return None  # a user or organization event: nothing casesync syncs
        detail = payload.get("detail")
        ticket_id = _ticket_id(detail.get("id")) if isinstance(detail, dict) else None
        subject = payload.get("subject")
        if ticket_id is None and isinstance(subject, str) and (match := _SUBJECT.fullmatch(subject)):
            ticket_id = _ticket_id(match.group(1))
        if ticket_id is None:
            raise PayloadError("the ticket event carries no ticket id")
        return WebhookHint(
            ticket_id=ticket_id,
            event_id=_short_text(payload.get("id")),
            event_type=_short_text(kind),
            occurred_at=_when(payload.get("time")),
        )

    ticket_id = _ticket_id(payload.get("ticket_id"))
    ticket = payload.get("ticket")
    if ticket_id is None and isinstance(ticket, dict):
        ticket_id = _ticket_id(ticket.get("id"))
    if ticket_id is None:
        raise PayloadError("the payload carries no ticket id")
    return WebhookHint(ticket_id=ticket_id, occurred_at=_when(payload.get("time")))


def unsupported_media_type(content_type: str | None) -> str | None:
    """Why a delivery's ``Content-Type`` cannot be taken (415), or ``None``.

    casesync's webhook sends JSON, which Zendesk posts as ``application/json`` in UTF-8; an absent header is
    judged by the body alone.  Another media type, or a charset other than UTF-8, is refused.
    """
    if content_type is None or not content_type.strip():
        return None
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        return f"the body must be application/json, not {media[:60]!r}"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return f"the body must be UTF-8, not charset {value.strip()[:30]!r}"
    return None


class _TooLarge(Exception):
    pass


async def _read_capped(request: Request, limit: int) -> bytes:
    """Read the body, giving up as soon as it exceeds ``limit`` bytes (never buffering more)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, outcome: str, message: str, **extra: Any) -> JSONResponse:
    headers = {"Connection": "close"} if status == 413 else None
    return JSONResponse({"status": outcome, "message": message, **extra}, status_code=status, headers=headers)


class WebhookReceiver:
    """The endpoint's state: secret, limits, sink, metrics and clock.  Route :meth:`handle`."""

    def __init__(
        self,
        *,
        secret: str | None,
        tolerance_s: float,
        max_body_bytes: int,
        sink: WebhookSink,
        metrics: Metrics,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._secret = secret.encode("utf-8") if secret else None
        self._tolerance_s = tolerance_s
        self._max_body = max_body_bytes
        self._sink = sink
        self._metrics = metrics
        self._clock = clock or utc_now

    def _reject(self, request: Request, status: int, outcome: str, reason: str) -> JSONResponse:
        self._metrics.count_webhook(outcome)
        log.warning(
            "webhook.rejected", outcome=outcome, reason=reason, http_status=status,
            client=request.client.host if request.client else None,
        )
        error = {"bad_signature": "unauthorized", "stale": "unauthorized"}.get(outcome, outcome)
        return _answer(status, error, reason)

    async def handle(self, request: Request) -> Response:
        """Handle one delivery (see the module's docstring for the order of checks)."""
        if self._secret is None:
            log.error("webhook.unconfigured")
            return _answer(
                503, "unavailable", "webhooks are disabled: set CASESYNC_WEBHOOK_SECRET to the webhook's signing secret"
            )

        declared = request.headers.get("content-length")
        if declared is not None:
            if not _LENGTH.fullmatch(declared.strip()):
                return self._reject(request, 400, "malformed", "invalid Content-Length")
            if int(declared) > self._max_body:
                return self._reject(request, 413, "too_large", f"the body exceeds {self._max_body} bytes")

        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        if not timestamp or not signature:
            return self._reject(request, 401, "bad_signature", "the signature headers are missing")

        try:
            body = await _read_capped(request, self._max_body)
        except _TooLarge:
            return self._reject(request, 413, "too_large", f"the body exceeds {self._max_body} bytes")
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is listening; keep it out of the error logs

        try:
            verify_signature(
                self._secret, timestamp, body, signature, now=self._clock(), tolerance_s=self._tolerance_s
            )
        except StaleTimestamp as exc:
            return self._reject(request, 401, "stale", str(exc))
        except (BadSignature, MalformedHeaders) as exc:
            return self._reject(request, 401, "bad_signature", str(exc))

        unsupported = unsupported_media_type(request.headers.get("content-type"))
        if unsupported is not None:
            return self._reject(request, 415, "malformed", unsupported)
        try:
            hint = parse_hint(body)
        except PayloadError as exc:
            return self._reject(request, 400, "malformed", str(exc))
        if hint is None:
            self._metrics.count_webhook("ignored")
            log.info("webhook.ignored", reason="not a ticket event")
            return _answer(202, "ignored", "not a ticket event")

        try:
            # The sink writes to the store: keep its blocking I/O off the event loop.
            fresh = await run_in_threadpool(self._sink, hint)
        except Exception:
            log.exception("webhook.store_failed", ticket_id=hint.ticket_id, event_id=hint.event_id)
            response = _answer(503, "unavailable", "the delivery could not be stored; deliver it again")
            response.headers["Retry-After"] = "10"
            return response

        outcome = "accepted" if fresh else "duplicate"
        self._metrics.count_webhook(outcome)
        log.info("webhook." + outcome, ticket_id=hint.ticket_id, event_id=hint.event_id, event_type=hint.event_type)
        return _answer(202, outcome, "queued" if fresh else "already queued", ticket_id=hint.ticket_id)
