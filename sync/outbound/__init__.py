"""Outbound sync: delivers the console's queued changes (the outbox) to Zendesk, in order, exactly once."""

from sync.outbound.worker import OutboxWorker

__all__ = ["OutboxWorker"]
