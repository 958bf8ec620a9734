"""Job results read as Zendesk writes them: a failed row carries ``error``/``details`` and no ``success``.

The job statuses below are Zendesk's own responses, copied verbatim from the shared recordings into
``recorded/job_statuses.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import responses

from sync.gateway import JobResult, ZendeskGateway
from tests.gateway.gateway_fakes import BASE

RECORDED: dict[str, Any] = json.loads((Path(__file__).parent / "recorded" / "job_statuses.json").read_text())


def test_the_recorded_failed_rows_are_failures(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    job = RECORDED["organization_update_many"]["job_status"]
    rsps.get(BASE + f"job_statuses/{job['id']}.json", json=RECORDED["organization_update_many"])
    results = gw.wait_job(job["id"], sleep=lambda _: None)
    assert [(r.index, r.success, r.error) for r in results] == [
        (None, True, None),
        (1, False, "OrganizationUpdateFailed"),
        (2, False, "OrganizationUpdateFailed"),
        (3, False, "OrganizationUpdateFailed"),
        (4, False, "OrganizationUpdateFailed"),
    ]
    assert results[1].details is not None and "has already been taken" in results[1].details


def test_recorded_rows_without_success_or_error_are_successes(gw: ZendeskGateway,
                                                              rsps: responses.RequestsMock) -> None:
    job = RECORDED["ticket_create_many"]["job_status"]
    rsps.get(BASE + f"job_statuses/{job['id']}.json", json=RECORDED["ticket_create_many"])
    results = gw.wait_job(job["id"], sleep=lambda _: None)
    assert results and all(r.success and r.error is None for r in results)
    assert [r.index for r in results] == list(range(len(results)))


@pytest.mark.parametrize(
    ("row", "success"),
    [
        ({"id": 1, "action": "update", "status": "Updated", "success": True}, True),
        ({"id": 1, "index": 0, "account_id": 7}, True),
        ({"id": 1, "index": 1, "error": "TicketUpdateFailed", "details": "closed"}, False),
        ({"id": 1, "status": "Failed"}, False),
        ({"id": 1, "success": False, "error": "TooManyCCs"}, False),
        ({"id": 1, "success": True, "error": None}, True),
    ],
)
def test_a_row_succeeded_only_when_zendesk_says_so_or_names_no_error(row: dict[str, Any], success: bool) -> None:
    assert JobResult.model_validate(row).success is success
