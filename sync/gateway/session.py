"""The HTTP session every Zendesk request of casesync goes through (zenpy's and our own).

It does three things zenpy cannot:

* **no hidden retries**: urllib3 adapters with ``max_retries=0`` on http and https, because urllib3 would
  otherwise re-send a PUT (a comment) on a read error; :mod:`sync.retry` is the one retry owner;
* **records** the rate-limit headers (for the :class:`~sync.retry.Pacer`) and the latest ``Date`` header
  (Zendesk's clock, which the export budget is counted in);
* **raises on 429** from a response hook, before zenpy sees the response: zenpy 2.0.57 would otherwise
  sleep ``Retry-After`` seconds in a loop of its own and re-send the request, underneath our policy.

It also reads the proxy and CA-bundle environment variables once per scheme and host instead of on every
request, as ``requests`` does (about a third of a millisecond each time); they still apply.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from mappings.cursor import ZendeskClock
from sync.gateway.errors import BrokenAnswer
from sync.retry import Pacer

if TYPE_CHECKING:
    from requests.sessions import _Settings

__all__ = ["DateHeaderClock", "GatewaySession", "RateLimitResponse", "parse_http_date", "parsed_json"]

# The attribute the response hook leaves a 2xx JSON body in, parsed.
_PARSED = "_casesync_json"
_UNPARSED = object()


def parsed_json(response: requests.Response) -> Any:
    """The JSON body of ``response``: parsed once by :class:`GatewaySession`'s hook, else parsed now
    (``ValueError`` when it does not parse)."""
    found = getattr(response, _PARSED, _UNPARSED)
    return response.json() if found is _UNPARSED else found


class RateLimitResponse(requests.HTTPError):
    """Raised by the response hook on a 429 so zenpy never runs its own sleep-and-resend loop.

    It carries the response; :mod:`sync.gateway.errors` turns it into :class:`~sync.errors.RateLimited`.
    """


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (``Date`` header) as an aware UTC datetime; ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


class DateHeaderClock:
    """Zendesk's clock as this session reads it: the latest ``Date`` header plus the local monotonic time since.

    The arithmetic is :class:`mappings.cursor.ZendeskClock`'s; this holder adds what a session shared by
    threads needs: a lock, and a reading that each response with a readable ``Date`` replaces.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._seen: ZendeskClock | None = None
        # The last header read and its value: responses within the same second carry the same text, and
        # parsing an HTTP date costs more than the rest of this method.
        self._last: tuple[str | None, datetime | None] = (None, None)

    def observe(self, date_header: str | None) -> datetime | None:
        """Record a ``Date`` header; return it parsed (``None`` when absent or unreadable)."""
        last_header, last_when = self._last
        if date_header is not None and date_header == last_header:
            when = last_when
        else:
            when = parse_http_date(date_header)
            self._last = (date_header, when)
        if when is not None:
            with self._lock:
                # Both values are already what the model holds (an aware datetime, a float): no validation
                # on a path every response takes.
                self._seen = ZendeskClock.model_construct(date=when, seen_at_monotonic=self._monotonic())
        return when

    def now(self) -> datetime | None:
        """Zendesk's current time, or ``None`` before any response carried a ``Date`` header."""
        with self._lock:
            seen = self._seen
        return None if seen is None else seen.now(self._monotonic())


def _int_header(response: requests.Response, name: str) -> int | None:
    raw = response.headers.get(name)
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


class GatewaySession(requests.Session):
    """A ``requests.Session`` for Zendesk: per-request headers, no urllib3 retries, 429 raised early.

    ``pacer`` and ``clock`` are shared with the gateway; pass your own to share them between sessions.
    """

    def __init__(
        self,
        *,
        pacer: Pacer | None = None,
        clock: DateHeaderClock | None = None,
        on_response: Callable[[str, str, int, float], None] | None = None,
    ) -> None:
        super().__init__()
        self.pacer = pacer if pacer is not None else Pacer()
        # Called with (method, url, status, seconds) for every response: request metrics.
        self.on_response = on_response
        self.zendesk_clock = clock if clock is not None else DateHeaderClock()
        for prefix in ("http://", "https://"):
            # max_retries=0: urllib3 never re-sends anything, not even on a refused connection.
            self.mount(prefix, HTTPAdapter(max_retries=0))
        self.hooks["response"].append(self._on_response)
        self._environment: dict[tuple[Any, ...], _Settings] = {}

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        """Pace, then send."""
        self.pacer.wait()
        return super().request(method, url, *args, **kwargs)

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> _Settings:
        """``requests``' merge of the environment's settings, remembered per scheme, host and arguments."""
        parts = urlsplit(url.decode() if isinstance(url, bytes) else url or "")
        key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())), stream, verify, cert)
        merged = self._environment.get(key)
        if merged is None:
            merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = merged
        # A copy: requests adds the result to the send arguments, and the proxies map must stay ours.
        copy = merged.copy()
        copy["proxies"] = dict(merged["proxies"])
        return copy

    def _on_response(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        # A hook's return value replaces the response unless it is None: always return None.
        # The account-wide budget; ``ratelimit-reset`` belongs to an endpoint's own limit, so it is not used.
        self.pacer.observe(_int_header(response, "X-Rate-Limit"), _int_header(response, "X-Rate-Limit-Remaining"))
        self.zendesk_clock.observe(response.headers.get("Date"))
        if self.on_response is not None:
            self.on_response(
                response.request.method or "GET", response.url, response.status_code, response.elapsed.total_seconds()
            )
        if 200 <= response.status_code < 300 and "json" in response.headers.get("Content-Type", "").lower():
            # Parsed here, once, for zenpy's calls and the raw ones alike (``parsed_json``): a body cut on
            # the way must be no answer at all, not an object zenpy hands back unparsed.
            try:
                setattr(response, _PARSED, json.loads(response.content) if response.content else None)
            except ValueError:
                raise BrokenAnswer("a JSON answer cut short", response=response) from None
        if response.status_code == 429:
            # Read the body now: it releases the connection to the pool, and the error keeps the text.
            _ = response.content
            raise RateLimitResponse(f"429 Too Many Requests for {response.url}", response=response)
