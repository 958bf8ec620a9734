"""Ticket lifecycle: creation and updates with Zendesk's rules, audits, comments, notifications and
webhook events. Endpoint handlers (:mod:`sync.sandbox.tickets_api`) and the Requests API call these."""

from __future__ import annotations

from typing import Any

from . import custom_statuses, render
from .errors import ApiError, conflict, not_found, record_invalid
from .followers import apply_collaborator_ids, apply_followers, recompute_is_public
from .notifications import notify
from .org_coupling import organization_for_create, organization_for_update
from .render import html_body, rich_html_body
from .rich_text import html_to_text, mark_inline_images
from .state import Record, State

__all__ = [
    "API_VIA",
    "Change",
    "add_comment",
    "apply_update",
    "auto_close",
    "create_ticket",
    "find_or_create_user",
    "get_ticket",
    "make_comment_private",
]

API_VIA: dict[str, Any] = {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}}
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
Change = dict[str, Any]


def get_ticket(st: State, tid: str | int) -> Record:
    """A live ticket or 404 (soft-deleted tickets are not found, as on Zendesk)."""
    try:
        t = st.tickets.get(int(tid))
    except ValueError:
        t = None
    if t is None or t["deleted"]:
        raise not_found()
    return t


def find_or_create_user(st: State, email: str, name: str | None = None) -> Record:
    """The user with this email, or a new unverified end user (what Zendesk does for unknown CC emails)."""
    u = st.user_by_email(email)
    if u is None:
        u = st.new_user(name, email, role="end-user")
    return u


def _system_meta(ctx_client: str, custom: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "system": {
            "client": ctx_client,
            "ip_address": "127.0.0.1",
            "location": "Sandbox",
            "latitude": 0.0,
            "longitude": 0.0,
        },
        "custom": dict(custom or {}),
    }


def _consume_uploads(st: State, uploads: Any) -> list[int]:
    """Attachment ids of valid upload tokens; expired or unknown tokens are ignored."""
    tokens = [uploads] if isinstance(uploads, str) else list(uploads or [])
    ids: list[int] = []
    now = st.clock.now()
    for tok in tokens:
        up = st.uploads.pop(str(tok), None)
        if up is None or up["expires_at"] <= now:
            continue
        ids.extend(up["attachment_ids"])
    return ids


def add_comment(st: State, t: Record, audit: Record, spec: dict[str, Any], *, author_id: int,
                via: dict[str, Any], public_default: bool) -> Record:
    """Create a comment from ``spec`` ({body, html_body, public, uploads}) in ``audit``."""
    comments = st.comments.setdefault(t["id"], [])
    if len(comments) >= st.config.max_comments:
        raise record_invalid("base", f"Ticket: has reached the limit of {st.config.max_comments} comments",
                             "CommentLimitExceeded")
    body = spec.get("body")
    html = spec.get("html_body")
    if body is None and html is None:
        raise record_invalid("comment", "Comment: body cannot be blank", "BlankValue")
    if body is None:
        body = html_to_text(str(html))
    public = spec.get("public")
    attachment_ids = _consume_uploads(st, spec.get("uploads"))
    if html is not None:
        mark_inline_images(str(html), [st.attachments[a] for a in attachment_ids], "")
    c: Record = {
        "id": st.next_id("event"),
        "author_id": author_id,
        "body": str(body),
        "html_body": rich_html_body(str(html)) if html is not None else html_body(str(body)),
        "public": public_default if public is None else bool(public),
        "attachment_ids": attachment_ids,
        "audit_id": audit["id"],
        "via": via,
        "created_at": audit["created_at"],
        "metadata": audit["metadata"],
        "ticket_id": t["id"],
    }
    comments.append(c)
    audit["events"].append({"type": "Comment", "comment": c})
    return c


def _new_audit(st: State, t: Record, author_id: int, via: dict[str, Any], client: str,
               metadata: dict[str, Any] | None) -> Record:
    return {
        "id": st.next_id("event"),
        "ticket_id": t["id"],
        "created_at": st.clock.now(),
        "author_id": author_id,
        "via": via,
        "metadata": _system_meta(client, metadata),
        "events": [],
    }


def _user_ref(st: State, ref: Any) -> Record:
    """A user from an id, an email or a {name, email} object (unknown emails become end users)."""
    if isinstance(ref, dict):
        if ref.get("user_id") is not None or ref.get("id") is not None:
            return _user_ref(st, ref.get("user_id", ref.get("id")))
        email = ref.get("user_email") or ref.get("email")
        if not email:
            raise record_invalid("email_ccs", "Email CCs: each entry needs user_id or user_email")
        return find_or_create_user(st, str(email), ref.get("user_name") or ref.get("name"))
    if isinstance(ref, str) and "@" in ref:
        return find_or_create_user(st, ref)
    try:
        u = st.users.get(int(ref))
    except (TypeError, ValueError):
        u = None
    if u is None:
        raise record_invalid("collaborators", f"User {ref} not found", "InvalidValue")
    return u


def _apply_ccs(st: State, t: Record, spec: list[Any] | None, extra: list[Any] | None) -> None:
    if not st.settings["tickets"]["follower_and_email_cc_collaborations"]:
        return  # "Ignored when CCs and followers is not enabled"
    ccs: list[int] = list(t["email_cc_ids"])
    for item in spec or []:
        action = item.get("action", "put") if isinstance(item, dict) else "put"
        u = _user_ref(st, item)
        if action == "delete":
            ccs = [c for c in ccs if c != u["id"]]
        elif u["id"] not in ccs and u["id"] != t["requester_id"]:
            ccs.append(u["id"])
    for item in extra or []:
        u = _user_ref(st, item)
        if u["id"] not in ccs and u["id"] != t["requester_id"]:
            ccs.append(u["id"])
    if len(ccs) > st.config.max_email_ccs:
        raise record_invalid(
            "email_ccs", f"Email CCs: a ticket can have at most {st.config.max_email_ccs} email CCs",
            "TooManyEmailCCs",
        )
    t["email_cc_ids"] = ccs


def _check_priority(data: dict[str, Any]) -> None:
    # Zendesk answers an unknown priority with 422 "Priority: is invalid" under ``details.base``
    # (docs/sandbox-conformance.md).
    if "priority" in data and data["priority"] not in (None, *PRIORITIES):
        raise record_invalid("base", "Priority: is invalid", "InvalidValue")


def _resolve_assignee(st: State, data: dict[str, Any]) -> tuple[bool, int | None]:
    if data.get("assignee_email"):
        u = st.user_by_email(str(data["assignee_email"]))
    elif "assignee_id" in data:
        if data["assignee_id"] is None:
            return True, None
        try:
            u = st.users.get(int(data["assignee_id"]))
        except (TypeError, ValueError):
            u = None
    else:
        return False, None
    if u is None or u["role"] not in ("agent", "admin"):
        raise record_invalid("assignee", "Assignee: is not an agent", "InvalidValue")
    return True, u["id"]


def _check_status(t: Record, new_status: str, assignee_id: int | None) -> None:
    if new_status not in STATUSES:
        raise record_invalid("status", f"Status: {new_status} is not a valid status", "InvalidValue")
    if new_status == "new" and t.get("status", "new") != "new":
        raise record_invalid("status", "Status: new is not valid once the ticket has left New", "InvalidValue")
    if new_status in ("solved", "closed") and assignee_id is None:
        raise record_invalid(
            "assignee", f"Assignee: is required when the status is {new_status}", "AssigneeRequired"
        )


def _field_event(st: State, name: str, value: Any, previous: Any = None, *, create: bool) -> dict[str, Any]:
    ev: dict[str, Any] = {"id": st.next_id("event"), "type": "Create" if create else "Change",
                          "field_name": name, "value": value}
    if not create:
        ev["previous_value"] = previous
    return ev


def _custom_fields(t: Record, spec: Any) -> list[tuple[int, Any, Any]]:
    changed = []
    for item in spec or []:
        try:
            fid = int(item["id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise record_invalid("custom_fields", "Custom fields: each entry needs an id") from exc
        old = t["custom_fields"].get(fid)
        if old != item.get("value"):
            t["custom_fields"][fid] = item.get("value")
            changed.append((fid, old, item.get("value")))
    return changed


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split()
    out: list[str] = []
    for tag in value or []:
        tag = str(tag).strip().lower().replace(" ", "_")
        if tag and tag not in out:
            out.append(tag)
    return out


def _emit(st: State, kind: str, t: Record, event: dict[str, Any], actor_id: int | None) -> None:
    if st.on_event is not None:
        st.on_event(kind, t, event, actor_id)


def create_ticket(st: State, data: dict[str, Any], *, actor: Record, client: str,
                  via: dict[str, Any] | None = None) -> tuple[Record, Record]:
    """Create a ticket from a ``{"ticket": …}`` object; returns ``(ticket, audit)``."""
    now = st.clock.now()
    source: Record | None = None
    src_id = data.get("via_followup_source_id")
    if src_id is not None:
        try:
            cand = st.tickets.get(int(src_id))
        except (TypeError, ValueError):
            cand = None
        # "The parameter only works with closed tickets. It has no effect with other tickets."
        if cand is not None and not cand["deleted"] and cand["status"] == "closed":
            source = cand
    if data.get("requester_id") is not None:
        try:
            requester = st.users.get(int(data["requester_id"]))
        except (TypeError, ValueError):
            requester = None
        if requester is None:
            raise record_invalid("requester", "Requester: not found", "InvalidValue")
    elif isinstance(data.get("requester"), dict) and data["requester"].get("email"):
        # An existing user with that email is used as is: no update during ticket creation.
        requester = find_or_create_user(st, str(data["requester"]["email"]), data["requester"].get("name"))
    elif source is not None:
        requester = st.users[source["requester_id"]]
    else:
        requester = actor
    spec = data.get("comment")
    if not isinstance(spec, dict):
        spec = {"body": data["description"]} if data.get("description") else None
    if spec is None:
        raise record_invalid("description", "Description: cannot be blank", "BlankValue")
    assigned, assignee_id = _resolve_assignee(st, data)
    _check_priority(data)
    status = str(custom_statuses.requested_status(st, data, None) or data.get("status") or "new")
    if status == "new" and assignee_id is not None:
        status = "open"  # a new ticket assigned to an agent is open
    if status not in STATUSES:
        raise record_invalid("status", f"Status: {status} is not a valid status", "InvalidValue")
    if status in ("solved", "closed") and assignee_id is None:
        raise record_invalid("assignee", f"Assignee: is required when the status is {status}", "AssigneeRequired")
    if source is not None:
        follow_via = {
            "channel": "api" if via is None else via.get("channel", "api"),
            "source": {"from": {"ticket_id": source["id"], "subject": source["subject"]}, "to": {},
                       "rel": "follow_up"},
        }
        via = follow_via
    via = via or API_VIA
    subject = data.get("subject") or (source["subject"] if source else None)
    body_text = str(spec.get("body") or spec.get("html_body") or "")
    org_id = organization_for_create(st, data, requester, source)
    tid = st.next_id("ticket")
    t: Record = {
        "id": tid,
        "external_id": data.get("external_id"),
        "via": via,
        "created_at": now,
        "updated_at": now,
        "generated_ts": now,
        "type": data.get("type"),
        "subject": subject if subject is not None else body_text[:80],
        "description": body_text,
        "priority": data.get("priority"),
        "status": status,
        "recipient": data.get("recipient"),
        "requester_id": requester["id"],
        "submitter_id": actor["id"],
        "assignee_id": assignee_id if assigned else None,
        "organization_id": int(org_id) if org_id is not None else None,
        "group_id": data.get("group_id"),
        "email_cc_ids": [],
        "follower_ids": [],
        "problem_id": data.get("problem_id"),
        "is_public": True,
        "due_at": data.get("due_at"),
        "tags": _tags(data["tags"]) if "tags" in data else (list(source["tags"]) if source else []),
        "custom_fields": dict(source["custom_fields"]) if source else {},
        "followup_ids": [],
        "followup_source_id": source["id"] if source else None,
        "deleted": False,
        "solved_at": now if status == "solved" else None,
        "merged_into": None,
    }
    custom_statuses.settle_custom_status(st, t, None, data)
    _custom_fields(t, data.get("custom_fields"))
    if source is not None and "email_ccs" not in data:
        t["email_cc_ids"] = list(source["email_cc_ids"])
    _apply_ccs(st, t, data.get("email_ccs"), data.get("collaborators") or data.get("collaborator_ids"))
    author_id = actor["id"]
    if spec.get("author_id") is not None:
        author = st.users.get(int(spec["author_id"]))
        if author is None:
            raise record_invalid("author_id", "Author: not found", "InvalidValue")
        author_id = author["id"]
    audit = _new_audit(st, t, actor["id"], via, client, data.get("metadata"))
    st.tickets[tid] = t
    st.audits[tid] = [audit]
    c = add_comment(st, t, audit, spec, author_id=author_id, via=via, public_default=True)
    t["is_public"] = c["public"]
    for name in ("subject", "requester_id", "status", "priority", "type", "assignee_id", "organization_id"):
        value = t[name]
        audit["events"].append(_field_event(st, name, str(value) if isinstance(value, int) else value,
                                            create=True))
    if t["tags"]:
        audit["events"].append(_field_event(st, "tags", list(t["tags"]), create=True))
    note = notify(st, t, c, created=True, updater_id=actor["id"])
    if note:
        audit["events"].append(note)
    st.audit_log.append(audit)
    if status == "solved":
        st.solved.add(tid)
    if source is not None:
        source["followup_ids"].append(tid)
        source["generated_ts"] = now  # the export shows the parent again, now with its follow-up
    _emit(st, "ticket.created", t, {"meta": {"version": "v1"}}, actor["id"])
    _emit(st, "ticket.comment_added", t, _comment_event(st, c), actor["id"])
    return t, audit


def _comment_event(st: State, c: Record) -> dict[str, Any]:
    author = st.users.get(c["author_id"]) or {}
    return {
        "comment": {
            "id": str(c["id"]),
            "body": c["body"],
            "is_public": c["public"],
            "author": {"id": str(c["author_id"]), "is_staff": author.get("role") in ("agent", "admin"),
                       "name": author.get("name")},
        }
    }


def apply_update(st: State, t: Record, data: dict[str, Any], *, actor: Record, client: str,
                 via: dict[str, Any] | None = None, system: bool = False) -> Record:
    """Apply a ``{"ticket": …}`` update as ``actor`` (the updater); returns the audit.

    Raises 422 for closed tickets and broken rules, 409 for a stale ``safe_update``.
    """
    if t["status"] == "closed" and not system:
        raise record_invalid("status", "Status: closed prevents ticket update")
    if "safe_update" in data and data.get("updated_stamp") is not None:
        from .clock import iso, parse_iso

        try:
            stamp = parse_iso(str(data["updated_stamp"]))
        except ValueError:
            stamp = -1.0
        if iso(stamp) != iso(t["updated_at"]):
            raise conflict(
                "UpdateConflict",
                "Safe Update prevented the update due to outdated ticket data. "
                "Please fetch the latest ticket data and try again.",
            )
    via = via or API_VIA
    staff = actor["role"] in ("agent", "admin")
    _check_priority(data)
    implied = custom_statuses.requested_status(st, data, t["status"])
    if implied is not None:
        data = {**data, "status": implied}
    before = {k: (list(v) if isinstance(v, list) else v) for k, v in t.items() if k != "custom_fields"}
    before_cf = dict(t["custom_fields"])
    audit = _new_audit(st, t, actor["id"], via, client, data.get("metadata"))
    work = dict(t)
    work["custom_fields"] = dict(t["custom_fields"])
    events: list[dict[str, Any]] = []
    for name in ("subject", "priority", "type", "external_id", "due_at", "group_id", "problem_id"):
        if name in data and data[name] != work[name]:
            work[name] = data[name]
    if "requester_id" in data and data["requester_id"] != work["requester_id"]:
        if st.users.get(int(data["requester_id"])) is None:
            raise record_invalid("requester", "Requester: not found", "InvalidValue")
        work["requester_id"] = int(data["requester_id"])
    elif isinstance(data.get("requester"), dict) and data["requester"].get("email"):
        work["requester_id"] = find_or_create_user(st, str(data["requester"]["email"]),
                                                   data["requester"].get("name"))["id"]
    work["organization_id"] = organization_for_update(st, data, t, st.users[work["requester_id"]],
                                                      work["requester_id"] != t["requester_id"])
    assigned, assignee_id = _resolve_assignee(st, data)
    if assigned:
        work["assignee_id"] = assignee_id
    if "tags" in data:
        work["tags"] = _tags(data["tags"])
    if data.get("additional_tags"):
        work["tags"] = work["tags"] + [x for x in _tags(data["additional_tags"]) if x not in work["tags"]]
    if data.get("remove_tags"):
        drop = set(_tags(data["remove_tags"]))
        work["tags"] = [x for x in work["tags"] if x not in drop]
    cf_changes = _custom_fields(work, data.get("custom_fields"))
    spec = data.get("comment")
    has_comment = isinstance(spec, dict) and (spec.get("body") is not None or spec.get("html_body") is not None)
    status = work["status"]
    if data.get("status") and data["status"] != status:
        status = str(data["status"])
        _check_status(t, status, work["assignee_id"])
    elif not staff and has_comment and status in ("pending", "solved", "hold") and not system:
        status = "open"  # an end user's comment reopens the ticket (system rule)
    if status == "new" and work["assignee_id"] is not None:
        status = "open"  # an assigned ticket leaves New
    if status in ("solved", "closed") and work["assignee_id"] is None and not system:
        _check_status(t, status, None)
    work["status"] = status
    _apply_ccs(st, work, data.get("email_ccs"), data.get("additional_collaborators"))
    apply_collaborator_ids(st, work, data.get("collaborator_ids"))
    apply_followers(st, work, data.get("followers"))
    comment: Record | None = None
    if has_comment:
        assert isinstance(spec, dict)
        author_id = actor["id"]
        if spec.get("author_id") is not None:
            author = st.users.get(int(spec["author_id"]))
            if author is None:
                raise record_invalid("author_id", "Author: not found", "InvalidValue")
            author_id = author["id"]
        comment = add_comment(st, work, audit, spec, author_id=author_id, via=via,
                              public_default=bool(spec.get("public", True)))
    # Everything validated: commit.
    for key, value in work.items():
        t[key] = value
    custom_statuses.settle_custom_status(st, t, str(before["status"]), data)
    if t.get("custom_status_id") != before.get("custom_status_id"):
        events.append(_field_event(st, "custom_status_id", render.custom_status_id(t),
                                   before.get("custom_status_id"), create=False))
    if comment is not None:
        recompute_is_public(st, t)
    for name in ("subject", "priority", "type", "status", "assignee_id", "requester_id", "organization_id",
                 "group_id", "external_id", "due_at"):
        if before[name] != t[name]:
            events.append(_field_event(st, name, t[name], before[name], create=False))
    if before["tags"] != t["tags"]:
        events.append(_field_event(st, "tags", list(t["tags"]), list(before["tags"]), create=False))
    if before["follower_ids"] != t["follower_ids"]:
        events.append(_field_event(st, "follower_ids", list(t["follower_ids"]), list(before["follower_ids"]),
                                   create=False))
    if before["email_cc_ids"] != t["email_cc_ids"]:
        events.append(_field_event(st, "email_cc_ids", list(t["email_cc_ids"]), list(before["email_cc_ids"]),
                                   create=False))
    for fid, old, new in cf_changes:
        events.append(_field_event(st, str(fid), new, old, create=False))
    audit["events"].extend(events)
    if comment is not None:
        note = notify(st, t, comment, created=False, updater_id=actor["id"])
        if note:
            audit["events"].append(note)
    if audit["events"]:
        now = st.clock.now()
        t["updated_at"] = now
        t["generated_ts"] = now
        st.audits.setdefault(t["id"], []).append(audit)
        st.audit_log.append(audit)
    if t["status"] == "solved" and before["status"] != "solved":
        t["solved_at"] = st.clock.now()
        st.solved.add(t["id"])
    elif t["status"] != "solved":
        st.solved.discard(t["id"])
    _emit_changes(st, t, before, before_cf, comment, actor["id"])
    return audit


def make_comment_private(st: State, t: Record, c: Record, *, actor: Record, client: str) -> Record | None:
    """Make a public comment private as ``actor``: an audit with a ``CommentPrivacyChange`` event (in the
    ticket's audits and the ticket-event export), the ticket's change time and the webhook event.

    Returns the audit, or ``None`` when the comment was already private (nothing changes).
    """
    if not c["public"]:
        return None
    c["public"] = False
    recompute_is_public(st, t)
    audit = _new_audit(st, t, actor["id"], API_VIA, client, None)
    audit["events"].append({"id": st.next_id("event"), "type": "CommentPrivacyChange", "comment_id": c["id"],
                            "public": False})
    t["updated_at"] = t["generated_ts"] = audit["created_at"]
    st.audits.setdefault(t["id"], []).append(audit)
    st.audit_log.append(audit)
    _emit(st, "ticket.comment_made_private", t, {"comment": {"id": str(c["id"])}}, actor["id"])
    return audit


def _emit_changes(st: State, t: Record, before: dict[str, Any], before_cf: dict[int, Any],
                  comment: Record | None, actor_id: int) -> None:
    if comment is not None:
        _emit(st, "ticket.comment_added", t, _comment_event(st, comment), actor_id)
    simple = {
        "status": "ticket.status_changed",
        "subject": "ticket.subject_changed",
        "priority": "ticket.priority_changed",
        "assignee_id": "ticket.agent_assignment_changed",
        "organization_id": "ticket.organization_changed",
        "requester_id": "ticket.requester_changed",
        "external_id": "ticket.external_id_changed",
    }
    for name, kind in simple.items():
        if before[name] != t[name]:
            prev, cur = before[name], t[name]
            if name == "status":
                prev, cur = str(prev).upper(), str(cur).upper()
            _emit(st, kind, t, {"current": cur, "previous": prev}, actor_id)
    if before["tags"] != t["tags"]:
        added = [x for x in t["tags"] if x not in before["tags"]]
        removed = [x for x in before["tags"] if x not in t["tags"]]
        _emit(st, "ticket.tags_changed", t, {"tags": {"added": added, "removed": removed}}, actor_id)
    if before["email_cc_ids"] != t["email_cc_ids"]:
        _emit(st, "ticket.email_ccs_changed", t,
              {"current": [str(x) for x in t["email_cc_ids"]],
               "previous": [str(x) for x in before["email_cc_ids"]]}, actor_id)
    for fid, value in t["custom_fields"].items():
        if before_cf.get(fid) != value:
            _emit(st, "ticket.custom_field_changed", t,
                  {"custom_field": {"id": str(fid)}, "current": value, "previous": before_cf.get(fid)}, actor_id)


RULE_VIA: dict[str, Any] = {
    "channel": "rule",
    "source": {"from": {"id": 80001, "title": "Close ticket 4 days after status is set to solved",
                        "deleted": False}, "to": {}, "rel": "automation"},
}


def auto_close(st: State) -> None:
    """Close solved tickets whose auto-close delay has passed on the sandbox clock (the system's update)."""
    if not st.solved:
        return
    limit = st.config.auto_close_hours * 3600
    now = st.clock.now()
    due = [tid for tid in st.solved if now - (st.tickets[tid]["solved_at"] or now) >= limit]
    for tid in sorted(due):
        t = st.tickets[tid]
        if t["deleted"] or t["status"] != "solved":
            st.solved.discard(tid)
            continue
        system = st.users[st.admin_id]
        try:
            apply_update(st, t, {"status": "closed"}, actor=system, client="Zendesk", via=RULE_VIA, system=True)
        except ApiError:
            continue
        st.audits[tid][-1]["author_id"] = -1  # Zendesk attributes automation updates to the system (-1)
        st.solved.discard(tid)
