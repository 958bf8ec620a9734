"""Where a case stands, and what the outbox still holds: ``casesync trace`` and ``casesync outbox list``.

Both read the store alone.  An outbox entry that is not delivered is in one of these states (``state``),
each with a ``why`` an operator can act on:

* ``dead`` — Zendesk refused it for good (a dead letter: ``casesync dead-letters``);
* ``held`` — an older entry of the same ordering key (the same case, or the same account for account-wide
  changes) is not delivered yet; entries of one key are delivered in order, so it waits — for good when
  that older entry is a dead letter, until it is replayed or discarded;
* ``retrying`` — an attempt failed; the next one is at ``next_attempt_at``;
* ``delivering`` — a worker holds it right now (until ``lease_until``);
* ``due`` — it is delivered by the next pass.

Every value is JSON-compatible (ISO-8601 times), for ``--json`` and for the plain-text renderings alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from sync.store import OutboxEntry, Store, StoreTx, case_key
from sync.store import schema as s

__all__ = ["describe_outbox_entry", "pending_outbox", "trace_case"]

_NOT_DELIVERED = ("pending", "dead")
_FEED_ENTRIES = 20
_INBOX_ENTRIES = 20
_OUTBOX_ENTRIES = 50


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _conn(tx: StoreTx) -> Connection:
    conn = getattr(tx, "conn", None)
    if conn is None:  # pragma: no cover - every store casesync ships is a SQL store
        raise TypeError("tracing needs the SQL store")
    result: Connection = conn
    return result


def _heads(conn: Connection, keys: set[str]) -> dict[str, OutboxEntry]:
    """For each ordering key, its oldest entry not delivered (the one the others of the key wait for)."""
    if not keys:
        return {}
    o = s.outbox.c
    heads = (
        select(func.min(o.id))
        .where(o.status.in_(_NOT_DELIVERED), o.ordering_key.in_(sorted(keys)))
        .group_by(o.ordering_key)
    )
    rows = conn.execute(select(s.outbox).where(o.id.in_(heads)))
    return {entry.ordering_key: entry for entry in (_entry(r) for r in rows)}


def _entry(row: Any) -> OutboxEntry:
    from sync.store._sqlbase import TxBase  # the SQL store's own row conversion

    return TxBase._outbox(row)


def describe_outbox_entry(entry: OutboxEntry, head: OutboxEntry | None, now: datetime) -> dict[str, Any]:
    """``entry`` with its ``state`` and ``why`` (see the module's docstring); ``head``: its key's oldest."""
    state, why = "done", "delivered"
    if entry.status == "dead":
        state, why = "dead", entry.last_error or "refused for good"
    elif entry.status == "discarded":
        state, why = "discarded", "an operator discarded it"
    elif entry.status == "pending":
        if head is not None and head.id != entry.id:
            if head.status == "dead":
                state = "held"
                why = (f"waits behind dead letter outbox:{head.id} ({head.kind}) of {head.ordering_key}:"
                       f" replay or discard it to release this entry")
            else:
                state, why = "held", f"waits for outbox:{head.id} ({head.kind}) of {head.ordering_key}, delivered first"
        elif entry.lease_until is not None and _aware(entry.lease_until) > now:
            state, why = "delivering", f"held by worker {entry.lease_owner} until {_iso(entry.lease_until)}"
        elif _aware(entry.next_attempt_at) > now:
            state = "retrying"
            why = f"attempt {entry.attempts} failed ({entry.last_error or 'no reason recorded'}); next attempt at" \
                  f" {_iso(entry.next_attempt_at)}"
        else:
            state, why = "due", "delivered by the next pass"
    return {
        "id": f"outbox:{entry.id}",
        "kind": entry.kind,
        "account_id": entry.account_id,
        "case_id": entry.case_id,
        "ordering_key": entry.ordering_key,
        "status": entry.status,
        "state": state,
        "why": why,
        "attempts": entry.attempts,
        "last_error": entry.last_error,
        "created_at": _iso(entry.created_at),
        "next_attempt_at": _iso(entry.next_attempt_at) if entry.status == "pending" else None,
        "delivered_at": _iso(entry.delivered_at),
    }


def pending_outbox(store: Store, *, now: datetime, limit: int = 1000) -> list[dict[str, Any]]:
    """The outbox entries not delivered yet (pending and held), oldest first, each with its state and why.

    Dead letters are left out (``casesync dead-letters list`` shows them); the entries they hold are in.
    """
    o = s.outbox.c
    with store.read() as tx:
        conn = _conn(tx)
        rows = conn.execute(select(s.outbox).where(o.status == "pending").order_by(o.id).limit(limit))
        entries = [_entry(r) for r in rows]
        heads = _heads(conn, {e.ordering_key for e in entries})
    return [describe_outbox_entry(e, heads.get(e.ordering_key), _aware(now)) for e in entries]


def trace_case(store: Store, case_id: int, *, account_id: str | None, now: datetime) -> dict[str, Any] | None:
    """Everything the store knows about where case ``case_id`` stands; ``None`` when there is no such case
    (or it belongs to another account than ``account_id``)."""
    now = _aware(now)
    o, i, f = s.outbox.c, s.inbox.c, s.feed.c
    with store.read() as tx:
        record = tx.get_case(case_id)
        if record is None or (account_id is not None and record.account_id != account_id):
            return None
        conn = _conn(tx)
        ticket_id = record.ticket_id
        state = tx.ticket_state(ticket_id) if ticket_id is not None else None
        rows = conn.execute(
            select(s.outbox)
            .where(or_(o.case_id == case_id, o.ordering_key == case_key(case_id)))
            .order_by(o.id.desc())
            .limit(_OUTBOX_ENTRIES)
        )
        entries = sorted((_entry(r) for r in rows), key=lambda e: e.id)
        heads = _heads(conn, {e.ordering_key for e in entries if e.status == "pending"})
        inbox = []
        if ticket_id is not None:
            inbox = [
                r._mapping
                for r in conn.execute(
                    select(i.id, i.source, i.status, i.attempts, i.last_error, i.created_at, i.done_at)
                    .where(i.ticket_id == ticket_id)
                    .order_by(i.id.desc())
                    .limit(_INBOX_ENTRIES)
                )
            ]
        feed = [
            r._mapping
            for r in conn.execute(
                select(s.feed).where(f.case_id == case_id).order_by(f.seq.desc()).limit(_FEED_ENTRIES)
            )
        ]
    return {
        "case": {
            "id": record.id,
            "account_id": record.account_id,
            "subject": record.subject,
            "status": record.status.value,
            "closed_by": record.closed_by,
            "refers_to": record.refers_to,
            "merged_into": record.merged_into,
            "created_at": _iso(record.created_at),
            "updated_at": _iso(record.updated_at),
        },
        "ticket_id": ticket_id,
        "last_inbound": None if state is None else {
            "ticket_updated_at": _iso(state.updated_at),
            "ticket_status": state.status,
        },
        "outbox": [describe_outbox_entry(e, heads.get(e.ordering_key), now) for e in entries],
        "inbox": [
            {
                "id": f"inbox:{m['id']}", "source": m["source"], "status": m["status"], "attempts": m["attempts"],
                "last_error": m["last_error"], "created_at": _iso(m["created_at"]), "done_at": _iso(m["done_at"]),
            }
            for m in reversed(inbox)
        ],
        "feed": [
            {"seq": m["seq"], "kind": m["kind"], "at": _iso(m["at"]), "detail": m["detail"]} for m in reversed(feed)
        ],
        "generated_at": _iso(now),
    }
