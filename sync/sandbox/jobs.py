"""Bulk ticket updates, merges and job statuses.

The work is committed when the request is accepted; the job status then progresses
``queued`` → ``working`` → ``completed`` over the following ``GET /api/v2/job_statuses/{id}``, as a
client polling Zendesk sees it.
"""

from __future__ import annotations

import secrets
from typing import Any

from .auth import require_staff
from .errors import ApiError, not_found, record_invalid, too_many_values
from .routing import Ctx, Resp, Router
from .state import Record, State
from .tickets import _emit, add_comment, apply_update, get_ticket

__all__ = ["register"]


def _job(st: State, kind: str, total: int, results: list[dict[str, Any]], failed: bool = False) -> Record:
    jid = "V3-" + secrets.token_hex(16)
    job: Record = {"id": jid, "job_type": kind, "total": total, "results": results, "polls": 0, "failed": failed}
    st.jobs[jid] = job
    return job


def _render_job(st: State, job: Record, base: str) -> dict[str, Any]:
    from datetime import UTC, datetime

    stage = job["polls"]
    url = f"{base}/api/v2/job_statuses/{job['id']}.json"
    if stage == 0:
        return {"id": job["id"], "job_type": job["job_type"], "url": url, "total": job["total"], "progress": None,
                "status": "queued", "message": None, "results": None}
    if stage == 1 and job["total"] > 1:
        half = job["total"] // 2
        return {"id": job["id"], "job_type": job["job_type"], "url": url, "total": job["total"], "progress": half,
                "status": "working", "message": f"{half}/{job['total']}", "results": None}
    now = datetime.fromtimestamp(st.clock.now(), UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
    return {"id": job["id"], "job_type": job["job_type"], "url": url, "total": job["total"],
            "progress": job["total"], "status": "failed" if job["failed"] else "completed",
            "message": f"Completed at {now}", "results": job["results"]}


def job_show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/job_statuses/{id}``: each poll moves the job one step forward."""
    require_staff(ctx)
    job = st.jobs.get(p["id"])
    if job is None:
        raise not_found()
    job["polls"] += 1
    return Resp(200, {"job_status": _render_job(st, job, ctx.base)})


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
    results: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        tid = item.get("id")
        try:
            t = get_ticket(st, tid if tid is not None else -1)
            data = {k: v for k, v in item.items() if k != "id"}
            apply_update(st, t, data, actor=actor, client=ctx.client)
            results.append({"id": t["id"], "index": index, "action": "update", "status": "Updated",
                            "success": True})
        except ApiError as exc:
            detail = exc.body.get("details") if isinstance(exc.body, dict) else None
            text = exc.body.get("description", "") if isinstance(exc.body, dict) else str(exc.body)
            if detail:
                text = "; ".join(d["description"] for ds in detail.values() for d in ds)
            results.append({"id": tid, "index": index, "action": "update", "status": "Failed", "success": False,
                            "error": exc.body.get("error", "Failed") if isinstance(exc.body, dict) else "Failed",
                            "details": text})
    job = _job(st, "bulk_update", len(items), results)
    return Resp(200, {"job_status": _render_job(st, job, ctx.base)})


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
    for s in sources:
        text = body.get("source_comment") or (
            f"This request was closed and merged into request #{target['id']} \"{target['subject']}\".")
        data = {"comment": {"body": text, "public": src_public}, "status": "closed",
                "additional_tags": ["closed_by_merge"]}
        if s["assignee_id"] is None:
            data["assignee_id"] = target["assignee_id"] or actor["id"]
        apply_update(st, s, data, actor=actor, client=ctx.client, via=merge_via, system=True)
        s["merged_into"] = target["id"]
        _emit(st, "ticket.merged", s, {"target_ticket_id": str(target["id"])}, actor["id"])
    text = body.get("target_comment") or (
        "Requests " + ", ".join(f"#{s['id']} \"{s['subject']}\"" for s in sources)
        + " were closed and merged into this request.")
    apply_update(st, target, {"comment": {"body": text, "public": tgt_public}}, actor=actor, client=ctx.client,
                 via=merge_via)
    job = _job(st, "merge", len(sources) + 1,
               [{"id": s["id"], "action": "merge", "status": "Merged", "success": True} for s in sources])
    _ = add_comment
    return Resp(200, {"job_status": _render_job(st, job, ctx.base)})


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("PUT", "/api/v2/tickets/update_many", update_many)
    r.add("POST", "/api/v2/tickets/{id}/merge", merge)
    r.add("GET", "/api/v2/job_statuses/{id}", job_show)
