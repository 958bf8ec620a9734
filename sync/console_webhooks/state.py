"""Where console webhook delivery stands, kept in the store so it survives restarts.

The delivery cursor (the last ``seq`` the console acknowledged) is the ``cursors`` row
:data:`DELIVERY_CURSOR`; the failure bookkeeping (consecutive failures, when to try next, the last error,
the last success) is the kv entry ``sync.store.kv_keys.WEBHOOK_DELIVERY``.
"""

from __future__ import annotations

from typing import Any

from sync.store import StoreTx
from sync.store.kv_keys import WEBHOOK_DELIVERY
from sync.store.kv_values import DeliveryState

__all__ = ["DELIVERY_CURSOR", "DeliveryState", "delivery_status", "read_state", "write_state"]

DELIVERY_CURSOR = "console_webhooks.delivered_seq"


def read_state(tx: StoreTx) -> tuple[int, DeliveryState]:
    """(the delivered seq, the failure bookkeeping)."""
    cursor = tx.get_cursor(DELIVERY_CURSOR)
    state = WEBHOOK_DELIVERY.get(tx) or DeliveryState()
    return (int(cursor) if cursor and cursor.isdigit() else 0), state


def write_state(tx: StoreTx, state: DeliveryState, *, delivered_seq: int | None = None) -> None:
    """Store the bookkeeping; move the cursor forward (never back) when ``delivered_seq`` is given."""
    if delivered_seq is not None:
        current, _ = read_state(tx)
        if delivered_seq > current:
            tx.set_cursor(DELIVERY_CURSOR, str(delivered_seq))
    WEBHOOK_DELIVERY.put(tx, state)


def delivery_status(tx: StoreTx) -> dict[str, Any]:
    """The figures ``casesync status`` shows (None everywhere while webhooks never ran)."""
    seq, state = read_state(tx)
    ran = tx.get_cursor(DELIVERY_CURSOR) is not None or WEBHOOK_DELIVERY.is_set(tx)
    backlog = len(tx.changes(seq, limit=10_001)) if ran else None
    return {
        "console_webhook_delivered_seq": seq if ran else None,
        "console_webhook_backlog": backlog,
        "console_webhook_failures": state.failures if ran else None,
        "console_webhook_last_error": state.last_error,
        "console_webhook_last_success_at": state.last_success_at,
        "console_webhook_next_attempt_at": state.next_attempt_at if state.failures else None,
    }
