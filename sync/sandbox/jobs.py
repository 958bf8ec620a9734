"""Bulk ticket updates, merges and job statuses.

Requests are validated when they arrive; their effects are applied when the job runs
(:mod:`sync.sandbox.job_runner`), so a client reading the tickets right after submitting sees them unchanged.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .auth import require_staff
from .errors import ApiError, not_found, record_invalid, too_many_values
from .job_runner import Step, failure_row, queue_job, render_job
from .routing import Ctx, Resp, Router
from .state import State
from .tickets import _emit, apply_update, get_ticket

__all__ = ["register"]


def job_show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/job_statuses/{id}``: the job as it stands on the sandbox clock."""
    require_staff(ctx)
    job = st.jobs.get(p["id"])
    if job is None:
        raise not_found()
    return Resp(200, {"job_status": render_job(st, job, ctx.base)})


def update_many(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``PUT /api/v2/tickets/update_many``: ``{"tickets": [{id, …}]}`` or ``?ids=`` + ``{"ticket": {…}}``."""
    actor = require_staff(ctx)
    body = ctx.json()
    items: list[dict[str, Any]]
    if "ids" in ctx.query:
        common = body.get("ticket") or {}
        items = [{**common, "id": int(i)} for i in ctx.ids_param("ids")]
    else:
        items = list(body.get("tickets") or [])
        if len(items) > 100:
            raise too_many_values("tickets")
    def step(index: int, item: dict[str, Any]) -> Step:
        def run() -> dict[str, Any]:
            tid = item.get("id")
            try:
                t = get_ticket(st, tid if tid is not None else -1)
                data = {k: v for k, v in item.items() if k != "id"}
                apply_update(st, t, data, actor=actor, client=client)
            except ApiError as exc:
                return failure_row(tid, index, "TicketUpdateFailed", exc)
            return {"id": t["id"], "index": index, "action": "update", "status": "Updated", "success": True}

        return run

    client = ctx.client
    job = queue_job(st, "bulk_update", [step(i, item) for i, item in enumerate(items)])
    return Resp(200, {"job_status": render_job(st, job, ctx.base)})


def merge(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``POST /api/v2/tickets/{id}/merge``: sources end closed (tag ``closed_by_merge``), comments added."""
    actor = require_staff(ctx)
    target = get_ticket(st, p["id"])
    body = ctx.json()
    ids = [int(i) for i in body.get("ids") or []]
    if not ids:
        raise record_invalid("ids", "Ids: cannot be blank", "BlankValue")
    if len(ids) > 5:
        raise too_many_values("ids", 5)
    sources = []
    for sid in ids:
        s = get_ticket(st, sid)
        if s["status"] == "closed" or s["id"] == target["id"]:
            raise record_invalid("base", f"Ticket {sid} cannot be merged", "MergeFailed")
        sources.append(s)
    if target["status"] == "closed":
        raise record_invalid("status", "Status: closed prevents ticket update")
    merge_via = {"channel": "merge", "source": {"from": {}, "to": {}, "rel": "merge"}}
    src_public = bool(body.get("source_comment_is_public", False))
    tgt_public = bool(body.get("target_comment_is_public", False))
    client = ctx.client
    subjects = {s["id"]: s["subject"] for s in sources}

    def merge_source(index: int, sid: int) -> Step:
        def run() -> dict[str, Any] | None:
            try:
                s = get_ticket(st, sid)
                if s["status"] == "closed":
                    raise record_invalid("base", f"Ticket {sid} cannot be merged", "MergeFailed")
                text = body.get("source_comment") or (
                    f"This request was closed and merged into request #{target['id']} \"{target['subject']}\".")
                data = {"comment": {"body": text, "public": src_public}, "status": "closed",
                        "additional_tags": ["closed_by_merge"]}
                if s["assignee_id"] is None:
                    data["assignee_id"] = target["assignee_id"] or actor["id"]
                apply_update(st, s, data, actor=actor, client=client, via=merge_via, system=True)
            except ApiError as exc:
                return failure_row(sid, index, "MergeFailed", exc)
            s["merged_into"] = target["id"]
            _emit(st, "ticket.merged", s, {"target_ticket_id": str(target["id"])}, actor["id"])
            return {"id": sid, "index": index, "action": "merge", "status": "Merged", "success": True}

        return run

    def comment_target() -> None:
        text = body.get("target_comment") or (
            "Requests " + ", ".join(f"#{sid} \"{subject}\"" for sid, subject in subjects.items())
            + " were closed and merged into this request.")
        comment = {"body": text, "public": tgt_public, "uploads": [_copy_attachments(st, list(subjects))]}
        # A target closed (or deleted) since the merge was accepted keeps its sources' closure, no comment.
        with contextlib.suppress(ApiError):
            apply_update(st, target, {"comment": comment}, actor=actor, client=client, via=merge_via)

    job = queue_job(st, "merge", [*(merge_source(i, s["id"]) for i, s in enumerate(sources)), comment_target])
    return Resp(200, {"job_status": render_job(st, job, ctx.base)})


def _copy_attachments(st: State, ticket_ids: list[int]) -> str:
    """An upload token holding copies of the attachments of ``ticket_ids``' comments: "If the source ticket
    has attachments, they are included in ``target_comment``" (OAS, Merge Tickets into Target Ticket)."""
    token = st.token(18)
    copies: list[int] = []
    for tid in ticket_ids:
        for c in st.comments.get(tid, []):
            for aid in c["attachment_ids"]:
                original = st.attachments[aid]
                if original["deleted"]:
                    continue
                copy = {**original, "id": st.next_id("attachment"), "url_token": st.token(18)}
                st.attachments[copy["id"]] = copy
                st.attachment_by_token[copy["url_token"]] = copy["id"]
                copies.append(copy["id"])
    st.uploads[token] = {"token": token, "attachment_ids": copies, "expires_at": st.clock.now() + 60}
    return token


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("PUT", "/api/v2/tickets/update_many", update_many)
    r.add("POST", "/api/v2/tickets/{id}/merge", merge)
    r.add("GET", "/api/v2/job_statuses/{id}", job_show)
