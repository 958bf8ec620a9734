"""Backfill (import, skip, resume, idempotency) and setup-zendesk (create once, then change nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from mappings.models import CaseStatus
from sync.consistency import Backfiller, backfill_command, setup_zendesk_command
from sync.store.kv_keys import BACKFILL_CHECKPOINT
from tests.consistency.conftest import World, delta

SINCE = datetime.now(UTC) - timedelta(days=1)


def _ids(world: World) -> tuple[int, int, int]:
    with world.store.read() as tx:
        acme = tx.get_account("acme")
        globex = tx.get_account("globex")
        carol = tx.get_user("acme", "carol")
    assert acme and globex and carol
    assert acme.zendesk_org_id and globex.zendesk_org_id and carol.zendesk_user_id
    return acme.zendesk_org_id, globex.zendesk_org_id, carol.zendesk_user_id


def _history(world: World) -> dict[str, int]:
    acme_org, globex_org, carol = _ids(world)
    staff = world.staff
    old = staff.create_ticket(subject="Old issue", requester_id=carol, organization_id=acme_org,
                              comment={"body": "Original question", "author_id": carol, "public": True})["id"]
    staff.reply(old, "Here is the answer")
    staff.reply(old, "internal: customer is grumpy", public=False)
    staff.status(old, "solved")
    # A ticket's organization must be one of its requester's: staff add Zed to Acme's organization first.
    zed = staff.post("users", {"user": {"email": "zed@acme.test", "name": "Zed Zero",
                                        "organization_id": acme_org}})["user"]["id"]
    stranger = staff.create_ticket(subject="Stranger", organization_id=acme_org, requester_id=zed,
                                   comment={"body": "Who am I?", "public": True})["id"]
    outside = staff.create_ticket(subject="Not ours", requester={"email": "x@elsewhere.test", "name": "X"},
                                  comment={"body": "Hi", "public": True})["id"]
    gus = staff.create_ticket(subject="Closed long ago", organization_id=globex_org,
                              requester={"email": "gus@globex.test"}, comment={"body": "Done", "public": True})["id"]
    staff.status(gus, "closed")
    world.tick()  # the export leaves out the most recent minute
    return {"old": old, "stranger": stranger, "outside": outside, "gus": gus}


def _case_of(world: World, ticket_id: int) -> Any:
    with world.store.read() as tx:
        case_id = tx.case_of_ticket(ticket_id)
        return tx.case(case_id) if case_id is not None else None


def test_backfill_imports_public_history_and_is_idempotent(world: World) -> None:
    tickets = _history(world)
    console = Console(record=True, width=200)
    assert backfill_command(world.settings, since=SINCE, create_users=False, console=console) == 0

    old = _case_of(world, tickets["old"])
    assert old.account_id == "acme" and old.requester_id == "carol" and old.status is CaseStatus.SOLVED
    assert [(m.author, m.body) for m in old.messages] == [("user", "Original question"),
                                                          ("staff", "Here is the answer")]
    assert _case_of(world, tickets["gus"]).status is CaseStatus.CLOSED
    assert _case_of(world, tickets["stranger"]) is None and _case_of(world, tickets["outside"]) is None
    output = console.export_text()
    assert "zed@acme.test" in output and "--create-users" in output

    cases_before = len(world.api.list("acme")) + len(world.api.list("globex"))
    again = Backfiller(world.store, world.gateway, world.settings).run(SINCE)
    assert again.imported == 0 and again.already_linked == 2
    assert len(world.api.list("acme")) + len(world.api.list("globex")) == cases_before

    created = Backfiller(world.store, world.gateway, world.settings).run(SINCE, create_users=True)
    assert created.imported == 1 and created.created_users == ["zed@acme.test"]
    stranger = _case_of(world, tickets["stranger"])
    with world.store.read() as tx:
        user = tx.get_user("acme", stranger.requester_id)
    assert user is not None and not user.admin and user.email == "zed@acme.test"
    assert "zed@acme.test" not in world.api.recipients("acme")
    world.deliver()  # the imported open tickets get the recipient list as CCs
    assert world.staff.cc_emails(tickets["stranger"]) == {"alice@acme.test"}
    # The imported cases sync on from here: a later staff reply arrives as usual.
    world.staff.reply(tickets["old"], "One more thing")
    world.sync()
    assert _case_of(world, tickets["old"]).messages[-1].body == "One more thing"
    assert not world.reconciler().run(repair=False).drifts


def test_an_interrupted_backfill_resumes_where_it_stopped(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    tickets = _history(world)
    real = world.gateway.export_tickets
    calls = {"n": 0}

    def flaky(**kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C, or the machine went away
        return real(**kw)

    monkeypatch.setattr(world.gateway, "export_tickets", flaky)
    with pytest.raises(KeyboardInterrupt):
        Backfiller(world.store, world.gateway, world.settings, per_page=1).run(SINCE, create_users=True)
    with world.store.read() as tx:
        saved = BACKFILL_CHECKPOINT.get(tx)
    assert saved and saved.cursor
    done_before = saved.imported + saved.already_linked + saved.not_console
    assert 0 < done_before < 4

    monkeypatch.setattr(world.gateway, "export_tickets", real)
    resumed = Backfiller(world.store, world.gateway, world.settings, per_page=1).run(SINCE, create_users=True)
    assert resumed.resumed and resumed.imported == 3 and resumed.not_console == 1
    for name in ("old", "stranger", "gus"):
        assert _case_of(world, tickets[name]) is not None
    with world.store.read() as tx:
        assert BACKFILL_CHECKPOINT.get(tx) is None
        assert len(tx.linked_cases()) == 3


WRITES = ("POST", "PUT", "PATCH", "DELETE")


def test_setup_zendesk_creates_once_then_changes_nothing(world: World) -> None:
    console = Console(record=True, width=200)
    assert setup_zendesk_command(world.settings, console=console) == 0
    first = console.export_text()
    assert "CASESYNC_CONSOLE_CASE_FIELD_ID=" in first and "CASESYNC_WEBHOOK_SECRET" in first
    assert "created" in first

    before = world.stats()
    assert setup_zendesk_command(world.settings, console=console) == 0
    spent = delta(before, world.stats())
    assert not [route for route in spent if route.startswith(WRITES)], spent
    assert "found" in console.export_text()

    hooks = world.gateway.webhooks()
    assert len(hooks) == 1
    assert hooks[0].endpoint == "https://casesync.example.test/webhooks/zendesk"
    assert "zen:event-type:ticket.comment_added" in hooks[0].subscriptions
    assert [f.title for f in world.gateway.ticket_fields()].count("Console case") == 1


def test_setup_zendesk_says_clearly_when_ccs_are_off(world: World) -> None:
    world.zd.set_ccs_enabled(False)
    console = Console(record=True, width=200)
    assert setup_zendesk_command(world.settings, console=console) == 1
    assert "CCs and followers are DISABLED" in console.export_text()


def test_setup_zendesk_needs_the_public_url(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    console = Console(record=True, width=200)
    settings = world.settings.model_copy(update={"public_url": None})
    assert setup_zendesk_command(settings, console=console) == 2
    assert console.export_text() == ""  # the result's stream carries no error
    assert "CASESYNC_PUBLIC_URL" in capsys.readouterr().err
