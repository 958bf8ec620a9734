"""What staff and end users do in Zendesk reaches the console — once, and never an internal note."""

from __future__ import annotations

from typing import Any

import pytest

from mappings.models import CaseStatus
from sync.errors import ServerUnavailable
from sync.web.webhooks import WebhookHint

from .conftest import World


def test_public_reply_becomes_a_staff_message_with_the_agents_first_name(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.reply(ticket_id, "We are on it.", status="open")
    world.sync()
    case = world.case("acme", case_id)
    assert [(m.author, m.author_name, m.body) for m in case.messages][1:] == [("staff", "Bob", "We are on it.")]
    assert case.status is CaseStatus.OPEN
    assert world.kinds("acme") == ["staff_message", "status"]
    # Nothing new: a second sync changes nothing (no duplicate, no echo of the user's first message).
    world.sync()
    assert len(world.case("acme", case_id).messages) == 2
    assert world.kinds("acme") == ["staff_message", "status"]


def test_staff_name_settings(sandbox: object, tmp_path: object) -> None:
    from pathlib import Path

    from sync.sandbox import Sandbox

    assert isinstance(sandbox, Sandbox) and isinstance(tmp_path, Path)
    for style, expected in (("full_name", "Bob Builder"), ("team", "Acme Support")):
        sandbox.reset()
        world = World(sandbox, tmp_path / f"{style}.db", staff_name=style, staff_team_name="Acme Support")
        world.account("acme", ("alice", "alice@acme.test", "Alice Liddell"))
        case_id, ticket_id = world.submit("acme", "alice")
        world.staff.reply(ticket_id, "Hello")
        world.sync()
        assert world.case("acme", case_id).messages[-1].author_name == expected
        world.close()


def test_internal_note_and_its_attachment_never_reach_the_console(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    token = world.staff.upload("secret.txt", b"internal only")
    world.staff.note(ticket_id, "NOTE customer is difficult", uploads=[token])
    shown = world.staff.upload("fix.txt", b"the fix")
    world.staff.reply(ticket_id, "Here is the fix", uploads=[shown])
    world.sync()
    case = world.case("acme", case_id)
    assert all("NOTE" not in m.body for m in case.messages)
    staff = case.messages[-1]
    assert staff.body == "Here is the fix"
    assert [(a.filename, a.size) for a in staff.attachments] == [("fix.txt", 7)]
    assert world.api.attachment("acme", case_id, staff.attachments[0].id) == b"the fix"
    with world.store.read() as tx:
        names = [a.filename for m in tx.case_messages(case_id, include_withdrawn=True) for a in m.attachments]
    assert "secret.txt" not in names


def test_statuses_pending_solved_hold_reopen_and_auto_close(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    seen = []
    for zendesk, console in (("pending", "Pending"), ("hold", "Open"), ("solved", "Solved"), ("open", "Open"),
                             ("solved", "Solved")):
        world.staff.status(ticket_id, zendesk)
        world.sync()
        seen.append(world.case("acme", case_id).status.value)
        assert seen[-1] == console, (zendesk, seen)
    # Zendesk's automation closes solved tickets after auto_close_hours (96 h in the sandbox).
    world.tick(97 * 3600)
    world.sync()
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.CLOSED and case.closed_by == "system"
    assert world.kinds("acme")[-1] == "closed_by_system"


def test_staff_closing_a_solved_ticket_is_recorded_as_staffs_close(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.status(ticket_id, "solved")
    world.sync()
    assert world.case("acme", case_id).status is CaseStatus.SOLVED
    # An agent closes it (not Zendesk's auto-close): the event export names the agent as the updater.
    world.staff.status(ticket_id, "closed")
    world.sync()
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.CLOSED and case.closed_by == "staff"
    assert world.kinds("acme")[-2:] == ["status", "status"]


@pytest.mark.parametrize(("closer", "actor", "kind"), [("staff", "staff", "status"),
                                                       ("automation", "system", "closed_by_system")])
def test_who_closed_a_solved_ticket_is_read_from_the_events_when_a_webhook_hint_comes_first(
    world: World, closer: str, actor: str, kind: str
) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.status(ticket_id, "solved")
    world.sync()
    if closer == "staff":
        world.staff.status(ticket_id, "closed")
    else:
        world.tick(97 * 3600)  # Zendesk's automation closes solved tickets after auto_close_hours
    assert world.staff.ticket(ticket_id)["status"] == "closed"
    from sync.inbound import webhook_sink

    assert webhook_sink(world.store)(WebhookHint(ticket_id=ticket_id, event_id=f"evt-close-{closer}"))
    world.inbox.run_once()
    # The ticket alone cannot tell an agent's close from the automation's: the close waits for the events.
    assert world.case("acme", case_id).status is CaseStatus.SOLVED
    world.sync()
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.CLOSED and case.closed_by == actor
    assert world.kinds("acme")[-1] == kind
    assert world.kinds("acme").count(kind) == (2 if kind == "status" else 1)


def test_a_close_the_poller_has_already_passed_is_applied_by_the_hint_at_once(world: World) -> None:
    import base64

    from sync.inbound import webhook_sink
    from sync.inbound.poller import TICKETS_CURSOR

    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.status(ticket_id, "solved")
    world.sync()
    world.staff.status(ticket_id, "closed")
    # The poller's ticket cursor already lies after the close (a store restored, a later poll start): only the
    # hint (a reconcile's, a webhook's) brings it, so the close is not left for the poller.
    later = int(world.poller.zendesk_now().timestamp()) + 5
    with world.store.transaction() as tx:
        tx.set_cursor(TICKETS_CURSOR, base64.b64encode(f"{later}.0||{ticket_id}|".encode()).decode())
    assert webhook_sink(world.store)(WebhookHint(ticket_id=ticket_id, event_id="evt-close-passed"))
    world.inbox.run_once()
    assert world.case("acme", case_id).status is CaseStatus.CLOSED


class _FailingFor:
    """An applier failing for one ticket (a 503 while applying it), the real one for the others."""

    def __init__(self, real: Any, ticket_id: int) -> None:
        self.real, self.ticket_id = real, ticket_id

    def apply(self, ticket: Any, comments: Any, **kw: Any) -> Any:
        if ticket.id == self.ticket_id:
            raise ServerUnavailable("GET /api/v2/users/show_many.json: HTTP 503", status=503)
        return self.real.apply(ticket, comments, **kw)


def test_a_staff_close_the_poller_failed_to_apply_is_still_staffs_when_its_hint_applies_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sync.inbound.poller import poller_will_read

    case_id, ticket_id = world.submit("acme", "alice")
    _, other_ticket = world.submit("acme", "carol")
    world.staff.status(ticket_id, "solved")
    world.sync()
    world.staff.status(ticket_id, "closed")
    world.zd.advance_clock(2)
    world.staff.reply(other_ticket, "Later work on another ticket")
    with monkeypatch.context() as patch:
        patch.setattr(world.poller, "applier", _FailingFor(world.applier, ticket_id))
        assert world.poll().errors  # the close goes to the inbox as a hint; the cursors move on
    assert world.case("acme", case_id).status is CaseStatus.SOLVED
    assert not poller_will_read(world.store, world.gateway.get_ticket(ticket_id))
    world.inbox.run_once()
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.CLOSED and case.closed_by == "staff"
    world.sync()
    assert world.case("acme", case_id).closed_by == "staff"


def test_merge_closes_the_source_case_with_merged_into(world: World) -> None:
    source_case, source_ticket = world.submit("acme", "alice", "First")
    target_case, target_ticket = world.submit("acme", "alice", "Second")
    world.staff.merge(target_ticket, [source_ticket])
    world.sync()
    source = world.case("acme", source_case)
    assert source.status is CaseStatus.CLOSED and source.closed_by == "system"
    assert source.merged_into == target_case
    assert "merged" in world.kinds("acme")
    # The merge notes are internal: nothing new on the target case.
    assert len(world.case("acme", target_case).messages) == 1


def test_deleted_ticket_closes_its_case_with_a_reason(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.delete(ticket_id)
    world.sync()
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.CLOSED and case.closed_by == "system"
    with world.store.read() as tx:
        record = tx.get_case(case_id)
    assert record is not None and "deleted" in (record.closed_reason or "")
    assert world.kinds("acme")[-1] == "closed_by_system"


def test_deleted_ticket_seen_through_a_webhook_hint(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.delete(ticket_id)
    from sync.inbound import webhook_sink

    assert webhook_sink(world.store)(WebhookHint(ticket_id=ticket_id, event_id="evt-del"))
    world.inbox.run_once()
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.CLOSED and case.closed_by == "system"


def test_comment_made_private_after_import_is_withdrawn(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    comment_id = world.staff.reply(ticket_id, "Oops, wrong customer")
    world.sync()
    assert world.case("acme", case_id).messages[-1].body == "Oops, wrong customer"
    world.staff.make_private(ticket_id, comment_id)
    world.sync()
    assert [m.body for m in world.case("acme", case_id).messages] == ["It broke"]
    assert world.kinds("acme")[-1] == "withdrawn_message"
    world.sync()
    assert world.kinds("acme").count("withdrawn_message") == 1


def test_cc_added_by_staff_is_shown_on_the_case(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.add_cc(ticket_id, "vendor@partner.test")
    world.sync()
    assert "vendor@partner.test" in world.case("acme", case_id).cc


def test_ticket_moved_to_another_accounts_organization_is_a_conflict(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    with world.store.read() as tx:
        globex = tx.get_account("globex")
    assert globex is not None and globex.zendesk_org_id is not None
    world.staff.move_to_organization(ticket_id, globex.zendesk_org_id, status="pending",
                                     comment={"body": "moved", "public": True})
    world.sync()
    case = world.case("acme", case_id)
    assert case.status is CaseStatus.NEW and len(case.messages) == 1
    assert world.kinds("acme") == ["conflict"]
    assert world.api.changes(account_id="globex") == []
    world.sync()
    assert world.kinds("acme") == ["conflict"]  # recorded once


def test_a_requester_of_another_account_brings_its_organization_and_is_a_conflict(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.submit("globex", "gus")
    world.sync()
    with world.store.read() as tx:
        gus = tx.get_user("globex", "gus")
        globex = tx.get_account("globex")
    assert gus is not None and gus.zendesk_user_id is not None and globex is not None
    moved = world.staff.update(ticket_id, requester_id=gus.zendesk_user_id,
                               comment={"body": "this is Gus's problem", "public": True})["ticket"]
    assert moved["organization_id"] == globex.zendesk_org_id  # Zendesk: the new requester's organization
    world.sync()
    case = world.case("acme", case_id)
    assert case.account_id == "acme" and len(case.messages) == 1
    assert world.kinds("acme") == ["conflict"]
    assert not [c for c in world.api.list("globex") if c.ticket_id == ticket_id]
    assert all(c.case_id != case_id for c in world.api.changes(account_id="globex"))


def test_a_follow_up_for_another_accounts_requester_is_one_conflict_however_often_it_changes(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.submit("globex", "gus")
    world.api.close("acme", case_id, "alice")
    world.sync()
    with world.store.read() as tx:
        gus = tx.get_user("globex", "gus")
        globex = tx.get_account("globex")
    assert gus is not None and gus.zendesk_user_id is not None and globex is not None
    response = world.staff.http.post(f"{world.zd.url}/api/v2/tickets.json", json={"ticket": {
        "via_followup_source_id": ticket_id, "requester_id": gus.zendesk_user_id,
        "organization_id": globex.zendesk_org_id, "comment": {"body": "Same problem here", "public": True}}})
    response.raise_for_status()
    followup = response.json()["ticket"]["id"]
    world.sync()
    before = [c.kind.value for c in world.api.changes(account_id="acme")]
    assert before.count("conflict") == 1
    for n in range(3):  # the follow-up keeps changing in Zendesk: it is still the same conflict
        world.staff.update(followup, comment={"body": f"update {n}", "public": True})
        world.sync()
    after = [c.kind.value for c in world.api.changes(account_id="acme")]
    assert after.count("conflict") == 1
    assert not [c for c in world.api.list("acme") if c.ticket_id == followup]
    assert world.api.changes(account_id="globex") == []


def test_end_user_email_reply_to_open_and_to_closed_ticket(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.reply(ticket_id, "Which version?", status="pending")
    world.sync()
    world.staff.email_reply(ticket_id, "alice@acme.test", "Version 2")
    world.sync()
    case = world.case("acme", case_id)
    assert (case.messages[-1].author, case.messages[-1].author_name, case.messages[-1].body) == (
        "user", "Alice Liddell", "Version 2")
    assert case.status is CaseStatus.OPEN

    world.api.close("acme", case_id, "alice")
    world.sync()
    followup = world.staff.email_reply(ticket_id, "alice@acme.test", "It broke again")
    world.sync()
    cases = world.api.list("acme")
    new = [c for c in cases if c.refers_to == case_id]
    assert len(new) == 1 and new[0].ticket_id == followup["id"]
    assert [m.body for m in new[0].messages] == ["It broke again"]
    assert new[0].messages[0].author == "user"
    assert "linked_case" in world.kinds("acme")
    assert world.case("acme", case_id).status is CaseStatus.CLOSED


def test_ticket_references_are_translated_only_within_the_account(world: World) -> None:
    first_case, first_ticket = world.submit("acme", "alice", "Old")
    _, foreign_ticket = world.submit("globex", "gus", "Theirs")
    case_id, ticket_id = world.submit("acme", "alice", "New")
    text = f"Same as ticket #{first_ticket}; unlike ticket #{foreign_ticket}; error code #{first_ticket}."
    world.staff.reply(ticket_id, text)
    world.sync()
    body = world.case("acme", case_id).messages[-1].body
    assert body == f"Same as case #{first_case}; unlike ticket #{foreign_ticket}; error code #{first_ticket}."


def test_console_reply_is_not_imported_back(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.reply(ticket_id, "Need logs", status="pending")
    world.sync()
    world.api.reply("acme", case_id, "alice", "Here are the logs")
    world.sync()
    case = world.case("acme", case_id)
    assert [m.body for m in case.messages] == ["It broke", "Need logs", "Here are the logs"]
    assert case.status is CaseStatus.OPEN
    public = [c for c in world.staff.comments(ticket_id) if c["public"]]
    assert len(public) == 3
    assert "user_message" not in world.kinds("acme")


def test_unmanaged_tickets_are_ignored(world: World) -> None:
    world.staff.http.post(f"{world.zd.url}/api/v2/tickets.json",
                          json={"ticket": {"subject": "phone call", "comment": {"body": "hi"}}})
    world.sync()
    assert world.api.changes() == []
    assert world.store.counts().cases == 0


def test_engine_pass_delivers_and_applies(world: World) -> None:
    engine_module = pytest.importorskip("sync.engine")
    engine = engine_module.SyncEngine(world.settings, store=world.store, gateway=world.gateway)
    case = world.api.submit("acme", "carol", "Engine", "via the engine")
    engine.run_once()
    ticket_id = world.case("acme", case.id).ticket_id
    assert ticket_id is not None
    world.staff.reply(ticket_id, "Solved it", status="solved")
    world.tick()
    report = engine.run_once()
    assert report.errors == [] and report.inbound_applied >= 2
    after = world.case("acme", case.id)
    assert after.status is CaseStatus.SOLVED and after.messages[-1].body == "Solved it"
