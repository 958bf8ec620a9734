"""``SupportCases.erase_user`` end to end: the store scrubbed down to the database file's bytes, the cases kept
(closed) for the account's other members, and the Zendesk user deleted then permanently deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.models import Attachment, CaseStatus
from sync.errors import UnknownUser
from sync.sandbox import Sandbox
from sync.store.kv_keys import FORMER_RECIPIENTS
from tests.support.zendesk import Console

EMAIL = "bob.erasable@acme.test"
NAME = "Bob Erasable"
SECRETS = ("zebra-quartz-42", "marker-on-carols-case-77", "BOB-ATTACHMENT-BYTES-0042")


def _file_bytes(db: Path) -> bytes:
    """The database file and its WAL and shared-memory files, as they are on disk."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))


@pytest.fixture
def world(zd: Sandbox, tmp_path: Path) -> Console:
    console = Console(zd, tmp_path / "casesync.db")
    console.account(
        "acme", ("ann", "ann@acme.test", "Ann Admin"), ("bob", EMAIL, NAME), ("carol", "carol@acme.test", "Carol C")
    )
    console.account("beta", ("dan", "dan@beta.test", "Dan D"))
    console.deliver()
    return console


def test_erasure_removes_the_users_data_from_the_store_and_from_zendesk(world: Console, tmp_path: Path) -> None:
    api = world.api
    bobs = api.submit(
        "acme", "bob", "Login loops", f"my passphrase is {SECRETS[0]}",
        attachments=[Attachment(filename="trace.txt", content_type="text/plain", data=SECRETS[2].encode())],
    )
    carols = api.submit("acme", "carol", "Printer", "carol's printer jams")
    api.reply("acme", carols.id, "bob", f"same here {SECRETS[1]}")
    api.reply("acme", bobs.id, "carol", "carol adds a detail")
    api.submit("beta", "dan", "Other account", f"dan mentions {NAME} and {EMAIL}")
    world.sync()
    bobs_ticket = api.get("acme", bobs.id).ticket_id
    assert bobs_ticket is not None
    world.staff.reply(bobs_ticket, f"Hi {NAME}, we wrote to {EMAIL}")
    world.sync()
    with world.store.read() as tx:
        zendesk_user = tx.get_user("acme", "bob")
    assert zendesk_user is not None and zendesk_user.zendesk_user_id is not None
    assert NAME.encode() in _file_bytes(tmp_path / "casesync.db")  # the check below can fail

    report = api.erase_user("acme", "bob")

    assert report.messages_erased == 2 and report.attachments_removed == 1
    assert report.cases_closed == [bobs.id] and report.cases_kept == [bobs.id]
    assert report.zendesk == "queued" and report.zendesk_user_id == zendesk_user.zendesk_user_id
    assert report.scrubbed["messages"] >= 1  # the staff reply that named them
    # Their case stays, closed, for the others; what they wrote reads as erased; the others' words stay.
    kept = api.get("acme", bobs.id)
    assert kept.status == CaseStatus.CLOSED and kept.closed_by == "system"
    assert [(m.author_name, m.body) for m in kept.messages if m.author == "user"] == [
        ("Erased user", "[erased]"), ("Carol C", "carol adds a detail"),
    ]
    assert kept.messages[-1].body == "Hi [erased], we wrote to [erased]"
    assert [m.body for m in api.get("acme", carols.id).messages] == ["carol's printer jams", "[erased]"]
    assert api.browse("acme", query=SECRETS[0]).cases == [] and api.browse("acme", query="jams").cases
    assert EMAIL not in api.recipients("acme")
    with pytest.raises(UnknownUser):
        api.reply("acme", carols.id, "bob", "still there?")
    with pytest.raises(UnknownUser):
        api.erase_user("acme", "bob")

    world.sync()  # the outbox deletes, then permanently deletes, the Zendesk user
    deleted = world.staff.get("deleted_users")["deleted_users"]
    [gone] = [u for u in deleted if u["id"] == zendesk_user.zendesk_user_id]
    assert (gone["name"], gone["email"]) == ("Permanently Deleted User", None)
    assert world.staff.http.get(f"{world.zd.url}/api/v2/deleted_users/{gone['id']}.json").status_code == 404
    assert world.api.get("acme", bobs.id).status == CaseStatus.CLOSED

    world.close()
    on_disk = _file_bytes(tmp_path / "casesync.db").lower()
    for needle in (EMAIL, NAME, *SECRETS):
        assert needle.lower().encode() not in on_disk, needle


def test_a_user_never_synced_is_erased_without_a_zendesk_call(world: Console) -> None:
    world.api.upsert_user("acme", "eve", "eve@acme.test", "Eve New")
    case = world.api.submit("acme", "eve", "Hello", "first words of eve")
    report = world.api.erase_user("acme", "eve")
    assert report.zendesk == "not_linked" and report.outbox_discarded == 2  # her user and her case
    assert report.cases_closed == [case.id]
    world.sync()
    assert world.api.get("acme", case.id).ticket_id is None  # her case never reached Zendesk
    assert all("eve" not in (t.get("subject") or "").lower() for t in world.staff.tickets())


def test_another_accounts_user_is_unknown(world: Console) -> None:
    with pytest.raises(UnknownUser):
        world.api.erase_user("beta", "bob")


def test_the_zendesk_deletion_is_retried_until_it_is_done(world: Console, zd: Sandbox) -> None:
    world.submit("acme", "carol", "Hello", "a case so carol is known to Zendesk")
    with world.store.read() as tx:
        carol = tx.get_user("acme", "carol")
    assert carol is not None and carol.zendesk_user_id is not None
    report = world.api.erase_user("acme", "carol")
    failing = {"path": "/api/v2/deleted_users/", "method": "DELETE", "error_503": 1.0}
    zd.configure_faults({"seed": 1, "rules": [failing]})
    world.deliver()
    with world.store.read() as tx:
        entry = tx.outbox_entry(report.outbox_entry_id or 0)
    assert entry is not None and entry.status == "pending" and entry.attempts >= 1  # retried, not dead
    zd.configure_faults({"rules": []})
    world.clock.advance(3600)  # past any backoff
    world.deliver()
    with world.store.read() as tx:
        entry = tx.outbox_entry(report.outbox_entry_id or 0)
    assert entry is not None and entry.status == "done"
    [gone] = [u for u in world.staff.get("deleted_users")["deleted_users"] if u["id"] == carol.zendesk_user_id]
    assert gone["name"] == "Permanently Deleted User"


def test_an_erased_admins_address_is_not_remembered_as_a_former_recipient(world: Console) -> None:
    world.api.upsert_user("acme", "eve", "eve@acme.test", "Eve Admin", admin=True)
    world.api.upsert_user("acme", "eve", "eve@acme.test", "Eve Admin", admin=False)  # off the list
    with world.store.read() as tx:
        assert FORMER_RECIPIENTS.get(tx, "acme") == ("eve@acme.test",)
    world.api.erase_user("acme", "eve")
    with world.store.read() as tx:
        assert "eve@acme.test" not in (FORMER_RECIPIENTS.get(tx, "acme") or ())
