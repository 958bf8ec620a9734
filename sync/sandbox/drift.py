"""Answers spoiled on the way: a 200 whose body is cut short, or has drifted from the schema.

Applied by the HTTP layer when a fault rule says so (``truncate``, ``drift`` in ``POST /__sandbox/faults``),
after the request was handled: the state is what a correct answer would have described.  A drift is one
of three, picked by the decision's ``variant``: a status value Zendesk does not document, a field left out,
or fields the schema does not know yet.  Only the first object of the answer is touched (the ticket of a
show, the first of a list).
"""

from __future__ import annotations

import json
from typing import Any

from .faults import FaultDecision
from .routing import Resp

__all__ = ["UNKNOWN_STATUS", "spoil"]

#: A status value no Zendesk documentation lists.
UNKNOWN_STATUS = "awaiting_triage"
_DROPPABLE = ("status", "updated_at", "requester_id", "author_id", "email", "created_at", "public")


def _first_object(body: dict[str, Any]) -> dict[str, Any] | None:
    for value in body.values():
        if isinstance(value, dict) and "id" in value:
            return value
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return value[0]
    return None


def spoil(resp: Resp, decision: FaultDecision) -> bool:
    """Cut or drift ``resp`` in place when ``decision`` says so and it is a 200 with a JSON object; True
    when it did."""
    if resp.status != 200 or resp.raw is not None or not isinstance(resp.body, dict):
        return False
    if decision.truncate:
        text = json.dumps(resp.body, separators=(",", ":")).encode()
        resp.raw = text[: max(1, int(len(text) * decision.variant))]
        return True
    if not decision.drift:
        return False
    body = json.loads(json.dumps(resp.body))  # the state's records must stay as they are
    first = _first_object(body)
    if first is None:
        return False
    kind = decision.drift_kind or ("status" if decision.variant < 0.4 else "missing" if decision.variant < 0.7
                                   else "added")
    if kind == "status":
        if "status" not in first:
            return False
        first["status"] = UNKNOWN_STATUS
    elif kind == "missing":
        present = [k for k in _DROPPABLE if k in first]
        if not present:
            return False
        first.pop(present[int(decision.variant * 1000) % len(present)])
    else:
        first["x_added_later"] = {"kind": "unannounced", "values": [1, 2]}
        body["x_meta_v3"] = True
    resp.body = body
    return True
