"""Zendesk's OpenAPI document, patched where it contradicts Zendesk itself, and a schemathesis run over it.

``patched_oas()`` is the one place the document's defects are repaired; each patch names the defect and the
evidence (a recorded real response or Zendesk's reference).  ``run_conformance()`` drives every operation
the sandbox implements with generated cases and checks each response against the patched document.
"""

from __future__ import annotations

import copy
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sync.sandbox import Sandbox

__all__ = ["ConformanceReport", "implemented_operations", "oas_path", "patched_oas", "run_conformance"]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def oas_path() -> Path:
    """The OAS file: ``CASESYNC_REFERENCE_DIR`` or ``shared/reference`` beside the checkout."""
    root = Path(__file__).resolve().parents[2]
    candidates = [Path(os.environ["CASESYNC_REFERENCE_DIR"])] if "CASESYNC_REFERENCE_DIR" in os.environ else []
    candidates += [root.parent / "shared" / "reference", root.parents[1] / "shared" / "reference",
                   Path("/work/shared/reference")]
    return next((c for c in candidates if c.is_dir()), candidates[-1]) / "zendesk-support-oas.yaml"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML 1.1's ``=`` "value" tag is not meant: the document writes ``change: =`` as a plain string."""


_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:value"] for k, v in _Loader.yaml_implicit_resolvers.items()
}


@cache
def _raw_oas() -> dict[str, Any]:
    with oas_path().open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = yaml.load(fh, Loader=_Loader)  # a SafeLoader subclass
    return loaded


def _nullable_everywhere(node: Any) -> None:
    """Defect 1: the document marks almost no property ``nullable`` although Zendesk answers ``null`` for
    every unset one (recorded ``GET /api/v2/organizations``: ``"details": null, "notes": null``)."""
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for prop in props.values():
                if isinstance(prop, dict):
                    prop["nullable"] = True
        for value in node.values():
            _nullable_everywhere(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_everywhere(value)


def patched_oas() -> dict[str, Any]:
    """The OAS with its known defects repaired (see each patch's docstring and docs/sandbox-conformance.md)."""
    spec = copy.deepcopy(_raw_oas())
    schemas = spec["components"]["schemas"]
    _nullable_everywhere(schemas)
    # Defect 2: ``JobStatus.results`` is a ``oneOf`` of an array and one result object, and the result
    # object allows only ``success``-style rows; Zendesk's rows are an array whose items are either
    # ``{"action","id","status","success"}``, ``{"account_id","id","index"}`` or a failure
    # ``{"id","index","error","details"}`` (recorded update-many job statuses).
    job = schemas.get("JobStatus", {}).get("properties", {})
    if "results" in job:
        job["results"] = {"type": "array", "nullable": True, "items": {"type": "object", "properties": {
            "id": {"nullable": True}, "index": {"type": "integer"}, "success": {"type": "boolean"},
            "error": {"type": "string"}, "details": {"type": "string"}}}}
    # Defect 3: audit events' ``value``/``previous_value`` are typed ``string`` but Zendesk sends arrays for
    # tag and CC changes (``"value": ["vip"]`` in recorded ``/audits``) and numbers for ids.
    for name in ("Audit", "TicketAudit"):
        events = schemas.get(name, {}).get("properties", {}).get("events", {})
        items = events.get("items", {}) if isinstance(events, dict) else {}
        for key in ("value", "previous_value"):
            if key in items.get("properties", {}):
                items["properties"][key] = {"nullable": True}
    # Defect 4: operations document only their success status, though every endpoint answers Zendesk's
    # errors (400, 401, 403, 404, 409, 422, 429: "Response format" and "Rate limits" in Zendesk's API
    # introduction); JSON error bodies, and plain text for a 429.
    errors = {"description": "Zendesk's error envelope", "content": {
        "application/json": {"schema": {"type": "object"}}, "text/plain": {"schema": {"type": "string"}}}}
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch"):
                operation.setdefault("responses", {}).setdefault("4XX", errors)
    # Defect 5: the servers entry is a template of the production host; cases go to the sandbox's URL.
    spec["servers"] = [{"url": "/"}]
    return spec


def implemented_operations(sb: Sandbox, spec: dict[str, Any]) -> list[tuple[str, str]]:
    """``(METHOD, path)`` of every OAS operation whose path the sandbox routes to a handler of that path."""
    found = []
    for path, item in spec["paths"].items():
        for method in item:
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            sample = re.sub(r"\{[^}]+\}", "1", path)
            route = sb.app.api.match(method.upper(), sample)
            if route and re.sub(r"\{[^}]+\}", "{}", route[0]) == re.sub(r"\{[^}]+\}", "{}", path):
                found.append((method.upper(), path))
    return found


@dataclass
class ConformanceReport:
    """What a run measured."""

    operations: int = 0
    cases: int = 0
    passed: int = 0
    server_errors: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.cases if self.cases else 0.0


def _seed(sb: Sandbox, http: requests.Session) -> dict[str, list[Any]]:
    """Records for the path parameters to name (plus one unknown id each): cases reach real handlers."""
    api = f"{sb.url}/api/v2"
    org = http.post(f"{api}/organizations.json", json={"organization": {"name": "Seed Org"}}).json()["organization"]
    user = http.post(f"{api}/users.json", json={"user": {"name": "Seed", "email": "seed@x.test",
                                                         "organization_id": org["id"]}}).json()["user"]
    token = http.post(f"{api}/uploads.json", params={"filename": "a.txt"}, data=b"hello",
                      headers={"Content-Type": "text/plain"}).json()["upload"]["token"]
    ticket = http.post(f"{api}/tickets.json", json={"ticket": {
        "subject": "Seed", "requester_id": user["id"], "comment": {"body": "hi", "uploads": [token]}}}).json()["ticket"]
    comment = http.get(f"{api}/tickets/{ticket['id']}/comments.json").json()["comments"][0]
    membership = http.get(f"{api}/organization_memberships.json").json()["organization_memberships"][0]
    identity = http.get(f"{api}/users/{user['id']}/identities.json").json()["identities"][0]
    fld = http.post(f"{api}/ticket_fields.json", json={"ticket_field": {"type": "text", "title": "Seed"}}).json()
    job = http.put(f"{api}/tickets/update_many.json", params={"ids": str(ticket["id"])},
                   json={"ticket": {"additional_tags": ["seed"]}}).json()["job_status"]
    upload = http.post(f"{api}/uploads.json", params={"filename": "b.txt"}, data=b"x",
                       headers={"Content-Type": "text/plain"}).json()["upload"]["token"]
    return {
        "ticket_id": [ticket["id"]], "request_id": [ticket["id"]], "user_id": [user["id"]],
        "organization_id": [org["id"]], "organization_membership_id": [membership["id"]],
        "user_identity_id": [identity["id"]], "ticket_comment_id": [comment["id"]],
        "attachment_id": [comment["attachments"][0]["id"]], "ticket_field_id": [fld["ticket_field"]["id"]],
        "job_status_id": [job["id"]], "token": [upload],
    }


def _name_seeded_records(spec: dict[str, Any], seeded: dict[str, list[Any]]) -> None:
    """Path parameters take a seeded id or an unknown one (test set-up, not a patch of the document)."""
    for param in spec["components"]["parameters"].values():
        values = seeded.get(param.get("name", "")) if param.get("in") == "path" else None
        if values:
            unknown = "V3-unknown" if isinstance(values[0], str) else 999_999_999
            param["schema"] = {**param["schema"], "enum": [*values, unknown]}


def run_conformance(sb: Sandbox, *, max_examples: int = 5) -> ConformanceReport:
    """Generate ``max_examples`` cases per implemented operation against ``sb`` and check every response."""
    spec = patched_oas()
    ops = set(implemented_operations(sb, spec))
    spec["paths"] = {p: {m: d for m, d in item.items() if (m.upper(), p) in ops or m not in
                         ("get", "put", "post", "delete", "patch")}
                     for p, item in spec["paths"].items() if any((m.upper(), p) in ops for m in item)}
    http = requests.Session()
    http.auth = (f"{sb.agent_email}/token", sb.agent_token)
    _name_seeded_records(spec, _seed(sb, http))
    schema = schemathesis.openapi.from_dict(spec)
    report = ConformanceReport(operations=len(ops))
    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run_operation(result.ok(), mode, sb, http, report, max_examples)  # type: ignore[union-attr]
    return report


def _run_operation(operation: Any, mode: GenerationMode, sb: Sandbox, http: requests.Session,
                   report: ConformanceReport, max_examples: int) -> None:
    """``max_examples`` cases of one mode: valid requests (positive) or requests that break the document's
    schema (negative, which must be refused with a 4xx, never answered with a 5xx)."""
    label = f"{operation.method.upper()} {operation.path} ({mode.value})"

    def failed(key: str, text: str) -> None:
        report.failures[key] += 1
        report.examples.setdefault(key, text[:300])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def one(case: Any) -> None:
        response = case.call(base_url=sb.url, session=http, timeout=10)
        report.cases += 1
        if response.status_code >= 500:
            report.server_errors += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                failed(f"{label}: {type(failure).__name__}", str(failure))
        except AssertionError as exc:
            failed(f"{label}: {type(exc).__name__}", str(exc))
        else:
            report.passed += 1

    one()


if __name__ == "__main__":  # figures for docs/sandbox-conformance.md: python tests/sandbox/conformance.py [N]
    import sys

    with Sandbox(rate_limits=False) as running:
        got = run_conformance(running, max_examples=int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    print(f"operations {got.operations}, cases {got.cases}, passed {got.passed} ({got.pass_rate:.1%}), "
          f"server errors {got.server_errors}")
    for key, count in got.failures.most_common():
        print(count, key, got.examples[key][:200])
