"""Helpers shared by the gateway tests (a module of its own: conftest modules are not imported)."""

from __future__ import annotations

__all__ = ["BASE", "FakeTime"]

BASE = "https://acme.zendesk.com/api/v2/"


class FakeTime:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
