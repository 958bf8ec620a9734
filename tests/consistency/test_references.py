"""Case references in every direction: follow-ups from both sides, merges, quoted ticket numbers."""

from __future__ import annotations

from mappings.models import CaseStatus
from tests.consistency.conftest import World


def _closed_case(world: World, account: str = "acme", user: str = "carol") -> tuple[int, int]:
    case_id, ticket_id = world.submit(account, user, "First problem")
    world.api.close(account, case_id, user)
    world.deliver()
    assert world.staff.ticket(ticket_id)["status"] == "closed"
    return case_id, ticket_id


def test_refers_to_on_submit_becomes_a_zendesk_follow_up(world: World) -> None:
    source_case, source_ticket = _closed_case(world)
    case_id, ticket_id = world.submit("acme", "carol", "Still broken", "Again", refers_to=source_case)

    ticket = world.staff.ticket(ticket_id)
    assert ticket["via"]["source"]["rel"] == "follow_up"
    assert ticket["via"]["source"]["from"]["ticket_id"] == source_ticket
    assert ticket_id in world.staff.ticket(source_ticket)["followup_ids"]
    assert world.case("acme", case_id).refers_to == source_case
    assert not world.reconciler().run(repair=False).drifts


def test_an_email_to_a_closed_ticket_becomes_a_case_that_continues_it(world: World) -> None:
    source_case, source_ticket = _closed_case(world)
    follow_up = world.staff.email_reply(source_ticket, "carol@acme.test", "It is back!")
    assert follow_up["id"] != source_ticket
    world.sync()

    cases = world.api.list("acme")
    new = next(c for c in cases if c.ticket_id == follow_up["id"])
    assert new.refers_to == source_case
    assert new.status is CaseStatus.NEW
    assert [m.body for m in new.messages] == ["It is back!"]
    assert world.case("acme", source_case).status is CaseStatus.CLOSED
    assert "linked_case" in world.kinds("acme")
    assert not world.reconciler().run(repair=False).drifts


def test_a_merge_closes_the_case_and_names_the_target(world: World) -> None:
    source_case, source_ticket = world.submit("acme", "carol", "Duplicate")
    target_case, target_ticket = world.submit("acme", "alice", "Original")
    world.staff.merge(target_ticket, [source_ticket])
    world.sync()

    merged = world.case("acme", source_case)
    assert merged.status is CaseStatus.CLOSED
    assert merged.merged_into == target_case
    assert merged.closed_by == "system"
    assert "merged" in world.kinds("acme")
    assert world.case("acme", target_case).status is not CaseStatus.CLOSED
    assert not world.reconciler().run(repair=False).drifts


def test_a_merge_into_another_accounts_ticket_names_no_case(world: World) -> None:
    source_case, source_ticket = world.submit("acme", "carol", "Mine")
    other_case, other_ticket = world.submit("globex", "gus", "Theirs")
    world.staff.merge(other_ticket, [source_ticket])
    world.sync()

    merged = world.case("acme", source_case)
    assert merged.status is CaseStatus.CLOSED
    assert merged.merged_into is None  # never reveal another account's case
    assert all(str(other_case) not in c.detail for c in world.api.changes(account_id="acme"))


def test_quoted_ticket_numbers_become_case_numbers_within_the_account_only(world: World) -> None:
    earlier_case, earlier_ticket = world.submit("acme", "carol", "Earlier")
    _foreign_case, foreign_ticket = world.submit("globex", "gus", "Foreign")
    case_id, ticket_id = world.submit("acme", "carol", "Now")

    world.staff.reply(ticket_id, f"Same as ticket #{earlier_ticket} (step #2), see also ticket {foreign_ticket} and "
                                 f"{world.zd.url}/agent/tickets/{earlier_ticket}.")
    world.sync()
    staff_message = world.case("acme", case_id).messages[-1]
    assert staff_message.author == "staff"
    assert staff_message.body == (f"Same as case #{earlier_case} (step #2), see also ticket {foreign_ticket} and "
                                  f"case #{earlier_case}.")


def test_user_text_goes_to_zendesk_unchanged(world: World) -> None:
    earlier_case, _ = world.submit("acme", "carol", "Earlier")
    case_id, ticket_id = world.submit("acme", "carol", "Now")
    world.api.reply("acme", case_id, "carol", f"Like case #{earlier_case} and ticket #{earlier_case}")
    world.deliver()
    comments = world.staff._ok(world.staff.http.get(f"{world.zd.url}/api/v2/tickets/{ticket_id}/comments.json"))
    assert comments["comments"][-1]["body"] == f"Like case #{earlier_case} and ticket #{earlier_case}"


def test_a_reply_racing_the_close_continues_as_a_linked_case(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "carol", "Racing")
    world.staff.status(ticket_id, "closed")
    world.api.reply("acme", case_id, "carol", "One more thing")  # the console has not seen the close yet
    world.sync()

    continued = [c for c in world.api.list("acme") if c.refers_to == case_id]
    assert len(continued) == 1
    assert continued[0].ticket_id is not None
    assert world.staff.ticket(continued[0].ticket_id)["via"]["source"]["from"]["ticket_id"] == ticket_id
    assert world.case("acme", case_id).status is CaseStatus.CLOSED
