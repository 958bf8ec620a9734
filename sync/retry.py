"""The one owner of retries and pacing for everything casesync sends to Zendesk.

:class:`RetryPolicy` decides, for one gateway call, whether a failure is tried again and after how long;
it is built on tenacity with the sleep, the clock and the random source injected, so tests never wait.

What is retried, and what is not:

* only :class:`~sync.errors.RetriableError` (429, 5xx, timeouts, resets, refused connections); a conflict,
  a 4xx or a mapping error is raised at once;
* a 429, or a 503 that says when to come back, waits exactly ``retry_after`` seconds; anything else waits
  an exponential backoff with jitter, capped;
* **writes are retried only when the failure was not ambiguous.**  A write whose request may have been
  applied (a read timeout, a reset after sending, a 500/502/504 answer: the error's ``ambiguous`` flag) is
  raised to the caller instead: re-sending a comment blindly could post it twice.  The outbox worker owns
  that case: it checks Zendesk (the ticket by ``external_id``, the comments for the message's marker) before
  it ever sends the write again.  A 429 or a refused connection is never ambiguous: nothing was applied.
* a call never spends more than ``max_elapsed_s`` in total; a ``retry_after`` beyond that budget is raised at
  once, so the caller can reschedule instead of blocking a worker.

:class:`BudgetWait` is for callers that may block until a per-minute budget comes back (the backfill and the
reconciler reading the incremental exports, which allow 10 requests a minute): a retriable failure is waited
out — Zendesk's ``Retry-After`` when it gives a positive one, else a fixed pause — a set number of times.

:class:`Pacer` keeps casesync under Zendesk's per-minute limit: once ``X-Rate-Limit-Remaining`` falls
under 10% of ``X-Rate-Limit``, it spreads the requests left over the rest of the window instead of
running into a 429.  One pacer is shared by every thread of a process (it has its own lock).

Both are visible: every retry is counted in ``casesync_retries_total{reason}`` and every wait a rate limit
imposes (a 429's ``Retry-After``, pacing) in ``casesync_rate_limit_wait_seconds_total``, when a
:class:`~sync.metrics.Metrics` is given, and each is logged through structlog (``zendesk_retry``,
``zendesk_pacing``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception, retry_if_exception_type, stop_after_attempt

from sync.backoff import Backoff
from sync.errors import NetworkError, RateLimited, RetriableError, ServerUnavailable
from sync.logging import get_logger

if TYPE_CHECKING:
    from sync.metrics import Metrics

__all__ = ["BudgetWait", "Pacer", "RetryPolicy", "is_ambiguous", "retry_reason"]

log = get_logger(__name__)

T = TypeVar("T")


def retry_reason(exc: BaseException | None) -> str:
    """The ``reason`` label of a retry: ``429``, ``503``, ``5xx``, ``network`` or ``other``."""
    if isinstance(exc, RateLimited):
        return "429"
    if isinstance(exc, ServerUnavailable):
        return "503" if exc.status == 503 else "5xx"
    if isinstance(exc, NetworkError):
        return "network"
    return "other"


def is_ambiguous(exc: BaseException) -> bool:
    """True when the failed request may nevertheless have been applied by Zendesk."""
    return bool(getattr(exc, "ambiguous", False))


@dataclass(frozen=True)
class RetryPolicy:
    """How one call to Zendesk is retried.  Immutable: derive variants with :meth:`with_`.

    ``sleep``, ``clock`` (monotonic seconds) and ``random_source`` (uniform in [0, 1)) are injected so that tests
    decide time and jitter.  ``jitter`` is the fraction of each backoff that is randomised (0: none, 1: the
    whole delay, "full jitter").  ``metrics``, when given, counts every retry and rate-limit wait.
    """

    max_attempts: int = 5
    max_elapsed_s: float | None = 30.0
    base_s: float = 0.5
    cap_s: float = 10.0
    jitter: float = 0.5
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    random_source: Callable[[], float] = field(default=random.random, compare=False)
    metrics: Metrics | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError("jitter must be within [0, 1]")

    def with_(self, **changes: object) -> RetryPolicy:
        """A copy with some fields changed (``policy.with_(max_attempts=1)``)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    # -- decisions -------------------------------------------------------------------------------------

    def should_retry(self, exc: BaseException, *, write: bool, retry_rate_limited: bool = True) -> bool:
        """Whether ``exc`` may be retried at all (ignoring attempts and time)."""
        if not isinstance(exc, RetriableError):
            return False
        if isinstance(exc, RateLimited) and not retry_rate_limited:
            return False
        # An ambiguous write surfaces: the caller must look before it leaps (see the module docstring).
        return not (write and is_ambiguous(exc))

    def backoff(self, attempt: int, *, cap_s: float | None = None) -> float:
        """The jittered exponential delay after failed attempt number ``attempt`` (1-based).

        Also usable by schedulers (the outbox) with their own ``cap_s``.
        """
        cap = self.cap_s if cap_s is None else cap_s
        return Backoff(self.base_s, cap, self.jitter).delay(attempt, self.random_source)

    def delay_for(self, exc: BaseException | None, attempt: int) -> float:
        """The wait before the next attempt: ``retry_after`` when Zendesk gave one, else :meth:`backoff`."""
        retry_after: object = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after >= 0:
            return float(retry_after)
        return self.backoff(attempt)

    # -- running ---------------------------------------------------------------------------------------

    def call(self, fn: Callable[[], T], *, write: bool = False, retry_rate_limited: bool = True) -> T:
        """Run ``fn`` and retry it as this policy says; the last error is re-raised unchanged.

        ``fn`` must build everything it sends afresh on every attempt (zenpy objects carry state that a
        failed attempt leaves behind).  ``write=True`` for any request that changes Zendesk.
        ``retry_rate_limited=False`` raises a 429 at once (the export poller skips a poll instead).
        """
        return self.retrying(write=write, retry_rate_limited=retry_rate_limited)(fn)

    def retrying(self, *, write: bool = False, retry_rate_limited: bool = True) -> Retrying:
        """A tenacity ``Retrying`` configured by this policy (for composing with other tenacity code)."""
        start = self.clock()

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return self.delay_for(exc, state.attempt_number)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts:
                return True
            if self.max_elapsed_s is None:
                return False
            return (self.clock() - start) + state.upcoming_sleep > self.max_elapsed_s

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = retry_reason(exc)
            if self.metrics is not None:
                self.metrics.count_retry(reason)
                if isinstance(exc, RateLimited):
                    # A 429's wait is the rate limit's (Retry-After), not a backoff of ours.
                    self.metrics.add_rate_limit_wait(state.upcoming_sleep)
            log.info(
                "zendesk_retry",
                reason=reason,
                attempt=state.attempt_number,
                sleep_s=round(state.upcoming_sleep, 3),
                error=str(exc),
            )

        return Retrying(
            sleep=self.sleep,
            stop=stop,
            wait=wait,
            retry=retry_if_exception(
                lambda e: self.should_retry(e, write=write, retry_rate_limited=retry_rate_limited)
            ),
            before_sleep=before_sleep,
            reraise=True,
        )


@dataclass(frozen=True)
class BudgetWait:
    """Waits out a rate-limited budget for a caller that may block: at most ``waits`` waits, then the last
    error is raised unchanged.

    Only ``only`` (default :class:`~sync.errors.RetriableError`) is waited out (the calls are reads); each
    wait is the error's ``retry_after`` when it is positive, else ``pause_s`` (a ``Retry-After: 0`` still
    pauses: an export that answers 429 again at once would otherwise spend every wait in a burst).
    """

    waits: int
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    pause_s: float = 10.0
    #: What is waited out; anything else is raised at once (the gateway's policy already retried it).
    only: type[BaseException] = RetriableError
    #: Told of each wait before it starts (seconds, the error), e.g. to log it.
    on_wait: Callable[[float, BaseException], None] | None = field(default=None, compare=False)

    def delay_for(self, exc: BaseException | None) -> float:
        """The wait after ``exc``."""
        retry_after: object = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > 0:
            return float(retry_after)
        return self.pause_s

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn``, waiting out retriable failures as described above."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            seconds = self.delay_for(exc)
            if self.on_wait is not None and exc is not None:
                self.on_wait(seconds, exc)
            return seconds

        retrying = Retrying(
            sleep=self.sleep,
            stop=stop_after_attempt(self.waits + 1),
            wait=wait,
            retry=retry_if_exception_type(self.only),
            reraise=True,
        )
        return retrying(fn)


class Pacer:
    """Spreads requests over the rest of the rate-limit window once the budget runs low.

    Feed it every response's limits with :meth:`observe`; call :meth:`wait` before each request.  Below
    ``threshold * limit`` remaining, each request gets a slot ``time left in the window / requests left``
    after the previous one, so the budget lasts until the window resets instead of ending in a 429.
    Zendesk does not say when its minute window started; a window is assumed to end ``window_s`` after the
    first response seen in it (or after ``reset_s`` when the ``ratelimit-reset`` header gives it), and a new
    window starts when the remaining count goes up.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        threshold: float = 0.10,
        window_s: float = 60.0,
        metrics: Metrics | None = None,
    ) -> None:
        self._clock = clock
        self.metrics = metrics
        self._sleep = sleep
        self._threshold = threshold
        self._window_s = window_s
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._remaining: int | None = None
        self._window_end: float | None = None
        self._next_slot: float = 0.0

    @property
    def limit(self) -> int | None:
        """The last ``X-Rate-Limit`` seen."""
        return self._limit

    @property
    def remaining(self) -> int | None:
        """The requests believed left in the window (the last header, minus requests paced since)."""
        return self._remaining

    def observe(self, limit: int | None, remaining: int | None, reset_s: float | None = None) -> None:
        """Record the rate-limit headers of a response (``None`` when absent)."""
        if limit is None or remaining is None or limit <= 0:
            return
        now = self._clock()
        with self._lock:
            new_window = (
                self._window_end is None
                or now >= self._window_end
                or (self._remaining is not None and remaining > self._remaining)
            )
            if reset_s is not None and reset_s >= 0:
                self._window_end = now + reset_s
            elif new_window:
                self._window_end = now + self._window_s
            if new_window:
                self._next_slot = now
            self._limit = limit
            self._remaining = remaining

    def delay(self) -> float:
        """Reserve the next request's slot and return how long to wait for it (0 when not pacing)."""
        now = self._clock()
        with self._lock:
            if self._limit is None or self._remaining is None or self._window_end is None:
                return 0.0
            if now >= self._window_end:
                # The window is over: the budget is back, whatever the last header said.
                self._remaining = None
                return 0.0
            if self._remaining >= self._threshold * self._limit:
                self._remaining -= 1
                return 0.0
            if self._remaining <= 0:
                # Nothing left: wait for the window to reset.
                slot = self._window_end
            else:
                # Even spacing from this slot to the window's end for the requests still allowed.
                slot = min(max(now, self._next_slot), self._window_end)
                self._next_slot = slot + (self._window_end - slot) / self._remaining
                self._remaining -= 1
            return max(slot - now, 0.0)

    def wait(self) -> float:
        """Sleep (outside the lock) for :meth:`delay`; return the time slept."""
        pause = self.delay()
        if pause > 0:
            if self.metrics is not None:
                self.metrics.count_retry("pacing")
                self.metrics.add_rate_limit_wait(pause)
            log.info("zendesk_pacing", sleep_s=round(pause, 3), remaining=self._remaining, limit=self._limit)
            self._sleep(pause)
        return pause
