"""``SupportCases.erase_user`` on both store backends: what is scrubbed, kept, discarded and queued."""

from __future__ import annotations

from mappings.models import CaseStatus, ChangeKind
from sync.api import SupportCases
from sync.store import OutboxKind


def test_erasure_scrubs_every_copy_and_queues_the_zendesk_deletion(world: SupportCases) -> None:
    bobs = world.submit("acme", "bob", "Bob's own subject", "bob writes walrus", idempotency_key="k1")
    anns = world.submit("acme", "ann", "Ann's case", "ann writes")
    world.reply("acme", anns.id, "bob", "bob chimes in walrus")
    with world.store.transaction() as tx:
        tx.link_user("acme", "bob", 777)
        tx.link_ticket(bobs.id, 9001)
        tx.append_change("acme", bobs.id, ChangeKind.STAFF_MESSAGE, "message 9 from Bob User")
        tx.record_conflict("cc", "bob@acme.test is odd", case_id=anns.id)
        tx.kv_set("probe", {"who": "Bob User"})
        tx.add_inbox(9001, "webhook", "d1", {"email": "BOB@acme.test", "n": 1})
        tx.set_case_cc(anns.id, ["bob@acme.test", "ann@acme.test"])

    report = world.erase_user("acme", "bob")

    assert (report.messages_erased, report.cases_closed, report.cases_kept) == (2, [bobs.id], [bobs.id])
    assert report.zendesk == "queued" and report.zendesk_user_id == 777
    assert report.idempotency_keys_removed == 1 and report.kv_removed == 1
    # the feed: the staff message and the conflict's entry
    assert report.scrubbed["feed"] == 2 and report.scrubbed["conflicts"] == 1 and report.scrubbed["inbox"] == 1
    after = world.get("acme", bobs.id)
    assert after.status == CaseStatus.CLOSED and after.subject == "[erased]"
    assert [m.body for m in after.messages] == ["[erased]"]
    assert world.get("acme", anns.id).cc == ["ann@acme.test"]
    assert world.browse("acme", query="walrus").cases == []
    changes = world.changes(account_id="acme")
    assert all("Bob User" not in c.detail for c in changes)
    assert changes[-1].kind == ChangeKind.CLOSED_BY_SYSTEM
    with world.store.read() as tx:
        pending = tx.outbox_entries(status="pending")
        assert tx.get_user("acme", "bob") is None
        assert tx.kv_get("probe") is None
    by_kind = {e.kind: e.payload for e in pending}
    assert by_kind[OutboxKind.ERASE_USER] == {"zendesk_user_id": 777}
    assert by_kind[OutboxKind.CLOSE] == {"case_id": bobs.id, "user_id": None}
    # Pending entries that would have sent the erased data are discarded, not delivered.
    assert not any(e.kind == OutboxKind.UPSERT_USER and e.payload.get("user_id") == "bob" for e in pending)
    assert not any(e.case_id == bobs.id and e.kind == OutboxKind.SUBMIT for e in pending)
    assert all("bob" not in str(e.payload).lower() for e in pending)


def test_the_other_members_keep_their_cases_and_words(world: SupportCases) -> None:
    anns = world.submit("acme", "ann", "Ann's case", "ann writes")
    world.erase_user("acme", "bob")  # bob wrote nothing
    assert world.get("acme", anns.id).messages[0].body == "ann writes"
    assert world.get("acme", anns.id).status == CaseStatus.NEW
