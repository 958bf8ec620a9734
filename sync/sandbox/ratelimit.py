"""Rate limits on the sandbox clock: the account-wide per-minute limit, the incremental exports' own
limit and the per-ticket update limit."""

from __future__ import annotations

import math
from collections import deque

from .errors import ApiError
from .state import State

__all__ = ["RateLimiter"]


class RateLimiter:
    """Fixed one-minute windows (aligned on the sandbox clock's minutes) plus a sliding per-ticket window."""

    def __init__(self, st: State) -> None:
        self.st = st
        self._window = -1
        self._count = 0
        self._export_window = -1
        self._export_count = 0
        self._ticket_updates: dict[int, deque[float]] = {}

    def reset(self) -> None:
        """Forget every counter."""
        self._window = self._export_window = -1
        self._count = self._export_count = 0
        self._ticket_updates.clear()

    def account(self) -> tuple[dict[str, str], ApiError | None]:
        """Count one API request; headers for every response and the 429 to send when over the limit."""
        cfg = self.st.config
        now = self.st.clock.now()
        window = int(now // 60)
        if window != self._window:
            self._window, self._count = window, 0
        reset = max(1, math.ceil((window + 1) * 60 - now))
        limit = cfg.requests_per_minute
        if cfg.rate_limits and self._count >= limit:
            headers = {"X-Rate-Limit": str(limit), "X-Rate-Limit-Remaining": "0"}
            err = ApiError(
                429,
                "Number of allowed API requests per minute exceeded: 0",
                {**headers, "Retry-After": str(reset), "ratelimit-limit": str(limit),
                 "ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
            )
            return headers, err
        self._count += 1
        remaining = max(0, limit - self._count)
        return {
            "X-Rate-Limit": str(limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "_reset": str(reset),
        }, None

    def export(self) -> ApiError | None:
        """Count one incremental export request (10 per minute by default)."""
        cfg = self.st.config
        if not cfg.rate_limits:
            return None
        now = self.st.clock.now()
        window = int(now // 60)
        if window != self._export_window:
            self._export_window, self._export_count = window, 0
        if self._export_count >= cfg.export_requests_per_minute:
            retry = max(1, math.ceil((window + 1) * 60 - now))
            return ApiError(
                429,
                {
                    "error": "APIRateLimitExceeded",
                    "description": "Number of allowed incremental export API requests per minute exceeded",
                },
                {"Retry-After": str(retry)},
            )
        self._export_count += 1
        return None

    def ticket_update(self, ticket_id: int) -> ApiError | None:
        """Count one update of a ticket (30 per 10 minutes by default, as Zendesk's Update Ticket limit)."""
        cfg = self.st.config
        if not cfg.rate_limits:
            return None
        now = self.st.clock.now()
        q = self._ticket_updates.setdefault(ticket_id, deque())
        while q and q[0] <= now - cfg.ticket_update_window_s:
            q.popleft()
        if len(q) >= cfg.ticket_updates_per_window:
            retry = max(1, math.ceil(q[0] + cfg.ticket_update_window_s - now))
            return ApiError(
                429,
                "Rate limit for ticket updates exceeded, please wait before updating this ticket again",
                {"Retry-After": str(retry), "Content-Type": "text/html; charset=utf-8"},
            )
        q.append(now)
        return None
