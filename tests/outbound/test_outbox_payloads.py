"""Each outbox kind's payload is one frozen model (``sync.store.outbox_payloads``): rows the previous release
queued are read by it and written back byte for byte, and a payload it cannot read is dead-lettered with the
reason instead of crashing the worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from mappings.models import CaseStatus
from sync.errors import MalformedPayload
from sync.outbound.worker import OutboxWorker
from sync.store import OutboxEntry, OutboxKind, Store
from sync.store.outbox_payloads import (
    PAYLOADS,
    ClosePayload,
    EraseUserPayload,
    OutboxPayload,
    RecipientsChangedPayload,
    RepairCcsPayload,
    ReplyPayload,
    SubmitPayload,
    UpsertAccountPayload,
    UpsertUserPayload,
    enqueue,
    parse_payload,
)

WHEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _entry(kind: str, payload: dict[str, Any], entry_id: int = 1) -> OutboxEntry:
    return OutboxEntry(
        id=entry_id, ordering_key="case:1", kind=kind, payload=payload, account_id="acme", case_id=1,
        status="pending", attempts=0, next_attempt_at=WHEN, first_attempt_at=None, last_error=None,
        lease_owner=None, lease_until=None, created_at=WHEN, delivered_at=None,
    )


#: (kind, a payload as the previous release's producers queued it, the model it reads as).
PREVIOUS_RELEASE: list[tuple[str, dict[str, Any], OutboxPayload]] = [
    ("upsert_account", {"account_id": "acme", "previous_name": None}, UpsertAccountPayload(account_id="acme")),
    ("upsert_account", {"account_id": "acme", "previous_name": "Acme Ltd"},
     UpsertAccountPayload(account_id="acme", previous_name="Acme Ltd")),
    ("upsert_user", {"account_id": "acme", "user_id": "bob", "email": "bob@acme.test", "previous_email": None,
                     "created": True},
     UpsertUserPayload(account_id="acme", user_id="bob", email="bob@acme.test", created=True)),
    ("upsert_user", {"account_id": "acme", "user_id": "bob", "email": "b@acme.test", "previous_email": "bob@acme.test",
                     "created": False},
     UpsertUserPayload(account_id="acme", user_id="bob", email="b@acme.test", previous_email="bob@acme.test")),
    ("recipients_changed", {"account_id": "acme", "added": ["a@acme.test"], "removed": []},
     RecipientsChangedPayload(account_id="acme", added=("a@acme.test",))),
    ("submit", {"case_id": 41}, SubmitPayload(case_id=41)),
    ("reply", {"case_id": 41, "message_id": 9, "acknowledges_solution": True, "status_before": "Solved"},
     ReplyPayload(case_id=41, message_id=9, acknowledges_solution=True, status_before=CaseStatus.SOLVED)),
    # A reply moved to the case continuing a closed one (no acknowledgement field).
    ("reply", {"case_id": 42, "message_id": 9, "status_before": "New"},
     ReplyPayload(case_id=42, message_id=9, status_before=CaseStatus.NEW)),
    ("close", {"case_id": 41, "user_id": "bob"}, ClosePayload(case_id=41, user_id="bob")),
    ("close", {"case_id": 41, "user_id": None}, ClosePayload(case_id=41)),  # an erasure's close
    ("repair_ccs", {"account_id": "acme", "ticket_ids": [7, 8]},
     RepairCcsPayload(account_id="acme", ticket_ids=(7, 8))),
    ("repair_ccs", {"account_id": "acme", "ticket_ids": [7], "previously_managed": ["a@acme.test"]},
     RepairCcsPayload(account_id="acme", ticket_ids=(7,), previously_managed=("a@acme.test",))),
    ("erase_user", {"zendesk_user_id": 501}, EraseUserPayload(zendesk_user_id=501)),
]


def test_every_kind_has_a_model_and_a_row_of_the_previous_release() -> None:
    assert set(PAYLOADS) == {k.value for k in OutboxKind} == {kind for kind, _, _ in PREVIOUS_RELEASE}


@pytest.mark.parametrize(("kind", "stored", "model"), PREVIOUS_RELEASE)
def test_a_payload_the_previous_release_queued_is_read_by_its_model(
    kind: str, stored: dict[str, Any], model: OutboxPayload
) -> None:
    read = PAYLOADS[kind].of(_entry(kind, stored))
    assert read == model
    assert parse_payload(_entry(kind, stored)) == model


@pytest.mark.parametrize(("kind", "stored", "model"), PREVIOUS_RELEASE)
def test_a_producer_writes_what_the_previous_release_wrote(
    kind: str, stored: dict[str, Any], model: OutboxPayload
) -> None:
    # Built with the same fields the previous release's producer set, the model stores the same JSON, so an
    # older worker still running during an upgrade reads the new rows too.
    built = type(model)(**{k: v for k, v in model.model_dump().items() if k in stored})
    assert built.dump() == stored


def test_models_are_frozen() -> None:
    with pytest.raises(ValidationError):
        SubmitPayload(case_id=1).case_id = 2  # type: ignore[misc]


#: (kind, a payload no producer wrote, the words the reason names).
MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    ("submit", {}, "case_id: Field required"),
    ("submit", {"case_id": "forty-one"}, "case_id"),
    ("reply", {"case_id": 41}, "message_id: Field required"),
    ("reply", {"case_id": 41, "message_id": 9, "status_before": "archived"}, "status_before"),
    ("upsert_user", {"account_id": "acme", "user_id": "bob"}, "email: Field required"),
    ("repair_ccs", {"account_id": "acme", "ticket_ids": ["seven"]}, "ticket_ids.0"),
    ("erase_user", {"zendesk_user_id": None}, "zendesk_user_id"),
]


@pytest.mark.parametrize(("kind", "stored", "words"), MALFORMED)
def test_a_payload_its_model_cannot_read_is_a_malformed_payload(kind: str, stored: dict[str, Any], words: str) -> None:
    with pytest.raises(MalformedPayload, match=f"malformed {kind} payload of entry 5: .*{words}"):
        PAYLOADS[kind].of(_entry(kind, stored, entry_id=5))
    assert parse_payload(_entry(kind, stored)) is None


def test_a_model_refuses_an_entry_of_another_kind() -> None:
    with pytest.raises(MalformedPayload, match="'close' entry, not 'submit'"):
        SubmitPayload.of(_entry("close", {"case_id": 1}))


def test_enqueue_stores_the_kind_and_the_json(store: Store) -> None:
    with store.transaction() as tx:
        entry_id = enqueue(tx, ReplyPayload(case_id=3, message_id=9, acknowledges_solution=True),
                           ordering_key="case:3", account_id="acme", case_id=3)
        entry = tx.outbox_entry(entry_id)
    assert entry is not None
    assert (entry.kind, entry.payload, entry.case_id) == ("reply", {"case_id": 3, "message_id": 9,
                                                                    "acknowledges_solution": True}, 3)


@pytest.mark.parametrize(("kind", "stored", "words"), MALFORMED)
def test_the_worker_dead_letters_a_malformed_payload_with_the_reason(
    store: Store, worker: OutboxWorker, drain: Callable[..., Any], kind: str, stored: dict[str, Any], words: str
) -> None:
    with store.transaction() as tx:
        entry_id = tx.enqueue(kind, stored, ordering_key="case:77", account_id="acme")
    report = drain()
    assert report.dead_letters == 1
    with store.read() as tx:
        entry = tx.outbox_entry(entry_id)
    assert entry is not None and entry.status == "dead" and entry.attempts <= 1
    assert entry.last_error is not None and f"malformed {kind} payload of entry {entry_id}" in entry.last_error
    assert words.split(":")[0] in entry.last_error
