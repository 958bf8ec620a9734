"""casesync's proof harnesses: the chaos run (judged by :mod:`sync.testing.invariants`) and benchmark scripts.

Run them as modules from the repository root, e.g. ``.venv/bin/python -m benchmarks.chaos``.
"""

__all__: list[str] = []
