"""SupportCases on both backends: each method's effect on the console side and the outbox entry it queues."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from mappings.models import Account, Attachment, CaseStatus, ChangeKind, User
from sync.api import SupportCases
from sync.settings import Settings
from sync.store import OutboxEntry, Store


def _outbox(support: SupportCases, key: str | None = None) -> list[OutboxEntry]:
    with support.store.read() as tx:
        return tx.outbox_entries(ordering_key=key)


def _staff_sets(store: Store, case_id: int, status: CaseStatus) -> None:
    """What the inbound worker does when staff change the status in Zendesk."""
    with store.transaction() as tx:
        tx.set_case_status(case_id, status, closed_by="staff" if status == CaseStatus.CLOSED else None)


def test_upsert_account_queues_create_and_rename_only_when_something_changed(support: SupportCases) -> None:
    assert support.upsert_account("acme", "Acme") == Account(id="acme", name="Acme")
    assert support.upsert_account("acme", "Acme") == Account(id="acme", name="Acme")
    assert support.upsert_account("acme", "Acme Inc") == Account(id="acme", name="Acme Inc")
    entries = _outbox(support, "account:acme")
    assert [(e.kind, e.payload) for e in entries] == [
        ("upsert_account", {"account_id": "acme", "previous_name": None}),
        ("upsert_account", {"account_id": "acme", "previous_name": "Acme"}),
    ]


def test_upsert_user_create_update_email_change_and_promotion(support: SupportCases) -> None:
    support.upsert_account("acme", "Acme")
    user = support.upsert_user("acme", "bob", "Bob@Acme.test", "Bob")
    assert user == User(account_id="acme", id="bob", email="Bob@Acme.test", name="Bob", admin=False)
    assert support.recipients("acme") == []
    support.upsert_user("acme", "bob", "Bob@Acme.test", "Bob")  # no change, nothing queued
    support.upsert_user("acme", "bob", "robert@acme.test", "Bob")  # identity change
    support.upsert_user("acme", "bob", "robert@acme.test", "Bob", admin=True)  # promotion
    assert support.recipients("acme") == ["robert@acme.test"]
    support.upsert_user("acme", "bob", "rob@acme.test", "Bob", admin=True)  # an admin's address changes
    support.upsert_user("acme", "bob", "rob@acme.test", "Bob", admin=False)  # demotion
    assert support.recipients("acme") == []
    # A user's changes have their own ordering key; the recipient list stays the account's.
    entries = sorted(_outbox(support, "account:acme") + _outbox(support, "user:acme:bob"), key=lambda e: e.id)
    got = [(e.kind, e.payload) for e in entries][1:]
    user_entry = {"account_id": "acme", "user_id": "bob", "created": False}
    assert got == [
        ("upsert_user", {**user_entry, "email": "Bob@Acme.test", "previous_email": None, "created": True}),
        ("upsert_user", {**user_entry, "email": "robert@acme.test", "previous_email": "Bob@Acme.test"}),
        ("upsert_user", {**user_entry, "email": "robert@acme.test", "previous_email": None}),
        ("recipients_changed", {"account_id": "acme", "added": ["robert@acme.test"], "removed": []}),
        ("upsert_user", {**user_entry, "email": "rob@acme.test", "previous_email": "robert@acme.test"}),
        ("recipients_changed", {"account_id": "acme", "added": ["rob@acme.test"], "removed": ["robert@acme.test"]}),
        ("upsert_user", {**user_entry, "email": "rob@acme.test", "previous_email": None}),
        ("recipients_changed", {"account_id": "acme", "added": [], "removed": ["rob@acme.test"]}),
    ]


def test_recipient_list_add_remove(world: SupportCases) -> None:
    assert world.recipients("acme") == ["ann@acme.test"]
    assert world.add_recipient("acme", "Ops@Acme.test") == ["ann@acme.test", "ops@acme.test"]
    assert world.add_recipient("acme", "ops@acme.test") == ["ann@acme.test", "ops@acme.test"]
    assert world.add_recipient("acme", "ANN@acme.test") == ["ann@acme.test", "ops@acme.test"]
    assert world.remove_recipient("acme", "OPS@acme.test") == ["ann@acme.test"]
    assert world.remove_recipient("acme", "never@acme.test") == ["ann@acme.test"]
    assert world.recipients("beta") == []
    assert world.recipients("unknown") == []
    changes = [e.payload for e in _outbox(world, "account:acme") if e.kind == "recipients_changed"]
    assert changes == [
        {"account_id": "acme", "added": ["ann@acme.test"], "removed": []},  # ann's promotion in the fixture
        {"account_id": "acme", "added": ["ops@acme.test"], "removed": []},
        {"account_id": "acme", "added": [], "removed": ["ops@acme.test"]},
    ]


def test_submit_creates_a_new_case_with_the_body_as_first_message(world: SupportCases, clock: Any) -> None:
    photo = Attachment(filename="shot.png", content_type="image/png", data=b"\x89PNG...")
    case = world.submit("acme", "bob", "Cannot log in", "Since Monday.", attachments=[photo])
    assert (case.account_id, case.requester_id, case.subject, case.status) == (
        "acme",
        "bob",
        "Cannot log in",
        CaseStatus.NEW,
    )
    assert (case.refers_to, case.merged_into, case.ticket_id, case.cc, case.closed_by) == (None, None, None, [], None)
    [message] = case.messages
    assert (message.author, message.author_name, message.body, message.created_at) == (
        "user",
        "Bob User",
        "Since Monday.",
        clock.now,
    )
    [ref] = message.attachments
    assert (ref.filename, ref.content_type, ref.size) == ("shot.png", "image/png", 7)
    assert ref.sha256 == hashlib.sha256(b"\x89PNG...").hexdigest()
    assert world.attachment("acme", case.id, ref.id) == b"\x89PNG..."
    [entry] = _outbox(world, f"case:{case.id}")
    assert (entry.kind, entry.payload, entry.case_id, entry.account_id) == (
        "submit",
        {"case_id": case.id},
        case.id,
        "acme",
    )
    assert world.get("acme", case.id) == case


def test_case_numbers_are_unique_and_increasing_across_accounts(world: SupportCases) -> None:
    ids = [world.submit("acme", "bob", f"s{i}", "b").id for i in range(3)]
    ids.append(world.submit("beta", "carl", "s", "b").id)
    assert ids == sorted(ids) and len(set(ids)) == 4


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (CaseStatus.NEW, CaseStatus.NEW),
        (CaseStatus.OPEN, CaseStatus.OPEN),
        (CaseStatus.PENDING, CaseStatus.OPEN),
        (CaseStatus.SOLVED, CaseStatus.OPEN),
    ],
)
def test_reply_follows_the_lifecycle(world: SupportCases, before: CaseStatus, after: CaseStatus) -> None:
    case = world.submit("acme", "bob", "s", "first")
    if before != CaseStatus.NEW:
        _staff_sets(world.store, case.id, before)
    replied = world.reply("acme", case.id, "ann", "thanks, solved", acknowledges_solution=True)
    assert replied.status == after
    assert [(m.author_name, m.body) for m in replied.messages] == [
        ("Bob User", "first"),
        ("Ann Admin", "thanks, solved"),
    ]
    entry = _outbox(world, f"case:{case.id}")[-1]
    assert (entry.kind, entry.payload) == (
        "reply",
        {
            "case_id": case.id,
            "message_id": replied.messages[-1].id,
            "acknowledges_solution": True,
            "status_before": before.value,
        },
    )


def test_reply_with_attachments(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "s", "first")
    files = [Attachment(filename=f"f{i}.txt", content_type="", data=b"x" * i) for i in range(2)]
    replied = world.reply("acme", case.id, "bob", "logs attached", attachments=files)
    refs = replied.messages[-1].attachments
    assert [(r.filename, r.content_type, r.size) for r in refs] == [
        ("f0.txt", "application/octet-stream", 0),
        ("f1.txt", "application/octet-stream", 1),
    ]
    assert world.attachment("acme", case.id, refs[1].id) == b"x"


def test_close_then_continue_with_a_new_case(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "s", "b")
    closed = world.close("acme", case.id, "bob")
    assert (closed.status, closed.closed_by) == (CaseStatus.CLOSED, "user")
    assert [e.kind for e in _outbox(world, f"case:{case.id}")] == ["submit", "close"]
    assert _outbox(world, f"case:{case.id}")[-1].payload == {"case_id": case.id, "user_id": "bob"}
    follow = world.submit("acme", "ann", "again", "still broken", refers_to=case.id)
    assert follow.refers_to == case.id and follow.status == CaseStatus.NEW and follow.id > case.id


def test_list_and_get(world: SupportCases) -> None:
    a = world.submit("acme", "bob", "a", "b")
    b = world.submit("acme", "bob", "b", "b")
    world.submit("beta", "carl", "c", "b")
    world.close("acme", a.id, "bob")
    assert [c.id for c in world.list("acme")] == [a.id, b.id]
    assert [c.id for c in world.list("acme", status=CaseStatus.CLOSED)] == [a.id]
    assert [c.id for c in world.list("acme", status="New")] == [b.id]  # type: ignore[arg-type]
    assert world.list("nobody") == []
    assert world.get("acme", b.id).subject == "b"


def test_changes_reports_inbound_changes_not_console_calls(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "s", "b")
    other = world.submit("beta", "carl", "s", "b")
    assert world.changes() == []  # the console's own calls are not echoed to it
    with world.store.transaction() as tx:
        tx.add_message(case.id, "staff", "Sam", "Hello", origin="zendesk", zendesk_comment_id=1)
        s1 = tx.append_change("acme", case.id, ChangeKind.STAFF_MESSAGE, "Sam replied")
        s2 = tx.append_change("beta", other.id, ChangeKind.STATUS, "Pending")
    assert [c.seq for c in world.changes()] == [s1, s2]
    assert [c.seq for c in world.changes(s1)] == [s2]
    assert [c.seq for c in world.changes(0, account_id="acme")] == [s1]


def test_settings_pick_the_database(tmp_path: Any) -> None:
    support = SupportCases(Settings(database_url=f"sqlite:///{tmp_path}/from-settings.db"))
    try:
        support.upsert_account("acme", "Acme")
        assert (tmp_path / "from-settings.db").exists()
    finally:
        support.store.close()
