"""The reconciler: each kind of drift detected, repaired through the outbox or the inbox, in few requests."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

from rich.console import Console

from mappings.models import CaseStatus
from sync.consistency import DriftKind, reconcile_command
from sync.settings import Settings
from tests.consistency.conftest import World, delta


def _kinds(world: World, repair: bool = False) -> dict[str, str]:
    report = world.reconciler().run(repair=repair)
    return {f"{d.kind.value}:{d.ticket_id}": d.repair for d in report.drifts}


def _repair_and_settle(world: World) -> None:
    world.reconciler().run(repair=True)
    world.deliver()
    world.inbox.run_once()
    world.deliver()


def test_a_consistent_console_has_no_drift_and_records_the_run(world: World) -> None:
    world.submit("acme", "carol")
    world.submit("globex", "gus")
    report = world.reconciler().run(repair=False)
    assert report.checked == 2 and report.drifts == [] and not report.errors
    with world.store.read() as tx:
        last = tx.kv_get("reconcile:last")
    assert last["drift"] == 0 and last["repaired"] == 0 and last["at"]


def test_a_console_address_removed_by_staff_is_put_back(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.remove_cc(ticket_id, "alice@acme.test")
    world.staff.add_cc(ticket_id, "partner@vendor.test")
    assert _kinds(world) == {f"ccs:{ticket_id}": "outbox:repair_ccs"}

    _repair_and_settle(world)
    assert world.staff.cc_emails(ticket_id) == {"alice@acme.test", "partner@vendor.test"}  # hand-added kept
    assert world.case("acme", case_id).cc == ["alice@acme.test", "partner@vendor.test"]
    assert _kinds(world) == {}


def test_a_missed_cc_change_is_shown_after_repair(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.add_cc(ticket_id, "partner@vendor.test")
    assert _kinds(world) == {f"cc_display:{ticket_id}": "inbox"}
    _repair_and_settle(world)
    assert world.case("acme", case_id).cc == ["alice@acme.test", "partner@vendor.test"]
    assert _kinds(world) == {}


def test_a_missed_status_and_comment_are_re_read(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.reply(ticket_id, "Can you send the logs?", status="pending")
    world.tick()
    found = _kinds(world)
    assert found == {f"status:{ticket_id}": "inbox", f"comments:{ticket_id}": "inbox"}

    _repair_and_settle(world)
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.PENDING
    assert [m.body for m in case.messages][-1] == "Can you send the logs?"
    assert _kinds(world) == {}


def test_a_comment_made_private_is_withdrawn(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    comment_id = world.staff.reply(ticket_id, "Oops, internal detail")
    world.sync()
    assert len(world.case("acme", case_id).messages) == 2
    world.staff.make_private(ticket_id, comment_id)
    world.tick()
    assert _kinds(world) == {f"comments:{ticket_id}": "inbox"}
    _repair_and_settle(world)
    assert len(world.case("acme", case_id).messages) == 1
    assert _kinds(world) == {}


def test_a_deleted_ticket_closes_its_case(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.delete(ticket_id)
    assert _kinds(world) == {f"vanished:{ticket_id}": "inbox"}
    _repair_and_settle(world)
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.CLOSED and case.closed_by == "system"
    assert _kinds(world) == {}


def test_a_lost_close_is_sent_again_through_the_outbox(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.api.close("acme", case_id, "carol")
    # The close never reaches Zendesk: an operator discarded its dead letter.
    for entry in world.store.claim_outbox("lost", limit=100):
        world.store.dead_letter(entry, "lost")
        world.store.discard(entry.id)
    assert world.staff.ticket(ticket_id)["status"] != "closed"
    assert _kinds(world) == {f"status:{ticket_id}": "outbox:close"}

    before = world.stats()
    _repair_and_settle(world)
    assert world.staff.ticket(ticket_id)["status"] == "closed"
    assert "PUT /api/v2/tickets/{id}" in delta(before, world.stats())  # written by the outbox worker
    assert _kinds(world) == {}


def test_a_missed_follow_up_gets_its_case(world: World) -> None:
    source_case, source_ticket = world.submit("acme", "carol")
    world.api.close("acme", source_case, "carol")
    world.deliver()
    follow_up = world.staff.email_reply(source_ticket, "carol@acme.test", "Back again")["id"]
    world.tick()
    assert _kinds(world) == {f"follow_up:{follow_up}": "inbox"}
    _repair_and_settle(world)
    new = [c for c in world.api.list("acme") if c.ticket_id == follow_up]
    assert len(new) == 1 and new[0].refers_to == source_case
    assert _kinds(world) == {}


def test_lost_references_are_restored_from_zendesk(world: World, tmp_path: Path) -> None:
    source_case, source_ticket = world.submit("acme", "carol", "Duplicate")
    target_case, target_ticket = world.submit("acme", "alice", "Original")
    world.staff.merge(target_ticket, [source_ticket])
    world.sync()
    closed_case, _ = world.submit("acme", "carol", "Earlier")
    world.api.close("acme", closed_case, "carol")
    world.deliver()
    follow_case, follow_ticket = world.submit("acme", "carol", "Later", refers_to=closed_case)
    # Simulate a store that lost both references (e.g. restored from an old backup).
    with sqlite3.connect(tmp_path / "console.db") as db:
        db.execute("UPDATE cases SET merged_into = NULL, refers_to = NULL WHERE id IN (?, ?)",
                    (source_case, follow_case))
    assert _kinds(world) == {f"merged:{source_ticket}": f"store:merged_into={target_case}",
                             f"follow_up:{follow_ticket}": f"store:refers_to={closed_case}"}
    world.reconciler().run(repair=True)
    assert world.case("acme", source_case).merged_into == target_case
    assert world.case("acme", follow_case).refers_to == closed_case
    assert _kinds(world) == {}


def test_reads_are_bulk_not_per_ticket(world: World) -> None:
    for _ in range(150):
        world.api.submit("acme", "carol", "Bulk", "Body")
    world.deliver()
    world.tick()
    before = world.stats()
    report = world.reconciler().run(repair=False)
    spent = delta(before, world.stats())
    assert report.checked == 150 and not report.drifts
    assert spent.get("GET /api/v2/tickets/show_many") == math.ceil(150 / 100)
    assert "GET /api/v2/tickets/{id}" not in spent and "GET /api/v2/tickets/{id}/comments" not in spent
    assert spent["total"] <= 2 + 2 + 1  # tickets, CC users, one export page


def test_reconcile_command_exit_codes(world: World) -> None:
    _case_id, ticket_id = world.submit("acme", "carol")
    console = Console(record=True, width=200)
    assert reconcile_command(world.settings, repair=False, console=console) == 0

    world.staff.remove_cc(ticket_id, "alice@acme.test")
    world.tick()
    assert reconcile_command(world.settings, repair=False, console=console) == 1
    assert reconcile_command(world.settings, repair=True, console=console) == 0
    output = console.export_text()
    assert "ccs" in output and "alice@acme.test" in output and "--repair" in output
    world.deliver()
    assert reconcile_command(world.settings, repair=False, console=console) == 0

    broken = Settings(zendesk_url=world.zd.url, database_url=world.settings.database_url)
    assert reconcile_command(broken, repair=False, console=console) == 2
    assert DriftKind.CCS.value == "ccs"


def test_a_continuation_whose_ticket_is_not_a_follow_up_is_reported(world: World, tmp_path: Path) -> None:
    earlier, _ = world.submit("acme", "carol", "Earlier")
    world.api.close("acme", earlier, "carol")
    world.deliver()
    other, _ = world.submit("acme", "carol", "Unrelated")
    # A store pointing a case at the wrong predecessor: Zendesk's follow-up link says otherwise.
    with sqlite3.connect(tmp_path / "console.db") as db:
        db.execute("UPDATE cases SET refers_to = ? WHERE id = ?", (earlier, other))
    report = world.reconciler().run(repair=True)
    found = [d for d in report.drifts if d.kind is DriftKind.FOLLOW_UP]
    assert [(d.case_id, d.repair) for d in found] == [(other, "none")]
    assert f"continues case #{earlier}" in found[0].detail


def test_a_redaction_without_a_webhook_is_applied_by_reconcile(world: World) -> None:
    from tests.support.store_bytes import store_text

    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.reply(ticket_id, "Your password is Tr0ub4dor&3, change it")
    world.sync()
    comment_id = int(world.staff.comments(ticket_id)[-1]["id"])
    world.staff.put(f"tickets/{ticket_id}/comments/{comment_id}/redact", {"text": "Tr0ub4dor&3"})
    world.tick()
    assert _kinds(world) == {f"redacted:{ticket_id}": "inbox"}
    _repair_and_settle(world)
    assert world.case("acme", case_id).messages[-1].body == "Your password is ▇▇▇▇▇▇▇▇▇▇▇, change it"
    assert "Tr0ub4dor&3" not in store_text(world.store)
    assert _kinds(world) == {}


def test_a_redaction_on_a_closed_ticket_is_applied_by_reconcile(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol")
    world.staff.reply(ticket_id, "Account number 99-1234-5678", status="solved")
    world.sync()
    world.staff.status(ticket_id, "closed")
    world.sync()
    assert world.case("acme", case_id).status is CaseStatus.CLOSED
    comment_id = int(world.staff.comments(ticket_id)[-1]["id"])
    html = '<div class="zd-comment" dir="auto"><p dir="auto">Account number <redact>99-1234-5678</redact></p></div>'
    world.staff.put(f"comment_redactions/{comment_id}", {"ticket_id": ticket_id, "html_body": html})
    world.tick()
    assert _kinds(world) == {f"redacted:{ticket_id}": "inbox"}
    _repair_and_settle(world)
    assert world.case("acme", case_id).messages[-1].body == "Account number ▇▇▇▇▇▇▇▇▇▇▇▇"


def test_a_redaction_of_a_console_users_message_is_found_by_reconcile(world: World) -> None:
    # The user pasted a password into the console; staff redact it in Zendesk and the webhook is lost. The
    # comment carries casesync's marker (its echo is not imported), yet its redaction must still be seen.
    case_id, ticket_id = world.submit("acme", "carol", body="My password is hunter2-secret")
    world.sync()
    [comment] = [c for c in world.staff.comments(ticket_id) if "hunter2-secret" in c["body"]]
    world.staff.put(f"tickets/{ticket_id}/comments/{comment['id']}/redact", {"text": "hunter2-secret"})
    world.tick()
    assert _kinds(world) == {f"redacted:{ticket_id}": "inbox"}
    _repair_and_settle(world)
    assert world.case("acme", case_id).messages[0].body == "My password is ▇▇▇▇▇▇▇▇▇▇▇▇▇▇"
