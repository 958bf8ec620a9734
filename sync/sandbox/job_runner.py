"""Background jobs as Zendesk runs them: accepted now, applied later.

A bulk request (``update_many``, ``merge``) answers a ``queued`` job status at once and changes nothing yet.
The job starts ``job_delay_s / 2`` sandbox seconds after it was accepted and applies its items one by one
(status ``working``, ``progress`` counting the items done) until, ``job_delay_s`` after acceptance, every
item has run and the status is ``completed`` with one result row per item.  Zendesk documents the same
life cycle: "queued", "working", "failed", "completed" (https://developer.zendesk.com/api-reference/
ticketing/ticket-management/job_statuses/), and its effects are only visible once the job has run.

Jobs advance on the sandbox clock: at every API request, from :class:`JobRunner`'s background thread
(so webhooks of a job's changes fire without a request), when ``/__sandbox/clock/advance`` moves the clock,
and at once through ``POST /__sandbox/jobs/run``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError
from .state import Record, State

__all__ = ["JobRunner", "Step", "failure_row", "queue_job", "render_job", "run_due_jobs"]

#: One item of a job: applies its change and returns the item's result row (``None``: a step without a row).
Step = Callable[[], dict[str, Any] | None]


def failure_row(item_id: Any, index: int, error: str, exc: ApiError) -> dict[str, Any]:
    """A failed item as Zendesk reports it: ``{"id", "index", "error", "details"}`` and no ``success`` key
    (recorded ``TestOrganizationCreateUpdateDelete.test_multiple_update_full_objects-update-many``)."""
    body = exc.body if isinstance(exc.body, dict) else {}
    details = body.get("details")
    if isinstance(details, dict) and details:
        text = "; ".join(str(d.get("description", "")) for ds in details.values() for d in ds)
    else:
        text = str(body.get("description") or body.get("error") or exc.body)
    return {"id": item_id, "index": index, "error": error, "details": text}


def queue_job(st: State, kind: str, steps: list[Step]) -> Record:
    """Accept a job of ``steps``; nothing runs before the job's start time."""
    jid = "V3-" + secrets.token_hex(16)
    job: Record = {"id": jid, "job_type": kind, "total": len(steps), "steps": steps, "results": [], "done": 0,
                   "submitted_at": st.clock.now(), "finished_at": None}
    st.jobs[jid] = job
    return job


def _due(st: State, job: Record, now: float) -> int:
    delay = max(0.0, float(st.config.job_delay_s))
    start, finish = job["submitted_at"] + delay / 2, job["submitted_at"] + delay
    total = int(job["total"])
    if now >= finish:
        return total
    if now < start:
        return 0
    return min(total, int((now - start) / (finish - start) * total))


def run_due_jobs(st: State, *, everything: bool = False) -> int:
    """Apply the items whose time has come (all pending ones with ``everything``); returns how many ran.

    Call with :attr:`State.lock` held.
    """
    now = st.clock.now()
    ran = 0
    for job in list(st.jobs.values()):
        if job["finished_at"] is not None:
            continue
        due = int(job["total"]) if everything else _due(st, job, now)
        while job["done"] < due:
            index = job["done"]
            job["done"] += 1  # counted first: a step that raises is never run again
            ran += 1
            try:
                row = job["steps"][index]()
            except ApiError as exc:
                # A step refused by Zendesk's rules fails its item; it never stalls the job, nor the request
                # that happened to run it.
                row = failure_row(None, index, "JobItemFailed", exc)
            if row is not None:
                job["results"].append(row)
        if job["done"] >= job["total"]:
            job["finished_at"] = now
            job["steps"] = []
    return ran


def render_job(st: State, job: Record, base: str) -> dict[str, Any]:
    """The ``job_status`` object as a client polling Zendesk sees it at this moment."""
    url = f"{base}/api/v2/job_statuses/{job['id']}.json"
    out: dict[str, Any] = {"id": job["id"], "job_type": job["job_type"], "url": url, "total": job["total"],
                           "progress": None, "status": "queued", "message": None, "results": None}
    if job["finished_at"] is not None:
        at = datetime.fromtimestamp(job["finished_at"], UTC).strftime("%Y-%m-%d %H:%M:%S +0000")
        out.update(progress=job["total"], status="completed", message=f"Completed at {at}",
                   results=list(job["results"]))
    elif job["done"] or st.clock.now() >= job["submitted_at"] + st.config.job_delay_s / 2:
        out.update(progress=job["done"], status="working", message=f"{job['done']}/{job['total']}")
    return out


class JobRunner:
    """A daemon thread that runs due job items every ``period_s`` (real seconds) while the sandbox serves."""

    def __init__(self, st: State, period_s: float = 0.05) -> None:
        self._st = st
        self._period = period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="sandbox-jobs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=2)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            with self._st.lock:
                run_due_jobs(self._st)
