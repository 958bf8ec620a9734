"""The outcome of one engine pass (``SyncEngine.run_once``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SyncReport"]


class SyncReport(BaseModel):
    """What one pass did.

    ``pending`` counts outbox entries not yet delivered (dead letters excluded); ``errors`` holds one
    line per failure met during the pass — Zendesk and network errors are reported here, never raised.
    """

    model_config = ConfigDict(extra="forbid")

    delivered: int = 0
    pending: int = 0
    dead_letters: int = 0
    inbound_applied: int = 0
    polled: bool = False
    errors: list[str] = Field(default_factory=list)

    def merge(self, other: SyncReport) -> SyncReport:
        """Add ``other``'s counts to this report's (the gauges ``pending``/``dead_letters`` take ``other``'s)."""
        return SyncReport(
            delivered=self.delivered + other.delivered,
            pending=other.pending,
            dead_letters=other.dead_letters,
            inbound_applied=self.inbound_applied + other.inbound_applied,
            polled=self.polled or other.polled,
            errors=[*self.errors, *other.errors],
        )
