"""What an operator needs to know about a casesync deployment, read from the store alone.

:func:`collect_status` is the one source of ``casesync status``, ``casesync status --json`` and the HTTP
status page, so the three always agree.  It needs nothing but the database: no Zendesk credentials, no
running process.  Every value is JSON-compatible (datetimes are ISO-8601 strings, durations are seconds).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mappings.cursor import decode_after_cursor
from mappings.errors import InvalidCursor
from sync.console_webhooks.state import delivery_status
from sync.store import Store, StoreTx
from sync.store.kv_keys import CONNECTION_PAUSE, RECONCILE_LAST, SUSPENDED
from sync.store.kv_values import ReconcileSummary

__all__ = [
    "EVENTS_CURSOR",
    "STATUS_FIELDS",
    "TICKETS_CURSOR",
    "WEBHOOK_SOURCE",
    "collect_status",
]

# The inbound poller's cursor names and the inbox source of webhook hints (sync.inbound); repeated here so
# that reading the status never imports the Zendesk client (a test checks they match).
TICKETS_CURSOR = "zendesk.tickets"
EVENTS_CURSOR = "zendesk.ticket_events"
WEBHOOK_SOURCE = "webhook"
#: The figures, in display order, with the label ``casesync status`` prints for each.
STATUS_FIELDS: dict[str, str] = {
    "connection": "Zendesk connection (running or paused)",
    "connection_paused_cause": "Paused because",
    "connection_paused_since": "Paused since",
    "connection_paused_detail": "Last refusal",
    "queue_depth": "Queue depth (outbox, not yet delivered)",
    "oldest_pending_at": "Oldest pending change",
    "oldest_pending_age_s": "Age of the oldest pending change",
    "inbox_depth": "Inbox depth (Zendesk changes to apply)",
    "dead_letters": "Dead letters",
    "dead_letters_outbox": "Dead letters (outbox)",
    "dead_letters_inbox": "Dead letters (inbox)",
    "conflicts": "Open conflicts",
    "last_successful_poll_at": "Last successful poll",
    "last_successful_poll_age_s": "Time since the last successful poll",
    "cursor_position_at": "Export cursor position",
    "oldest_unapplied_at": "Oldest Zendesk change not applied yet",
    "oldest_unapplied_age_s": "Age of the oldest Zendesk change not applied",
    "cursor_lag_s": "Cursor lag (how far behind Zendesk)",
    "webhook_deliveries": "Webhook deliveries received",
    "last_webhook_at": "Last webhook delivery",
    "reconcile_last_at": "Last reconcile",
    "reconcile_drift": "Drift found by the last reconcile",
    "reconcile_repaired": "Repaired by the last reconcile",
    "reconcile_drift_left": "Drift left after the last reconcile",
    "console_webhook_delivered_seq": "Console webhooks: last seq delivered",
    "console_webhook_backlog": "Console webhooks: feed entries not yet delivered",
    "console_webhook_failures": "Console webhooks: consecutive failed deliveries",
    "console_webhook_last_error": "Console webhooks: last error",
    "console_webhook_last_success_at": "Console webhooks: last successful delivery",
    "console_webhook_next_attempt_at": "Console webhooks: next attempt",
    "suspended_emails": "Console users' emails suspended in Zendesk",
    "cases": "Cases",
    "linked_cases": "Cases linked to a ticket",
    "generated_at": "Generated at",
}


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # the store keeps UTC; a naive value from a driver is UTC too
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _age(now: datetime, then: datetime | None) -> float | None:
    if then is None:
        return None
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return round(max(0.0, (now - then).total_seconds()), 1)


def _cursor_position(tickets_cursor: str | None, events_cursor: str | None) -> datetime | None:
    """How far the export has read Zendesk's history: the ticket cursor's time, else the event cursor's."""
    if tickets_cursor:
        try:
            return decode_after_cursor(tickets_cursor).at
        except InvalidCursor:
            pass
    if events_cursor and events_cursor.isdigit():
        return datetime.fromtimestamp(int(events_cursor), tz=UTC)
    return None


def _cursor_lag(now: datetime, polled_at: datetime | None, oldest_unapplied: datetime | None) -> float | None:
    """How far behind Zendesk the store may be, in seconds: what an alert on lag should watch.

    The larger of the time since the last successful poll (changes since then are not read yet) and the
    age of the oldest Zendesk change read or announced but not applied yet (an inbox entry still pending).
    On an idle, healthy system it stays near the poll interval: the export cursor's own time does not
    move while nothing changes in Zendesk, so "now minus the cursor's time" would grow without anything
    being late.  ``None`` until the first successful poll.
    """
    if polled_at is None:
        return None
    ages = [a for a in (_age(now, polled_at), _age(now, oldest_unapplied)) if a is not None]
    return max(ages)


def _poll_and_webhooks(tx: StoreTx) -> tuple[datetime | None, int | None, datetime | None, datetime | None]:
    """(last successful poll, webhook hints stored, last webhook time, oldest pending inbox entry's time).

    The store's interface has no call for these figures, so they are read from the tables the interface
    writes: the event cursor is stored at the end of every successful poll (its ``updated_at`` is that
    poll's time), and every accepted webhook delivery is an inbox row with source ``webhook``
    (duplicates are deduplicated on arrival, so they are counted once).  A store without SQL tables
    reports the figures as unknown.
    """
    conn = getattr(tx, "conn", None)
    if conn is None:
        return None, None, None, None
    from sqlalchemy import func, select

    from sync.store import schema

    cursors, inbox = schema.cursors, schema.inbox
    polled = conn.execute(select(cursors.c.updated_at).where(cursors.c.name == EVENTS_CURSOR)).scalar()
    count, last = conn.execute(
        select(func.count(), func.max(inbox.c.created_at)).where(inbox.c.source == WEBHOOK_SOURCE)
    ).one()
    oldest = conn.execute(select(func.min(inbox.c.created_at)).where(inbox.c.status == "pending")).scalar()
    return polled, int(count), last, oldest


def _reconcile(summary: ReconcileSummary | None) -> tuple[str | None, int | None, int | None]:
    if summary is None:
        return None, None, None
    return summary.at.isoformat(), summary.drift, summary.repaired


def collect_status(store: Store, *, now: datetime) -> dict[str, Any]:
    """The figures of :data:`STATUS_FIELDS`, as a JSON-compatible dict (``None`` where unknown yet).

    Reads one consistent snapshot.  Raises what the store raises when the database cannot be read
    (``ConfigurationError`` for an outdated or newer PostgreSQL schema, SQLAlchemy errors otherwise).
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    with store.read() as tx:
        counts = tx.counts()
        tickets_cursor = tx.get_cursor(TICKETS_CURSOR)
        events_cursor = tx.get_cursor(EVENTS_CURSOR)
        reconcile_at, drift, repaired = _reconcile(RECONCILE_LAST.get(tx))
        polled_at, webhooks, last_webhook, oldest_unapplied = _poll_and_webhooks(tx)
        pause = CONNECTION_PAUSE.get(tx)
        console_webhooks = delivery_status(tx)
        held = SUSPENDED.get(tx)
    position = _cursor_position(tickets_cursor, events_cursor)
    status: dict[str, Any] = {
        "connection": "paused" if pause is not None else "running",
        "connection_paused_cause": pause.cause if pause is not None else None,
        "connection_paused_since": _iso(pause.since) if pause is not None else None,
        "connection_paused_detail": pause.detail if pause is not None else None,
        "queue_depth": counts.outbox_pending,
        "oldest_pending_at": _iso(counts.oldest_pending_at),
        "oldest_pending_age_s": _age(now, counts.oldest_pending_at),
        "inbox_depth": counts.inbox_pending,
        "dead_letters": counts.outbox_dead + counts.inbox_dead,
        "dead_letters_outbox": counts.outbox_dead,
        "dead_letters_inbox": counts.inbox_dead,
        "conflicts": counts.conflicts_open,
        "last_successful_poll_at": _iso(polled_at),
        "last_successful_poll_age_s": _age(now, polled_at),
        "cursor_position_at": _iso(position),
        "oldest_unapplied_at": _iso(oldest_unapplied),
        "oldest_unapplied_age_s": _age(now, oldest_unapplied),
        "cursor_lag_s": _cursor_lag(now, polled_at, oldest_unapplied),
        "webhook_deliveries": webhooks,
        "last_webhook_at": _iso(last_webhook),
        "reconcile_last_at": reconcile_at,
        "reconcile_drift": drift,
        "reconcile_repaired": repaired,
        "reconcile_drift_left": max(drift - (repaired or 0), 0) if drift is not None else None,
        **console_webhooks,
        # Held back by Zendesk until staff recover or delete them (sync.inbound.suspended).
        "suspended_emails": len(held) if held is not None else 0,
        "cases": counts.cases,
        "linked_cases": counts.linked_cases,
        "generated_at": _iso(now),
    }
    return status
