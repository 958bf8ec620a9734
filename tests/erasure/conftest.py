"""Fixtures of the erasure tests: the sandbox over real HTTP."""

from __future__ import annotations

from tests.support.zendesk import sandbox, zd

__all__ = ["sandbox", "zd"]
