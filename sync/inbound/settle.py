"""What a poll leaves behind when the events cursor moves on: carried comments and comment-gap markers, and
every comment made private, applied at once.

Runs inside the transaction that stores the cursors, so the events cursor never passes a comment that is
neither applied nor carried nor gap-marked (the invariant of :mod:`sync.inbound.events`), nor a
``CommentPrivacyChange`` that is not applied, whichever process polls next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sync.inbound.apply import withdraw_comment
from sync.inbound.events import CARRY_LIMIT, Carried, EventWindow, latest_status, merge_comments
from sync.store import StoreTx
from sync.store.kv_keys import CARRIED, COMMENT_GAP, PRIVATE_COMMENTS

__all__ = ["settle_events"]


def settle_events(
    tx: StoreTx,
    window: EventWindow,
    events_next: int,
    *,
    applied: Mapping[int, int | None],
    ignored: Iterable[int],
    held: bool,
) -> None:
    """Update the carried records and gap markers for the events cursor moving from ``window.start`` to
    ``events_next``.

    ``applied``: ticket id → generated timestamp of the snapshot this poll applied (its comments up to then are
    in the console); ``ignored``: tickets of the page that are not the console's (nothing to keep);
    ``held``: whether the ticket page waits for more event pages (it is read again, so even tickets without
    a comment need the time of their latest event kept, to tell audit-less changes apart).
    """
    ignored = set(ignored)
    _apply_privacy_changes(tx, window)
    for ticket_id in ignored:
        if CARRIED.is_set(tx, ticket_id):
            CARRIED.clear(tx, ticket_id)
    for ticket_id in sorted((window.ticket_ids() | set(applied)) - ignored):
        state = tx.ticket_state(ticket_id)
        marks = [m for m in (state.generated_timestamp if state else None, applied.get(ticket_id)) if m is not None]
        done = max(marks) if marks else None
        old = CARRIED.get(tx, ticket_id)
        # Comments at or after ``events_next`` are read again by the next poll: only those passed are kept.
        passed = [e for e in window.comments(ticket_id) if e.created_at.timestamp() < events_next]
        private = set(window.made_private(ticket_id))
        pending = [
            e.model_copy(update={"public": False}) if e.comment_id in private else e
            for e in merge_comments(old.comments if old else (), passed)
            if done is None or e.created_at.timestamp() > done
        ]
        read = window.status_event(ticket_id)
        if read is not None and read.at >= events_next:
            read = None  # read again by the next poll
        status = latest_status(old.status if old else None, read)
        if status is not None and done is not None and status.at <= done:
            status = None  # applied with a snapshot at or after it
        if old is None and state is None and tx.case_of_ticket(ticket_id) is None:
            # Nothing says the ticket is ours (another system's, or a follow-up not seen yet): no comment
            # bodies kept for it, only the marker that lists its comments should it turn out to be ours.
            if pending:
                COMMENT_GAP.put(tx, ticket_id, True)
            continue
        times = [t for t in (old.seen if old else None, window.latest_event(ticket_id)) if t is not None]
        seen = max(times) if times else None
        seen_matters = seen is not None and (done is None or seen > done) and (held or old is not None)
        if not pending and not seen_matters and status is None:
            if old is not None:
                CARRIED.clear(tx, ticket_id)
            continue
        if len(pending) > CARRY_LIMIT:
            COMMENT_GAP.put(tx, ticket_id, True)
            CARRIED.clear(tx, ticket_id)
            continue
        record = Carried(start=old.start if old else window.start, seen=seen, comments=tuple(pending), status=status)
        if record != old:
            CARRIED.put(tx, ticket_id, record)


def _apply_privacy_changes(tx: StoreTx, window: EventWindow) -> None:
    """Apply every ``CommentPrivacyChange`` of the window, whatever becomes of its ticket's snapshot.

    Privacy is final in Zendesk (there is only ``make_private``) and needs nothing else of the ticket, so it is
    applied here, before the events cursor can pass it: a message imported from the comment is withdrawn; a
    comment of a linked ticket that no message came from yet is remembered as private, so that a comment list
    read before the change (by the inbox, concurrently) cannot import it afterwards.  A ticket held back, in
    conflict, merged or deleted, a snapshot that turns out stale or a worker killed before its next apply: none
    of them leaves it visible.
    """
    for ticket_id in sorted(window.ticket_ids()):
        made_private = window.made_private(ticket_id)
        if not made_private:
            continue
        unseen = [
            cid
            for cid in made_private
            if not withdraw_comment(tx, cid, ticket_id=ticket_id) and tx.message_by_comment(cid) is None
        ]
        if unseen and tx.case_of_ticket(ticket_id) is not None:
            known = list(PRIVATE_COMMENTS.get(tx, ticket_id) or ())
            merged = list(dict.fromkeys([*known, *unseen]))
            if merged != known:
                PRIVATE_COMMENTS.put(tx, ticket_id, tuple(merged))
