"""The emails Zendesk's standard triggers would send to end users, recorded at ``GET /__sandbox/emails``.

- "Notify requester and CCs of received request": on creation, to the requester and CCs (end users).
- "Notify requester and CCs of comment update": on a public comment, to the requester and CCs, except the
  comment's author when that author is also the updater (an end user is not sent their own words; a
  comment posted by an agent with ``author_id`` = the requester *is* emailed, since the agent is the
  updater). Nobody is emailed about an internal note.
"""

from __future__ import annotations

from typing import Any

from .state import Record, State

__all__ = ["TRIGGER_CREATED", "TRIGGER_UPDATED", "notify"]

TRIGGER_CREATED = "Notify requester and CCs of received request"
TRIGGER_UPDATED = "Notify requester and CCs of comment update"
_TRIGGER_IDS = {TRIGGER_CREATED: 70001, TRIGGER_UPDATED: 70002}


def _recipients(st: State, t: Record, exclude: int | None) -> list[Record]:
    out: list[Record] = []
    for uid in [t["requester_id"], *t["email_cc_ids"]]:
        u = st.users.get(uid)
        if u is None or u["role"] != "end-user" or not u["email"] or uid == exclude:
            continue
        if all(o["id"] != uid for o in out):
            out.append(u)
    return out


def notify(st: State, t: Record, comment: Record, *, created: bool, updater_id: int) -> dict[str, Any] | None:
    """Record the email a public ``comment`` triggers; returns the audit's Notification event, if any."""
    if not comment["public"]:
        return None
    exclude = comment["author_id"] if comment["author_id"] == updater_id else None
    users = _recipients(st, t, exclude)
    if not users:
        return None
    trigger = TRIGGER_CREATED if created else TRIGGER_UPDATED
    subject = f"[Request received] {t['subject']}" if created else f"[Updated] Re: {t['subject']}"
    st.emails.append(
        {
            "ticket_id": t["id"],
            "to": [u["email"] for u in users],
            "subject": subject,
            "body": comment["body"],
            "trigger": trigger,
            "comment_id": comment["id"],
            "sent_at": st.clock.now(),
        }
    )
    return {
        "id": st.next_id("event"),
        "type": "Notification",
        "subject": subject,
        "body": comment["body"],
        "recipients": [u["id"] for u in users],
        "via": {
            "channel": "rule",
            "source": {"from": {"id": _TRIGGER_IDS[trigger], "title": trigger, "deleted": False},
                       "rel": "trigger"},
        },
    }
