"""casesync's proof harnesses: the chaos run, its invariant checker, and benchmark scripts.

Run them as modules from the repository root, e.g. ``.venv/bin/python -m benchmarks.chaos``.
"""

__all__: list[str] = []
