"""The one backoff: base doubling per failed attempt up to the cap, with the jitter fraction randomised."""

from __future__ import annotations

import pytest

from sync.backoff import Backoff


@pytest.mark.parametrize(
    ("base_s", "cap_s", "attempt", "expected"),
    [
        (0.5, 10.0, 1, 0.5),
        (0.5, 10.0, 0, 0.5),  # no attempt yet counts as the first
        (0.5, 10.0, 2, 1.0),
        (0.5, 10.0, 5, 8.0),
        (0.5, 10.0, 6, 10.0),  # capped
        (1.0, 300.0, 9, 256.0),
        (1.0, 300.0, 10_000, 300.0),  # no overflow however many attempts
        (0.25, 2.0, 3, 1.0),
        (0.0, 5.0, 4, 0.0),
    ],
)
def test_delays_double_up_to_the_cap(base_s: float, cap_s: float, attempt: int, expected: float) -> None:
    assert Backoff(base_s, cap_s).delay(attempt) == expected


@pytest.mark.parametrize(
    ("jitter", "draw", "expected"),
    [
        (0.5, 0.0, 2.0),  # half of the delay at least
        (0.5, 0.999, 3.998),
        (1.0, 0.0, 0.0),  # full jitter
        (1.0, 0.5, 2.0),
        (0.0, 0.9, 4.0),  # none: the draw is ignored
    ],
)
def test_jitter_randomises_only_its_fraction(jitter: float, draw: float, expected: float) -> None:
    assert Backoff(1.0, 60.0, jitter).delay(3, lambda: draw) == pytest.approx(expected)


@pytest.mark.parametrize("args", [(-1.0, 1.0, 0.0), (1.0, -1.0, 0.0), (1.0, 1.0, 1.5), (1.0, 1.0, -0.1)])
def test_impossible_settings_are_refused(args: tuple[float, float, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(*args)
