"""Regressions found by the chaos run: races between staff actions in Zendesk and casesync's passes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sync.inbound import webhook_sink
from sync.web.webhooks import WebhookHint

from .conftest import World


def _private_then_updated(world: World) -> tuple[int, int]:
    """A staff reply imported, the export cursors moved past it, then made private and the ticket updated again
    (so the ticket's latest change has an audit)."""
    case_id, ticket_id = world.submit("acme", "alice")
    comment_id = world.staff.reply(ticket_id, "Oops, wrong customer")
    world.sync()
    assert [m.body for m in world.case("acme", case_id).messages] == ["It broke", "Oops, wrong customer"]
    world.tick(120)
    world.submit("acme", "carol")  # other work moves both export cursors past the comment's audit
    world.sync()
    world.staff.make_private(ticket_id, comment_id)
    world.zd.advance_clock(2)
    world.staff.reply(ticket_id, "Here is the real answer")
    return case_id, ticket_id


def test_comment_made_private_then_updated_is_withdrawn_through_the_webhook_hint(world: World) -> None:
    case_id, ticket_id = _private_then_updated(world)
    # The hint of ``zen:event-type:ticket.comment_made_private`` (setup-zendesk subscribes to it).
    assert webhook_sink(world.store)(
        WebhookHint(ticket_id=ticket_id, event_id="evt-private", event_type="ticket.comment_made_private")
    )
    world.inbox.run_once()
    world.sync()
    assert [m.body for m in world.case("acme", case_id).messages] == ["It broke", "Here is the real answer"]
    assert world.kinds("acme").count("withdrawn_message") == 1


def test_comment_made_private_then_updated_is_withdrawn_by_the_poller_alone(world: World) -> None:
    case_id, _ticket_id = _private_then_updated(world)
    world.sync()
    assert [m.body for m in world.case("acme", case_id).messages] == ["It broke", "Here is the real answer"]


def test_follow_up_emailed_before_the_sources_close_is_applied_becomes_one_case(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.status(ticket_id, "closed")
    # The requester answers the closed ticket before casesync has applied its close: Zendesk makes a follow-up.
    followup = world.staff.email_reply(ticket_id, "alice@acme.test", "It broke again")
    assert webhook_sink(world.store)(WebhookHint(ticket_id=followup["id"], event_id="evt-fu"))
    world.inbox.run_once()
    world.sync()
    world.sync()
    new = [c for c in world.api.list("acme") if c.refers_to == case_id]
    assert len(new) == 1 and new[0].ticket_id == followup["id"]
    assert [m.body for m in new[0].messages] == ["It broke again"]
    assert world.case("acme", case_id).status.value == "Closed"


def test_follow_up_emailed_while_a_console_reply_is_queued_becomes_one_case(world: World) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.staff.status(ticket_id, "closed")
    world.api.reply("acme", case_id, "alice", "One more thing")  # queued: the console has not seen the close
    followup = world.staff.email_reply(ticket_id, "alice@acme.test", "It broke again")
    world.sync()
    world.sync()
    new = [c for c in world.api.list("acme") if c.refers_to == case_id]
    by_ticket = {c.ticket_id: c for c in new}
    assert followup["id"] in by_ticket, [(c.id, c.ticket_id, [m.body for m in c.messages]) for c in new]
    assert [m.body for m in by_ticket[followup["id"]].messages] == ["It broke again"]
    # Every follow-up ticket is one case, never two (the queued reply continues on a follow-up of its own).
    assert len(by_ticket) == len(new) == len(world.staff.ticket(ticket_id)["followup_ids"])


def _moved_then_made_private(world: World) -> tuple[int, int]:
    """A staff reply imported, then the ticket moved to another account's organization (a conflict: nothing
    of it applies to the case any more), then the reply made private."""
    case_id, ticket_id = world.submit("acme", "alice")
    comment_id = world.staff.reply(ticket_id, "Oops, wrong customer")
    world.sync()
    with world.store.read() as tx:
        globex = tx.get_account("globex")
    assert globex is not None and globex.zendesk_org_id is not None
    world.staff.move_to_organization(ticket_id, globex.zendesk_org_id)
    world.sync()
    assert world.kinds("acme")[-1] == "conflict"
    world.staff.make_private(ticket_id, comment_id)
    return case_id, ticket_id


def test_a_comment_made_private_on_a_ticket_moved_to_another_account_is_withdrawn_by_the_poller(world: World) -> None:
    case_id, _ticket_id = _moved_then_made_private(world)
    world.sync()
    assert [m.body for m in world.case("acme", case_id).messages] == ["It broke"]
    assert world.kinds("acme").count("withdrawn_message") == 1
    assert world.kinds("acme").count("conflict") == 1
    assert world.api.changes(account_id="globex") == []


def test_a_comment_made_private_on_a_ticket_moved_to_another_account_is_withdrawn_through_the_hint(
    world: World,
) -> None:
    case_id, ticket_id = _moved_then_made_private(world)
    assert webhook_sink(world.store)(
        WebhookHint(ticket_id=ticket_id, event_id="evt-moved-private", event_type="ticket.comment_made_private")
    )
    world.inbox.run_once()
    assert [m.body for m in world.case("acme", case_id).messages] == ["It broke"]
    world.sync()
    assert world.kinds("acme").count("withdrawn_message") == 1
    assert world.api.changes(account_id="globex") == []


def _email_follow_up(world: World, ticket_id: int) -> int:
    """The requester answers the closed ticket by email: Zendesk makes a follow-up, and casesync syncs it."""
    followup = int(world.staff.email_reply(ticket_id, "alice@acme.test", "It broke again")["id"])
    world.sync()
    world.sync()
    return followup


def _join_list_as_admin(world: World) -> str:
    world.api.upsert_user("acme", "carol", "carol@acme.test", "Carol Jones", admin=True)
    return "carol@acme.test"


def _leave_list_as_admin(world: World) -> None:
    world.api.upsert_user("acme", "carol", "carol@acme.test", "Carol Jones", admin=False)


def _join_list_as_registered(world: World) -> str:
    world.api.add_recipient("acme", "it-desk@acme.test")
    return "it-desk@acme.test"


def _leave_list_as_registered(world: World) -> None:
    world.api.remove_recipient("acme", "it-desk@acme.test")


@pytest.mark.parametrize(
    ("join", "leave"),
    [(_join_list_as_admin, _leave_list_as_admin), (_join_list_as_registered, _leave_list_as_registered)],
    ids=["a user's address", "a registered address"],
)
def test_a_follow_up_drops_an_address_that_left_the_list_while_the_closed_case_lagged(
    world: World, join: Callable[[World], str], leave: Callable[[World], None]
) -> None:
    address = join(world)
    case_id, ticket_id = world.submit("acme", "alice")
    world.sync()
    assert world.staff.cc_emails(ticket_id) == {address}
    world.staff.status(ticket_id, "closed")
    world.sync()
    # The closed case's ``cc`` lags behind its ticket (an older snapshot applied last): it does not name it.
    with world.store.transaction() as tx:
        tx.set_case_cc(case_id, [])
    leave(world)  # while the ticket is closed: no closed ticket is updated
    world.sync()
    followup = int(world.staff.email_reply(ticket_id, "alice@acme.test", "It broke again")["id"])
    assert address in world.staff.cc_emails(followup), "Zendesk copies the closed ticket's CCs"
    world.sync()
    world.sync()
    [new] = [c for c in world.api.list("acme") if c.refers_to == case_id]
    assert new.ticket_id == followup
    assert world.staff.cc_emails(followup) == set()
    assert new.cc == []


def test_a_follow_up_keeps_the_colleague_who_wrote_on_the_closed_case_but_not_the_closed_tickets_other_ccs(
    world: World,
) -> None:
    case_id, ticket_id = world.submit("acme", "alice")
    world.api.reply("acme", case_id, "carol", "Same here")  # carol is CC'd for writing on alice's case
    world.sync()
    world.staff.add_cc(ticket_id, "partner@vendor.test")
    world.staff.status(ticket_id, "closed")
    world.sync()
    assert world.staff.cc_emails(ticket_id) == {"carol@acme.test", "partner@vendor.test"}
    # The partner was CC'd by hand on another ticket: the follow-up is the console's list and its writers.
    assert world.staff.cc_emails(_email_follow_up(world, ticket_id)) == {"carol@acme.test"}


def test_an_address_back_on_the_list_is_the_lists_again_on_a_follow_up(world: World) -> None:
    world.api.add_recipient("acme", "it-desk@acme.test")
    world.api.remove_recipient("acme", "it-desk@acme.test")
    world.api.add_recipient("acme", "it-desk@acme.test")
    _case_id, ticket_id = world.submit("acme", "alice")
    world.sync()
    world.staff.status(ticket_id, "closed")
    world.sync()
    assert world.staff.cc_emails(_email_follow_up(world, ticket_id)) == {"it-desk@acme.test"}
