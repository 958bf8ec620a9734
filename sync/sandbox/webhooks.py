"""Webhooks API and signed event deliveries.

Deliveries are POSTed by a background thread, shaped like Zendesk event webhooks
(``zendesk_event_version`` 2022-11-06), signed with ``X-Zendesk-Webhook-Signature`` =
base64(HMAC-SHA256(secret, timestamp + body)) and ``X-Zendesk-Webhook-Signature-Timestamp`` (wall clock),
retried when the receiver fails, and duplicated, delayed or reordered per ``/__sandbox/faults``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import queue
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from . import render
from .auth import require_admin
from .clock import iso
from .errors import not_found, record_invalid
from .faults import Faults
from .routing import Ctx, Resp, Router
from .state import Record, State

__all__ = ["Dispatcher", "register"]


def _render(w: Record) -> dict[str, Any]:
    return {k: v for k, v in w.items() if k not in ("secret", "deliveries")}


def create(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``POST /api/v2/webhooks`` (``subscriptions`` of ``zen:event-type:…``)."""
    admin = require_admin(ctx)
    body = ctx.json().get("webhook") or {}
    if not body.get("endpoint") or not body.get("name"):
        raise record_invalid("endpoint", "Endpoint and name are required", "BlankValue")
    wid = "01" + uuid.uuid4().hex[:24].upper()
    now = iso(st.clock.now())
    w: Record = {
        "id": wid, "name": body["name"], "status": body.get("status", "active"), "endpoint": body["endpoint"],
        "http_method": body.get("http_method", "POST"), "request_format": body.get("request_format", "json"),
        "subscriptions": list(body.get("subscriptions") or []), "authentication": body.get("authentication"),
        "custom_headers": body.get("custom_headers") or {}, "created_at": now, "created_by": str(admin["id"]),
        "updated_at": now, "updated_by": str(admin["id"]), "description": body.get("description"),
        "secret": st.token(32), "deliveries": 0,
    }
    st.webhooks[wid] = w
    return Resp(201, {"webhook": _render(w)}, {"Location": f"{ctx.base}/api/v2/webhooks/{wid}"})


def _get(st: State, wid: str) -> Record:
    w = st.webhooks.get(wid)
    if w is None:
        raise not_found()
    return w


def show(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/webhooks/{id}``."""
    require_admin(ctx)
    return Resp(200, {"webhook": _render(_get(st, p["id"]))})


def list_all(st: State, ctx: Ctx, _: dict[str, str]) -> Resp:
    """``GET /api/v2/webhooks``."""
    require_admin(ctx)
    return Resp(200, {"webhooks": [_render(w) for w in st.webhooks.values()],
                      "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
                      "links": {"next": None, "prev": None}})


def update(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``PUT``/``PATCH /api/v2/webhooks/{id}``."""
    require_admin(ctx)
    w = _get(st, p["id"])
    body = ctx.json().get("webhook") or {}
    for k in ("name", "status", "endpoint", "subscriptions", "authentication", "custom_headers", "description"):
        if k in body:
            w[k] = body[k]
    w["updated_at"] = iso(st.clock.now())
    return Resp(204, None)


def delete(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``DELETE /api/v2/webhooks/{id}``."""
    require_admin(ctx)
    del st.webhooks[_get(st, p["id"])["id"]]
    return Resp(204, None)


def secret(st: State, ctx: Ctx, p: dict[str, str]) -> Resp:
    """``GET /api/v2/webhooks/{id}/signing_secret`` (``POST`` resets it)."""
    require_admin(ctx)
    w = _get(st, p["id"])
    if ctx.method == "POST":
        w["secret"] = st.token(32)
    return Resp(200 if ctx.method == "GET" else 201,
                {"signing_secret": {"algorithm": "sha256", "secret": w["secret"]}})


def register(r: Router) -> None:
    """Add this module's routes."""
    r.add("POST", "/api/v2/webhooks", create)
    r.add("GET", "/api/v2/webhooks", list_all)
    r.add("GET", "/api/v2/webhooks/{id}", show)
    r.add("PUT", "/api/v2/webhooks/{id}", update)
    r.add("PATCH", "/api/v2/webhooks/{id}", update)
    r.add("DELETE", "/api/v2/webhooks/{id}", delete)
    r.add("GET", "/api/v2/webhooks/{id}/signing_secret", secret)
    r.add("POST", "/api/v2/webhooks/{id}/signing_secret", secret)


def sign(secret_value: str, timestamp: str, body: bytes) -> str:
    """Zendesk's signature: base64(HMAC-SHA256(secret, timestamp + body))."""
    mac = hmac.new(secret_value.encode(), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class Dispatcher:
    """Builds event payloads under the state lock and delivers them from a background thread."""

    def __init__(self, st: State, faults: Faults) -> None:
        self.st = st
        self.faults = faults
        self._q: queue.Queue[tuple[str, str, str, bytes] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self.delivered: list[dict[str, Any]] = []
        self.failures = 0
        self._stop = threading.Event()

    def start(self) -> None:
        """Start the delivery thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop after the current delivery."""
        self._stop.set()
        self._q.put(None)
        self._thread.join(timeout=5)

    def emit(self, kind: str, t: Record, event: dict[str, Any], actor_id: int | None) -> None:
        """Queue the event for every active webhook subscribed to it (called under the state lock)."""
        full = f"zen:event-type:{kind}"
        targets = [w for w in self.st.webhooks.values()
                   if w["status"] == "active" and full in w["subscriptions"]]
        if not targets:
            return
        payload = {
            "account_id": self.st.config.account_id,
            "detail": {
                "actor_id": str(actor_id) if actor_id is not None else None,
                "assignee_id": str(t["assignee_id"]) if t["assignee_id"] else None,
                "brand_id": "360000000001",
                "created_at": iso(t["created_at"]),
                "custom_status": str(render.custom_status_id(t)),
                "description": t["description"],
                "external_id": t["external_id"],
                "form_id": "360000000002",
                "group_id": str(t["group_id"]) if t["group_id"] else None,
                "id": str(t["id"]),
                "is_public": t["is_public"],
                "organization_id": str(t["organization_id"]) if t["organization_id"] else None,
                "priority": (t["priority"] or "").upper() or None,
                "requester_id": str(t["requester_id"]),
                "status": "DELETED" if t["deleted"] else str(t["status"]).upper(),
                "subject": t["subject"],
                "submitter_id": str(t["submitter_id"]),
                "tags": list(t["tags"]),
                "type": (t["type"] or "").upper() or None,
                "updated_at": iso(t["updated_at"]),
                "via": {"channel": t["via"].get("channel", "api")},
            },
            "event": event,
            "id": str(uuid.uuid4()),
            "subject": f"zen:ticket:{t['id']}",
            "time": iso(self.st.clock.now()),
            "type": full,
            "zendesk_event_version": "2022-11-06",
        }
        body = json.dumps(payload).encode()
        for w in targets:
            self._q.put((w["id"], w["endpoint"], w["secret"], body))

    def _run(self) -> None:
        while not self._stop.is_set():
            item = self._q.get()
            if item is None:
                return
            batch = [item]
            wf = self.faults.webhooks
            if wf.reorder:
                # Collect what arrives shortly after, then deliver it newest first.
                deadline = time.monotonic() + 0.05
                while time.monotonic() < deadline:
                    try:
                        nxt = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
                    except queue.Empty:
                        break
                    if nxt is None:
                        return
                    batch.append(nxt)
                batch.reverse()
            for wid, endpoint, secret_value, body in batch:
                if wf.delay_ms:
                    time.sleep(wf.delay_ms / 1000.0)
                copies = 2 if wf.duplicate and self.faults.roll() < wf.duplicate else 1
                for _ in range(copies):
                    self._deliver(wid, endpoint, secret_value, body)

    def _deliver(self, wid: str, endpoint: str, secret_value: str, body: bytes) -> None:
        delay = 0.1
        for _attempt in range(max(1, self.st.config.webhook_retries + 1)):
            if self._stop.is_set():
                return
            ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": str(len(body)),
                "User-Agent": "Zendesk Webhook",
                "X-Zendesk-Account-Id": str(self.st.config.account_id),
                "X-Zendesk-Webhook-Id": wid,
                "X-Zendesk-Webhook-Invocation-Id": uuid.uuid4().hex,
                "X-Zendesk-Webhook-Signature": sign(secret_value, ts, body),
                "X-Zendesk-Webhook-Signature-Timestamp": ts,
            }
            status = 0
            try:
                parts = urlsplit(endpoint)
                conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
                conn = conn_cls(parts.netloc, timeout=self.st.config.webhook_timeout_s)
                path = parts.path or "/"
                if parts.query:
                    path += "?" + parts.query
                conn.request("POST", path, body=body, headers=headers)
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = 0
            ok = 200 <= status < 300
            self.delivered.append({"webhook_id": wid, "status": status, "ok": ok, "at": time.time(),
                                   "body": json.loads(body)})
            if ok:
                return
            self.failures += 1
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
