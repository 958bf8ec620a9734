"""A CC change Zendesk refuses inside a bulk job is a recorded conflict, never shown as applied.

Zendesk reports a refused item of a job as ``{"id", "index", "error", "details"}`` without ``success``
(docs/sandbox-conformance.md, "Job statuses"); casesync must read that row as a failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync.sandbox import Sandbox
from tests.consistency.conftest import World


@pytest.fixture
def strict_ccs(zd: Sandbox) -> Iterator[Sandbox]:
    """A Zendesk account that takes a single email CC per ticket (casesync plans for 48)."""
    zd.config.max_email_ccs = 1
    yield zd
    zd.config.max_email_ccs = 48


def test_a_refused_cc_change_is_a_conflict_and_the_case_keeps_its_ccs(strict_ccs: Sandbox, world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol", "Printer")
    assert world.staff.cc_emails(ticket_id) == {"alice@acme.test"}

    world.api.add_recipient("acme", "ops@acme.test")
    world.deliver()

    assert world.staff.cc_emails(ticket_id) == {"alice@acme.test"}
    assert world.case("acme", case_id).cc == ["alice@acme.test"]
    conflicts = [c for c in world.api.changes(account_id="acme") if c.kind.value == "conflict"]
    assert [c.case_id for c in conflicts] == [case_id]
    assert "TicketUpdateFailed" in conflicts[0].detail
