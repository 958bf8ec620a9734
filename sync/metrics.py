"""Prometheus metrics for casesync, with stable names.

Every :class:`Metrics` holds its own :class:`~prometheus_client.CollectorRegistry`, never the global one, so
tests, several engines in one process and the sandbox never collide.  Callers use the small methods
(:meth:`Metrics.observe_request`, :meth:`Metrics.count_webhook`, …) and never touch prometheus objects, which
keeps label names and values in one place.

Exposed series (``/metrics``)::

    casesync_zendesk_requests_total{endpoint,status}     counter    Zendesk API requests by path template
    casesync_zendesk_request_seconds{endpoint}           histogram  their duration
    casesync_retries_total{reason}                       counter    retried requests or deliveries
    casesync_rate_limit_wait_seconds_total               counter    time spent waiting for rate limits
    casesync_outbox_depth                                gauge      outbox entries not yet delivered
    casesync_outbox_oldest_age_seconds                   gauge      age of the oldest of them
    casesync_inbound_lag_seconds                         histogram  Zendesk event time → applied to the console
    casesync_dead_letters                                gauge      dead letters waiting for an operator
    casesync_webhook_deliveries_total{outcome}           counter    webhook deliveries by outcome
    casesync_outbox_delivered_total{kind}                counter    console changes delivered to Zendesk
    casesync_inbound_applied_total{kind}                 counter    Zendesk changes applied to the console
    casesync_last_poll_success_timestamp_seconds         gauge      Unix time of the last successful poll
    casesync_console_webhook_deliveries_total{outcome}   counter    console webhook POSTs: delivered / failed
    casesync_console_webhook_changes_total               counter    feed entries the console acknowledged
    casesync_connection_paused{cause}                    gauge      1 while the Zendesk connection is paused
    casesync_build_info{version,python}                  gauge      always 1; the running build in labels

plus the standard ``process_*`` (CPU, memory, file descriptors, start time), ``python_info`` and
``python_gc_*`` series.  No ``*_created`` series: prometheus-client's ``disable_created_metrics`` is applied
once on import, since a creation timestamp per counter only doubles the series a scrape carries.
"""

from __future__ import annotations

import platform
import re
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "PAUSE_CAUSES", "WEBHOOK_OUTCOMES", "Metrics", "build_version", "endpoint_template"]

disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client

PAUSE_CAUSES = ("credentials_refused", "unreachable")
"""Why the Zendesk connection can be paused (:mod:`sync.connection`)."""

WEBHOOK_OUTCOMES = ("accepted", "duplicate", "ignored", "bad_signature", "stale", "too_large", "malformed")
"""Outcomes of a webhook delivery.  ``ignored``: a valid, signed event about something other than a ticket."""

def build_version() -> str:
    """The installed casesync version (``0+unknown`` when running from a tree that was never installed)."""
    try:
        return version("casesync")
    except PackageNotFoundError:
        return "0+unknown"


_REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LAG_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

_NUMERIC = re.compile(r"\d+")
# Opaque identifiers in paths (attachment tokens, ULIDs of webhooks): long, and containing a digit.
_OPAQUE = re.compile(r"(?=.*\d)[A-Za-z0-9_-]{16,}")


def endpoint_template(path_or_url: str) -> str:
    """Turn a request path or URL into a low-cardinality label: ids become ``{id}``, tokens ``{token}``.

    ``/api/v2/tickets/123/comments.json?page=2`` → ``/api/v2/tickets/{id}/comments``.  Scheme, host, query
    and a ``.json`` suffix are dropped (Zendesk accepts every path with or without it).  Idempotent.
    """
    path = urlsplit(path_or_url).path or "/"
    if path.endswith(".json"):
        path = path[: -len(".json")]
    segments = []
    for segment in path.split("/"):
        if _NUMERIC.fullmatch(segment):
            segments.append("{id}")
        elif _OPAQUE.fullmatch(segment):
            segments.append("{token}")
        else:
            segments.append(segment)
    template = "/".join(segments)
    if len(template) > 1:
        template = template.rstrip("/")
    return template or "/"


class Metrics:
    """casesync's metrics in a private registry; thread-safe (prometheus-client locks each value)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        # Templates are few (ids are templated away), so these stay small.
        self._request_children: dict[tuple[str, str], Any] = {}
        self._duration_children: dict[str, Any] = {}
        self._requests = Counter(
            "casesync_zendesk_requests_total", "Zendesk API requests by endpoint template and HTTP status.",
            ["endpoint", "status"], registry=r,
        )
        self._request_seconds = Histogram(
            "casesync_zendesk_request_seconds", "Duration of Zendesk API requests.",
            ["endpoint"], buckets=_REQUEST_BUCKETS, registry=r,
        )
        self._retries = Counter("casesync_retries_total", "Retries by reason.", ["reason"], registry=r)
        self._rate_limit_wait = Counter(
            "casesync_rate_limit_wait_seconds_total", "Seconds spent waiting because of Zendesk rate limits.",
            registry=r,
        )
        self._outbox_depth = Gauge("casesync_outbox_depth", "Outbox entries not yet delivered.", registry=r)
        self._outbox_oldest = Gauge(
            "casesync_outbox_oldest_age_seconds", "Age of the oldest outbox entry not yet delivered.", registry=r
        )
        self._inbound_lag = Histogram(
            "casesync_inbound_lag_seconds", "Delay from a change in Zendesk to its arrival in the console.",
            buckets=_LAG_BUCKETS, registry=r,
        )
        self._dead_letters = Gauge("casesync_dead_letters", "Dead letters waiting for an operator.", registry=r)
        self._webhooks = Counter(
            "casesync_webhook_deliveries_total", "Webhook deliveries received, by outcome.", ["outcome"], registry=r
        )
        self._delivered = Counter(
            "casesync_outbox_delivered_total", "Console changes delivered to Zendesk, by kind.", ["kind"], registry=r
        )
        self._applied = Counter(
            "casesync_inbound_applied_total", "Zendesk changes applied to the console, by kind.", ["kind"], registry=r
        )
        self._last_poll = Gauge(
            "casesync_last_poll_success_timestamp_seconds", "Unix time of the last successful poll.", registry=r
        )
        self._paused = Gauge(
            "casesync_connection_paused", "1 while the Zendesk connection is paused, by cause.", ["cause"], registry=r
        )
        build = Gauge("casesync_build_info", "The running casesync build (always 1).", ["version", "python"],
                      registry=r)
        build.labels(version=build_version(), python=platform.python_version()).set(1)
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        # Every outcome and cause is exported from the start (at 0), so dashboards and alerts see the series
        # before the first delivery of that kind.
        for outcome in WEBHOOK_OUTCOMES:
            self._webhooks.labels(outcome=outcome)
        for cause in PAUSE_CAUSES:
            self._paused.labels(cause=cause).set(0)
        self._console_webhooks = Counter(
            "casesync_console_webhook_deliveries", "Console webhook POSTs by outcome.", ["outcome"], registry=r
        )
        self._console_webhook_changes = Counter(
            "casesync_console_webhook_changes", "Feed entries the console webhook acknowledged.", registry=r
        )
        for outcome in ("delivered", "failed"):
            self._console_webhooks.labels(outcome=outcome)

    def observe_request(self, endpoint: str, status: int | str | None, seconds: float) -> None:
        """Count one Zendesk request.  ``endpoint`` may be a raw path or URL (it is templated here);
        ``status`` is the HTTP status, or ``None`` when no answer came (counted as ``"network_error"``)."""
        template = endpoint_template(endpoint)
        label = "network_error" if status is None else str(status)
        # The labelled children, looked up once per (template, status): ``labels()`` takes a lock and
        # validates its arguments on every call, and every Zendesk request passes here.
        counted = self._request_children.get((template, label))
        if counted is None:
            counted = self._request_children.setdefault(
                (template, label), self._requests.labels(endpoint=template, status=label)
            )
        timed = self._duration_children.get(template)
        if timed is None:
            timed = self._duration_children.setdefault(template, self._request_seconds.labels(endpoint=template))
        counted.inc()
        timed.observe(max(0.0, seconds))

    def count_retry(self, reason: str) -> None:
        """Count one retry; ``reason`` is a short fixed word such as ``429``, ``5xx``, ``network``, ``conflict``."""
        self._retries.labels(reason=reason).inc()

    def add_rate_limit_wait(self, seconds: float) -> None:
        """Add time spent waiting for a rate limit (``Retry-After`` or the export's 10-per-minute window)."""
        if seconds > 0:
            self._rate_limit_wait.inc(seconds)

    def set_outbox(self, depth: int, oldest_age_s: float | None) -> None:
        """Record the outbox's depth and the age of its oldest pending entry (``None``/0 when empty)."""
        self._outbox_depth.set(depth)
        self._outbox_oldest.set(oldest_age_s or 0.0)

    def observe_inbound_lag(self, seconds: float) -> None:
        """Record the delay between a change in Zendesk and its arrival in the console."""
        self._inbound_lag.observe(max(0.0, seconds))

    def set_dead_letters(self, count: int) -> None:
        """Record how many dead letters wait for an operator."""
        self._dead_letters.set(count)

    def count_webhook(self, outcome: str) -> None:
        """Count one webhook delivery; ``outcome`` is one of :data:`WEBHOOK_OUTCOMES`."""
        if outcome not in WEBHOOK_OUTCOMES:
            # A free-form label would grow the series without bound.
            raise ValueError(f"unknown webhook outcome {outcome!r}; expected one of {WEBHOOK_OUTCOMES}")
        self._webhooks.labels(outcome=outcome).inc()

    def count_outbox_delivered(self, kind: str, n: int = 1) -> None:
        """Count console changes delivered to Zendesk (``kind``: ``create``, ``comment``, ``status``, …)."""
        if n > 0:
            self._delivered.labels(kind=kind).inc(n)

    def count_inbound_applied(self, kind: str, n: int = 1) -> None:
        """Count Zendesk changes applied to the console (``kind`` as in the change feed)."""
        if n > 0:
            self._applied.labels(kind=kind).inc(n)

    def count_console_webhook(self, outcome: str, changes: int = 0) -> None:
        """Count one console webhook POST (``delivered`` or ``failed``) and the feed entries it carried."""
        if outcome not in ("delivered", "failed"):
            raise ValueError(f"unknown console webhook outcome {outcome!r}")
        self._console_webhooks.labels(outcome=outcome).inc()
        if changes > 0:
            self._console_webhook_changes.inc(changes)

    def mark_poll_success(self, at: float | None = None) -> None:
        """Record a successful poll at Unix time ``at`` (now by default)."""
        self._last_poll.set(time.time() if at is None else at)

    def set_connection_paused(self, cause: str | None) -> None:
        """Record the connection's state: paused for ``cause`` (one of :data:`PAUSE_CAUSES`), or running."""
        if cause is not None and cause not in PAUSE_CAUSES:
            raise ValueError(f"unknown pause cause {cause!r}; expected one of {PAUSE_CAUSES}")
        for known in PAUSE_CAUSES:
            self._paused.labels(cause=known).set(1 if known == cause else 0)

    def webhook_count(self, outcome: str) -> float:
        """The number of deliveries counted with ``outcome`` so far (for the status page and tests)."""
        value = self.registry.get_sample_value("casesync_webhook_deliveries_total", {"outcome": outcome})
        return value or 0.0

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (serve with :data:`CONTENT_TYPE_LATEST`)."""
        return generate_latest(self.registry)
