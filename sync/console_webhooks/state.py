"""Where console webhook delivery stands, kept in the store so it survives restarts.

The delivery cursor (the last ``seq`` the console acknowledged) is the ``cursors`` row
:data:`DELIVERY_CURSOR`; the failure bookkeeping (consecutive failures, when to try next, the last error,
the last success) is the kv entry :data:`STATE_KEY`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sync.store import StoreTx

__all__ = ["DELIVERY_CURSOR", "STATE_KEY", "DeliveryState", "delivery_status", "read_state", "write_state"]

DELIVERY_CURSOR = "console_webhooks.delivered_seq"
STATE_KEY = "console_webhooks:state"


@dataclass(frozen=True)
class DeliveryState:
    """``failures``: consecutive failed deliveries (0 after a success); times are ISO-8601 strings."""

    failures: int = 0
    next_attempt_at: str | None = None
    last_error: str | None = None
    last_failure_at: str | None = None
    last_success_at: str | None = None
    delivered_total: int = 0

    def due(self, now: datetime) -> bool:
        return self.next_attempt_at is None or datetime.fromisoformat(self.next_attempt_at) <= now


def read_state(tx: StoreTx) -> tuple[int, DeliveryState]:
    """(the delivered seq, the failure bookkeeping)."""
    cursor = tx.get_cursor(DELIVERY_CURSOR)
    raw = tx.kv_get(STATE_KEY)
    fields = DeliveryState.__dataclass_fields__
    state = DeliveryState(**{k: v for k, v in raw.items() if k in fields}) if isinstance(raw, dict) else DeliveryState()
    return (int(cursor) if cursor and cursor.isdigit() else 0), state


def write_state(tx: StoreTx, state: DeliveryState, *, delivered_seq: int | None = None) -> None:
    """Store the bookkeeping; move the cursor forward (never back) when ``delivered_seq`` is given."""
    if delivered_seq is not None:
        current, _ = read_state(tx)
        if delivered_seq > current:
            tx.set_cursor(DELIVERY_CURSOR, str(delivered_seq))
    tx.kv_set(STATE_KEY, asdict(state))


def delivery_status(tx: StoreTx) -> dict[str, Any]:
    """The figures ``casesync status`` shows (None everywhere while webhooks never ran)."""
    seq, state = read_state(tx)
    ran = tx.get_cursor(DELIVERY_CURSOR) is not None or tx.kv_get(STATE_KEY) is not None
    backlog = len(tx.changes(seq, limit=10_001)) if ran else None
    return {
        "console_webhook_delivered_seq": seq if ran else None,
        "console_webhook_backlog": backlog,
        "console_webhook_failures": state.failures if ran else None,
        "console_webhook_last_error": state.last_error,
        "console_webhook_last_success_at": state.last_success_at,
        "console_webhook_next_attempt_at": state.next_attempt_at if state.failures else None,
    }
