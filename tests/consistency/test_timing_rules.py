"""The export's last minute, made visible: what backfill and reconcile leave out, why, and when to rerun."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from rich.console import Console

from sync.consistency import backfill_command, reconcile_command
from sync.consistency.reconcile import Reconciler
from tests.consistency.conftest import World

SINCE = datetime.now(UTC) - timedelta(days=1)


def _acme_ticket(world: World, subject: str) -> int:
    with world.store.read() as tx:
        acme, carol = tx.get_account("acme"), tx.get_user("acme", "carol")
    assert acme and carol and acme.zendesk_org_id and carol.zendesk_user_id
    return int(world.staff.create_ticket(
        subject=subject, requester_id=carol.zendesk_user_id, organization_id=acme.zendesk_org_id,
        comment={"body": "Just now", "author_id": carol.zendesk_user_id, "public": True})["id"])


def test_backfill_right_after_a_ticket_was_created_says_what_it_left_out(world: World) -> None:
    _acme_ticket(world, "Created a moment ago")
    console = Console(record=True, width=300)
    assert backfill_command(world.settings, since=SINCE, create_users=False, console=console) == 0
    output = console.export_text()
    assert "Imported 0 ticket(s)" in output
    assert "Not included: tickets created or changed after" in output
    assert "leaves out its most recent 60 s" in output and f"--since {SINCE.isoformat()}" in output

    world.tick()  # a minute later, as the message says
    console = Console(record=True, width=300)
    assert backfill_command(world.settings, since=SINCE, create_users=False, console=console) == 0
    assert "Imported 1 ticket(s)" in console.export_text()


def test_reconcile_names_the_cases_it_did_not_judge_and_why(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.remove_cc(ticket_id, "alice@acme.test")  # drift, but changed a moment ago
    report = Reconciler(world.store, world.gateway, world.settings).run(repair=False)
    assert report.drift == 0
    [skipped] = report.skipped
    assert (skipped.case_id, skipped.ticket_id) == (case_id, ticket_id)
    assert "changed in Zendesk" in skipped.reason and "run reconcile again" in skipped.reason

    console = Console(record=True, width=300)
    assert reconcile_command(world.settings, repair=False, console=console) == 0
    output = console.export_text()
    assert f"not judged: case #{case_id} (ticket #{ticket_id})" in output and "1 not judged" in output

    world.api.reply("acme", case_id, "carol", "A change still queued for Zendesk")
    world.tick()
    report = Reconciler(world.store, world.gateway, world.settings).run(repair=False)
    assert [s.reason for s in report.skipped] == [
        "console changes are still queued in the outbox; judged once they are delivered"]

    world.deliver()
    world.tick()
    console = Console(record=True, width=300)
    assert reconcile_command(world.settings, repair=False, console=console, as_json=True) == 1
    data = json.loads(console.export_text())
    assert data["skipped"] == [] and data["drift"] == 1
    assert data["drifts"][0] | {"detail": ""} == {
        "kind": "ccs", "account_id": "acme", "case_id": case_id, "ticket_id": ticket_id, "detail": "",
        "repair": data["drifts"][0]["repair"]}
    assert data["repair"] is False and data["checked"] == 1
