"""The one exponential backoff every waiting part of casesync uses, each with its own base and cap.

The retrying HTTP layer (:class:`sync.retry.RetryPolicy`), the outbox and inbox schedules, the connection's
probes while paused and the database-outage waits all compute their delays here; only their numbers differ.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff"]

#: Doubling stops here: the cap is reached long before, and a larger power would overflow a float.
_MAX_DOUBLINGS = 30


@dataclass(frozen=True)
class Backoff:
    """``base_s`` doubling per failed attempt, never above ``cap_s``.

    ``jitter`` is the randomised fraction of each delay (0: none; 0.5: between half and all of it; 1: "full
    jitter"), so that many waiters that failed together do not come back together.
    """

    base_s: float
    cap_s: float
    jitter: float = 0.0

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.cap_s < 0:
            raise ValueError("base_s and cap_s must not be negative")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be within [0, 1]")

    def delay(self, attempt: int, random_source: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based; 0 counts as 1)."""
        full = min(self.cap_s, self.base_s * 2.0 ** min(max(attempt - 1, 0), _MAX_DOUBLINGS))
        if not self.jitter:
            return float(full)
        return full * (1.0 - self.jitter) + full * self.jitter * random_source()
