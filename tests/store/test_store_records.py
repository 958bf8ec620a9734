"""Accounts, users, recipients, cases, messages, attachments and links on both backends."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from mappings.models import CaseStatus
from sync.store import Store, TicketState


@pytest.fixture
def acme(store: Store) -> Store:
    with store.transaction() as tx:
        tx.upsert_account("acme", "Acme")
        tx.upsert_user("acme", "ann", "Ann@Acme.test", "Ann", True)
        tx.upsert_user("acme", "bob", "bob@acme.test", "Bob", False)
    return store


def test_account_upsert_reports_what_was_there(store: Store, clock: Any) -> None:
    with store.transaction() as tx:
        created, before = tx.upsert_account("acme", "Acme")
        assert before is None and created.name == "Acme" and created.created_at == clock.now
    clock.advance(5)
    with store.transaction() as tx:
        renamed, before = tx.upsert_account("acme", "Acme Inc")
        assert before is not None and before.name == "Acme"
        assert renamed.name == "Acme Inc" and renamed.updated_at == clock.now
        tx.set_account_org("acme", 4242)
    with store.read() as tx:
        assert tx.get_account("acme").zendesk_org_id == 4242  # type: ignore[union-attr]
        assert tx.get_account("other") is None


def test_users_and_links(acme: Store) -> None:
    with acme.transaction() as tx:
        tx.upsert_account("beta", "Beta")
        tx.upsert_user("beta", "ann2", "ann@acme.TEST", "Ann B", False)
        tx.link_user("acme", "ann", 77)
        after, before = tx.upsert_user("acme", "bob", "robert@acme.test", "Bob", False)
        assert before is not None and before.email == "bob@acme.test" and after.email == "robert@acme.test"
    with acme.read() as tx:
        assert [u.user_id for u in tx.users("acme")] == ["ann", "bob"]
        assert [(u.account_id, u.user_id) for u in tx.users_by_email("ANN@acme.test")] == [
            ("acme", "ann"),
            ("beta", "ann2"),
        ]
        assert [u.user_id for u in tx.users_by_zendesk_id(77)] == ["ann"]
        assert tx.get_user("acme", "nobody") is None


def test_recipient_list_is_admins_first_then_registered_deduplicated(acme: Store) -> None:
    with acme.transaction() as tx:
        assert tx.add_registered_recipient("acme", "ops@acme.test")
        assert not tx.add_registered_recipient("acme", "OPS@acme.test")
        assert tx.add_registered_recipient("acme", "ann@acme.test")  # also an admin's: listed once
        assert tx.add_registered_recipient("acme", "alerts@acme.test")
    with acme.read() as tx:
        assert tx.recipients("acme") == ["ann@acme.test", "ops@acme.test", "alerts@acme.test"]
        assert tx.registered_recipients("acme") == ["ops@acme.test", "ann@acme.test", "alerts@acme.test"]
    with acme.transaction() as tx:
        assert tx.remove_registered_recipient("acme", "Ops@Acme.test")
        assert not tx.remove_registered_recipient("acme", "ops@acme.test")
        assert tx.recipients("acme") == ["ann@acme.test", "alerts@acme.test"]


def test_staff_emails(store: Store) -> None:
    with store.transaction() as tx:
        assert not tx.is_staff_email("agent@support.test")
        tx.add_staff_email("Agent@Support.test", 5)
        tx.add_staff_email("agent@support.test", 6)
        assert tx.is_staff_email("AGENT@support.test")


def test_cases_messages_and_attachments(acme: Store, clock: Any) -> None:
    with acme.transaction() as tx:
        n = tx.next_case_number()
        tx.create_case(n, "acme", "bob", "Printer on fire")
        first = tx.add_message(n, "user", "Bob", "It burns", origin="console")
        ref = tx.add_attachment(first.id, "photo.jpg", "image/jpeg", b"\xff\xd8data")
        clock.advance(1)
        staff = tx.add_message(n, "staff", "Sam", "Water?", origin="zendesk", zendesk_comment_id=900)
        again = tx.add_message(n, "staff", "Sam", "Water?", origin="zendesk", zendesk_comment_id=900)
        assert again.id == staff.id  # a comment is imported once
        tx.set_message_comment(first.id, 899)
    assert ref.sha256 == hashlib.sha256(b"\xff\xd8data").hexdigest() and ref.size == 6
    with acme.read() as tx:
        case = tx.case(n)
        assert case is not None and case.status == CaseStatus.NEW and case.requester_id == "bob"
        assert [m.body for m in case.messages] == ["It burns", "Water?"]
        assert [a.id for a in case.messages[0].attachments] == [ref.id]
        assert tx.attachment_content(ref.id) == (ref, b"\xff\xd8data")
        assert tx.message_by_comment(899).id == first.id  # type: ignore[union-attr]
        assert tx.message(first.id).attachments == [ref]  # type: ignore[union-attr]
    with acme.transaction() as tx:
        tx.withdraw_message(staff.id)
    with acme.read() as tx:
        assert [m.body for m in tx.case(n).messages] == ["It burns"]  # type: ignore[union-attr]
        assert len(tx.case_messages(n, include_withdrawn=True)) == 2


def test_case_status_refs_cc_and_listing(acme: Store) -> None:
    with acme.transaction() as tx:
        a, b = tx.next_case_number(), tx.next_case_number()
        tx.create_case(a, "acme", "ann", "A")
        tx.create_case(b, "acme", "ann", "B")
        tx.set_case_status(a, CaseStatus.CLOSED, closed_by="system", reason="merged in Zendesk")
        tx.set_case_refs(a, merged_into=b)
        tx.set_case_refs(b, refers_to=a)
        tx.set_case_cc(b, ["ann@acme.test", "cc@else.test"])
        tx.set_case_status(b, CaseStatus.PENDING, closed_by="user")  # closed_by only sticks to Closed
    with acme.read() as tx:
        ra, rb = tx.get_case(a), tx.get_case(b)
        assert ra is not None and rb is not None
        assert (ra.status, ra.closed_by, ra.closed_reason, ra.merged_into) == (
            CaseStatus.CLOSED,
            "system",
            "merged in Zendesk",
            b,
        )
        assert (rb.status, rb.closed_by, rb.refers_to, rb.cc) == (
            CaseStatus.PENDING,
            None,
            a,
            ["ann@acme.test", "cc@else.test"],
        )
        assert [c.id for c in tx.cases("acme")] == [a, b]
        assert [c.id for c in tx.cases("acme", status=CaseStatus.PENDING)] == [b]
        assert [c.id for c in tx.case_records("acme", open_only=True)] == [b]
        assert tx.cases("other") == []


def test_case_numbers_increase_and_are_never_reused_after_a_failed_transaction(acme: Store) -> None:
    with acme.transaction() as tx:
        first = tx.next_case_number()
        tx.create_case(first, "acme", "ann", "kept")
    with pytest.raises(RuntimeError), acme.transaction() as tx:
        lost = tx.next_case_number()
        tx.create_case(lost, "acme", "ann", "rolled back")
        raise RuntimeError("crash after the number was drawn")
    with acme.transaction() as tx:
        after = tx.next_case_number()
    assert first < lost < after
    with acme.read() as tx:
        assert tx.get_case(lost) is None


def test_moving_a_message_moves_its_attachments(acme: Store) -> None:
    with acme.transaction() as tx:
        a, b = tx.next_case_number(), tx.next_case_number()
        tx.create_case(a, "acme", "ann", "A")
        tx.create_case(b, "acme", "ann", "B", refers_to=a)
        m = tx.add_message(a, "user", "Ann", "late reply", origin="console")
        att = tx.add_attachment(m.id, "log.txt", "text/plain", b"log")
        tx.move_message(m.id, b)
        tx.set_attachment_zendesk(att.id, 31)
    with acme.read() as tx:
        assert tx.case(a).messages == []  # type: ignore[union-attr]
        [moved] = tx.case(b).messages  # type: ignore[union-attr]
        assert moved.id == m.id and moved.attachments[0].id == att.id
        found = tx.attachment_content(att.id)
        assert found is not None and found[0].case_id == b and found[0].zendesk_attachment_id == 31


def test_ticket_links_are_unique_both_ways(acme: Store) -> None:
    with acme.transaction() as tx:
        a, b = tx.next_case_number(), tx.next_case_number()
        tx.create_case(a, "acme", "ann", "A")
        tx.create_case(b, "acme", "ann", "B")
        tx.link_ticket(a, 500)
        tx.link_ticket(a, 500)  # idempotent
        with pytest.raises(ValueError):
            tx.link_ticket(b, 500)
        with pytest.raises(ValueError):
            tx.link_ticket(a, 501)
        tx.link_ticket(b, 501)
    with acme.read() as tx:
        assert (tx.ticket_of(a), tx.case_of_ticket(501), tx.case_of_ticket(1)) == (500, b, None)
        assert tx.get_case(a).ticket_id == 500  # type: ignore[union-attr]
        assert tx.case(b).ticket_id == 501  # type: ignore[union-attr]
        assert tx.linked_cases() == [(a, 500), (b, 501)]
        assert tx.linked_cases(after_case_id=a, limit=5) == [(b, 501)]


def test_ticket_state_and_seen_comments(store: Store, clock: Any) -> None:
    state = TicketState(10, 3, clock.now, 1700000000, "open", {"managed_ccs": ["a@b.test"]})
    with store.transaction() as tx:
        assert tx.ticket_state(10) is None
        tx.put_ticket_state(state)
        tx.mark_comments_seen(10, {1, 2})
        tx.mark_comments_seen(10, {2, 3})
        tx.mark_comments_seen(10, set())
    with store.transaction() as tx:
        assert tx.ticket_state(10) == state
        tx.put_ticket_state(TicketState(10, 3, status="solved"))
        assert tx.ticket_state(10) == TicketState(10, 3, status="solved")
        assert tx.seen_comments(10) == {1, 2, 3} and tx.seen_comments(11) == set()


def test_read_transactions_refuse_writes(store: Store) -> None:
    with pytest.raises(RuntimeError, match="read-only"), store.read() as tx:
        tx.upsert_account("acme", "Acme")
