"""Fault injection configured by ``POST /__sandbox/faults`` (seeded, so a chaos run can be replayed).

A rule matches a path (and optionally a method) and gives probabilities: ``reset``, ``error_429``,
``error_500``, ``error_503``, ``drop_after_commit``, and for a 200 answer ``truncate`` (its JSON cut short)
and ``drift`` (an unknown status value, a field missing, or fields added; ``drift_kind`` fixes which), plus
``latency_ms``.  Spoiling the answer is :mod:`sync.sandbox.drift`.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DRIFT_KINDS", "FaultDecision", "Faults", "WebhookFaults"]


DRIFT_KINDS = ("status", "missing", "added")


def _drift_kind(value: Any) -> str | None:
    if value is not None and value not in DRIFT_KINDS:
        raise ValueError(f"drift_kind must be one of {', '.join(DRIFT_KINDS)}")
    return None if value is None else str(value)


@dataclass
class FaultDecision:
    """What to do with one request."""

    latency_ms: int = 0
    reset: bool = False
    status: int | None = None
    drop_after_commit: bool = False
    #: A 200's body cut short (``Content-Length`` matching the cut, as a proxy that gave up would send).
    truncate: bool = False
    #: A 200's body drifted from the schema: an unknown status value, a field missing.
    drift: bool = False
    #: A draw in [0, 1) that picks where the body is cut, or which drift.
    variant: float = 0.0
    #: The rule's drift, when it names one: ``status``, ``missing`` or ``added`` (else ``variant`` picks).
    drift_kind: str | None = None


@dataclass
class WebhookFaults:
    """Delivery faults: duplicate with probability ``duplicate``, ``reorder`` batches, ``delay_ms``."""

    duplicate: float = 0.0
    reorder: bool = False
    delay_ms: int = 0


@dataclass
class _Rule:
    path: re.Pattern[str]
    method: str | None
    error_429: float = 0.0
    error_500: float = 0.0
    error_503: float = 0.0
    reset: float = 0.0
    drop_after_commit: float = 0.0
    latency_ms: int = 0
    truncate: float = 0.0
    drift: float = 0.0
    drift_kind: str | None = None


@dataclass
class Faults:
    """The current fault rules and their seeded random source."""

    rules: list[_Rule] = field(default_factory=list)
    webhooks: WebhookFaults = field(default_factory=WebhookFaults)
    rng: random.Random = field(default_factory=random.Random)
    lock: threading.Lock = field(default_factory=threading.Lock)
    config: dict[str, Any] = field(default_factory=dict)

    def configure(self, body: dict[str, Any]) -> None:
        """Replace the rules with those of a ``/__sandbox/faults`` body (validated; ValueError if bad)."""
        rules: list[_Rule] = []
        for raw in body.get("rules") or []:
            if not isinstance(raw, dict) or "path" not in raw:
                raise ValueError("each rule needs a 'path' regex")
            method = raw.get("method")
            rules.append(
                _Rule(
                    path=re.compile(str(raw["path"])),
                    method=str(method).upper() if method else None,
                    error_429=float(raw.get("error_429", 0)),
                    error_500=float(raw.get("error_500", 0)),
                    error_503=float(raw.get("error_503", 0)),
                    reset=float(raw.get("reset", 0)),
                    drop_after_commit=float(raw.get("drop_after_commit", 0)),
                    latency_ms=int(raw.get("latency_ms", 0)),
                    truncate=float(raw.get("truncate", 0)),
                    drift=float(raw.get("drift", 0)),
                    drift_kind=_drift_kind(raw.get("drift_kind")),
                )
            )
        wh = body.get("webhooks") or {}
        with self.lock:
            self.rules = rules
            self.webhooks = WebhookFaults(
                duplicate=float(wh.get("duplicate", 0)),
                reorder=bool(wh.get("reorder", False)),
                delay_ms=int(wh.get("delay_ms", 0)),
            )
            self.rng = random.Random(body.get("seed"))
            self.config = body

    def clear(self) -> None:
        """No faults."""
        self.configure({})

    def decide(self, method: str, path: str) -> FaultDecision:
        """Roll the dice for one API request against the first matching rule."""
        with self.lock:
            for rule in self.rules:
                if rule.method and rule.method != method:
                    continue
                if not rule.path.search(path):
                    continue
                d = FaultDecision(latency_ms=rule.latency_ms)
                rng = self.rng
                # Every probability is rolled, in a fixed order, so a seed gives the same sequence
                # whatever the outcome of earlier rolls.
                r_reset, r429, r500, r503, r_drop = (rng.random() for _ in range(5))
                if r_reset < rule.reset:
                    d.reset = True
                elif r429 < rule.error_429:
                    d.status = 429
                elif r500 < rule.error_500:
                    d.status = 500
                elif r503 < rule.error_503:
                    d.status = 503
                elif r_drop < rule.drop_after_commit:
                    d.drop_after_commit = True
                if rule.truncate or rule.drift:
                    # Rolled only by rules that have them, so older seeds replay as before.
                    r_cut, r_drift, d.variant = (rng.random() for _ in range(3))
                    if d.status is None and not d.reset and not d.drop_after_commit:
                        d.truncate = r_cut < rule.truncate
                        d.drift = not d.truncate and r_drift < rule.drift
                        d.drift_kind = rule.drift_kind
                return d
        return FaultDecision()

    def roll(self) -> float:
        """One draw of the seeded source (webhook duplicates)."""
        with self.lock:
            return self.rng.random()
