"""schemathesis against the API's own OpenAPI document: no 500, every answer as the document describes it."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import TOKEN, Served, populated, serving

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,  # input the document forbids is refused with a 4xx
    ignored_auth,  # a request without the token is refused
]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with serving(tmp_path_factory.mktemp("schema") / "casesync.db") as served:
        populate_cases(populated(served))
        yield schemathesis.openapi.from_url(f"{served.url}/api/v1/openapi.json")


def populate_cases(served: Served) -> None:
    """A few cases in acme, so that generated case numbers and searches find something."""
    for n in range(3):
        body = {"user_id": "bob", "subject": f"Case {n}", "body": f"Body {n}"}
        assert served.http.post("/api/v1/accounts/acme/cases", json=body).status_code == 201


def test_the_api_keeps_to_its_own_openapi_document(api_schema: Any) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 13
    for operation, mode in itertools.product(operations, (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True,
                  database=None)
        def conforms(case: Any) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)

        try:
            conforms()
        except Exception as exc:
            raise AssertionError(f"{operation.label} ({mode.value} examples): {exc}") from exc
