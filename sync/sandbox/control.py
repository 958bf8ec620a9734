"""Control endpoints under ``/__sandbox/`` (never rate-limited, never faulted).

Formats are fixed by docs/design.md §6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import render
from .clock import iso
from .errors import ApiError, bad_request, not_found
from .job_runner import run_due_jobs
from .routing import Ctx, Resp, Router
from .state import State
from .suspended import render_suspended, suspend_email
from .tickets import apply_update, auto_close, create_ticket, find_or_create_user

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = ["register"]

EMAIL_VIA_TEMPLATE: dict[str, Any] = {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}}


def register(r: Router, sb: Sandbox) -> None:
    """Add the control routes; they reach the whole sandbox (faults, limiter, dispatcher)."""

    def reset(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        sb.reset()
        return Resp(200, {"ok": True})

    def advance(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        seconds = ctx.json().get("seconds", 0)
        try:
            offset = st.clock.advance(float(seconds))
        except (TypeError, ValueError) as exc:
            raise bad_request("InvalidValue", "seconds must be a number") from exc
        auto_close(st)
        run_due_jobs(st)
        return Resp(200, {"now": iso(st.clock.now()), "offset_s": offset})

    def run_jobs(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        return Resp(200, {"ran": run_due_jobs(st, everything=True)})

    def email_reply(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
        body = ctx.json()
        sender = str(body.get("from") or "")
        text = str(body.get("body") or "")
        if not sender or not text:
            raise bad_request("InvalidValue", "'from' and 'body' are required")
        t = st.tickets.get(int(p["id"])) if p["id"].isdigit() else None
        if t is None or t["deleted"]:
            raise not_found()
        user = find_or_create_user(st, sender)
        via = {"channel": "email", "source": {"from": {"address": user["email"], "name": user["name"]},
                                              "to": {"address": "support@sandbox.test", "name": "Support"},
                                              "rel": None}}
        # A reply from the requester or a CC is public ("make email comments from CCed end users public").
        public = user["id"] == t["requester_id"] or user["id"] in t["email_cc_ids"] or user["role"] != "end-user"
        if t["status"] == "closed":
            follow_via = {"channel": "closed_ticket", "source": {"from": {}, "to": {}, "rel": None}}
            new, _audit = create_ticket(
                st,
                {"via_followup_source_id": t["id"], "requester_id": t["requester_id"],
                 "comment": {"body": text, "public": True, "author_id": user["id"]}},
                actor=user, client="Email", via=follow_via,
            )
            return Resp(201, {"ticket": render.ticket(st, new, ctx.base)})
        if not public:
            # Neither the requester nor a CC: Zendesk suspends the email (cause "other_user_update").
            held = suspend_email(st, t, user, text, via)
            return Resp(201, {"ticket": render.ticket(st, t, ctx.base),
                              "suspended_ticket": render_suspended(held, ctx.base)})
        apply_update(st, t, {"comment": {"body": text, "public": public}}, actor=user, client="Email", via=via)
        return Resp(201, {"ticket": render.ticket(st, t, ctx.base)})

    def faults(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        try:
            sb.faults.configure(ctx.json())
        except (ValueError, TypeError) as exc:
            raise bad_request("InvalidValue", str(exc)) from exc
        return Resp(200, {"ok": True, "faults": ctx.json()})

    def stats(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        return Resp(200, {"total": st.total_requests, "requests": dict(st.stats)})

    def emails(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        ticket_id = ctx.q("ticket_id")
        items = [
            {k: e[k] for k in ("ticket_id", "to", "subject", "body", "trigger", "comment_id")}
            for e in st.emails if ticket_id is None or str(e["ticket_id"]) == ticket_id
        ]
        return Resp(200, {"emails": items})

    def state(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        return Resp(200, {
            "now": iso(st.clock.now()),
            "offset_s": st.clock.offset,
            "tickets": [render.ticket(st, t, ctx.base) for t in st.tickets.values()],
            "users": [render.user(u, ctx.base) for u in st.users.values()],
            "organizations": [render.organization(o, ctx.base) for o in st.organizations.values()],
            "comments": {str(tid): [render.comment(st, c, ctx.base) for c in cs] for tid, cs in st.comments.items()},
            "webhooks": [{k: v for k, v in w.items() if k != "secret"} for w in st.webhooks.values()],
            "webhook_deliveries": len(sb.dispatcher.delivered),
            "faults": sb.faults.config,
            "settings": st.settings,
        })

    def deliveries(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        return Resp(200, {"deliveries": list(sb.dispatcher.delivered)})

    def api_token(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        token = ctx.json().get("token")
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise bad_request("InvalidValue", "token must be a non-empty string, or null to restore the first one")
        return Resp(200, {"token": sb.rotate_api_token(token)})

    def settings(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
        body = ctx.json()
        if "ccs_enabled" in body:
            sb.set_ccs_enabled(bool(body["ccs_enabled"]))
        return Resp(200, {"settings": st.settings})

    r.add("POST", "/__sandbox/reset", reset)
    r.add("POST", "/__sandbox/clock/advance", advance)
    r.add("POST", "/__sandbox/tickets/{id}/email_reply", email_reply)
    r.add("POST", "/__sandbox/faults", faults)
    r.add("POST", "/__sandbox/jobs/run", run_jobs)
    r.add("GET", "/__sandbox/stats", stats)
    r.add("GET", "/__sandbox/emails", emails)
    r.add("GET", "/__sandbox/state", state)
    r.add("GET", "/__sandbox/webhook_deliveries", deliveries)
    r.add("POST", "/__sandbox/settings", settings)
    r.add("POST", "/__sandbox/api_token", api_token)
    _ = ApiError
