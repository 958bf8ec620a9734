"""A stateful emulator of the Zendesk Support API over real HTTP, for tests, the demo and benchmarks.

``from sync.sandbox import Sandbox``. It imports nothing from the rest of casesync.
"""

from .sandbox import Sandbox, run_sandbox

__all__ = ["Sandbox", "run_sandbox"]
