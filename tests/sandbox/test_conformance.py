"""The sandbox against Zendesk's own OpenAPI document, with cases schemathesis generates.

Every operation of ``zendesk-support-oas.yaml`` the sandbox implements is called with generated cases
(``max_examples`` each, derandomized so runs repeat); every response must not be a server error and must
match the patched document: a documented status code, a documented content type, a valid body.  The
document's defects are patched in one place, ``conformance.patched_oas``.  Figures of a run are in
docs/sandbox-conformance.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync.sandbox import Sandbox
from tests.sandbox.conformance import implemented_operations, oas_path, patched_oas, run_conformance

pytestmark = pytest.mark.skipif(not oas_path().is_file(), reason="Zendesk's OpenAPI document is not available")


@pytest.fixture(scope="module")
def open_sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limits=False) as zd:
        yield zd


def test_every_implemented_operation_answers_as_the_patched_document_says(open_sandbox: Sandbox) -> None:
    report = run_conformance(open_sandbox, max_examples=5)
    assert report.operations >= 65
    assert report.cases >= report.operations * 3
    assert report.server_errors == 0
    assert dict(report.failures) == {}, report.examples
    assert report.passed == report.cases


def test_the_document_is_patched_only_where_it_contradicts_zendesk(open_sandbox: Sandbox) -> None:
    spec = patched_oas()
    job = spec["components"]["schemas"]["JobStatus"]["properties"]["results"]
    assert job["type"] == "array" and "oneOf" not in job
    assert spec["components"]["schemas"]["Ticket"]["properties"]["assignee_id"]["nullable"] is True
    ops = implemented_operations(open_sandbox, spec)
    assert ("PUT", "/api/v2/tickets/update_many") in ops and ("GET", "/api/v2/job_statuses/{job_status_id}") in ops
