"""The payload of each outbox kind: one frozen model per kind, built by the producer, read by the handler.

Entries carry ids only; the worker reloads the data by id.  ``enqueue`` stores a model as the JSON of the
fields its producer set — the JSON earlier releases wrote — so entries queued before an upgrade are read by
these models, and entries queued after it by an older worker.  A stored payload its kind's model cannot read
raises :class:`~sync.errors.MalformedPayload`, which the worker dead-letters with the reason.

=======================  ==================  ==========================================================
kind                     ordering key        model and fields
=======================  ==================  ==========================================================
``upsert_account``       ``account:<id>``    :class:`UpsertAccountPayload`: ``account_id``,
                                             ``previous_name`` (None: created)
``upsert_user``          ``user:<a>:<u>``    :class:`UpsertUserPayload`: ``account_id``, ``user_id``,
                                             ``email``, ``previous_email`` (None unless the address
                                             changed), ``created``
``recipients_changed``   ``account:<id>``    :class:`RecipientsChangedPayload`: ``account_id``, ``added``,
                                             ``removed`` (addresses)
``submit``               ``case:<n>``        :class:`SubmitPayload`: ``case_id``
``reply``                ``case:<n>``        :class:`ReplyPayload`: ``case_id``, ``message_id``,
                                             ``acknowledges_solution``, ``status_before``
``close``                ``case:<n>``        :class:`ClosePayload`: ``case_id``, ``user_id`` (None: the
                                             system closes it)
``repair_ccs``           ``account:<id>``    :class:`RepairCcsPayload`: ``account_id``, ``ticket_ids``,
                                             ``previously_managed`` (addresses that were casesync's)
``erase_user``           ``account:<id>``    :class:`EraseUserPayload`: ``zendesk_user_id``
=======================  ==================  ==========================================================
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from mappings.models import CaseStatus
from sync.errors import MalformedPayload
from sync.store.console_types import IdempotencyRecord
from sync.store.facets.console import ConsoleTx
from sync.store.facets.outbox import OutboxTx
from sync.store.types import OutboxEntry, OutboxKind

__all__ = [
    "PAYLOADS",
    "ClosePayload",
    "EraseUserPayload",
    "OutboxPayload",
    "RecipientsChangedPayload",
    "RepairCcsPayload",
    "ReplyPayload",
    "SubmitPayload",
    "UpsertAccountPayload",
    "UpsertUserPayload",
    "enqueue",
    "enqueue_keyed",
    "parse_payload",
]

P = TypeVar("P", bound="OutboxPayload")


def _none_as_empty(value: Any) -> Any:
    return () if value is None else value


def _none_as_unset(value: Any) -> Any:
    return None if value == "" else value


# Lists earlier releases read with ``payload.get(...) or ()``: a missing or null list is an empty one.
_Strings = Annotated[tuple[str, ...], BeforeValidator(_none_as_empty)]
_Ints = Annotated[tuple[int, ...], BeforeValidator(_none_as_empty)]


class OutboxPayload(BaseModel):
    """The payload of one outbox kind (:attr:`kind`)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: ClassVar[OutboxKind]

    def dump(self) -> dict[str, Any]:
        """The stored JSON: the fields the producer set, as earlier releases wrote them."""
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def of(cls: type[P], entry: OutboxEntry) -> P:
        """The entry's payload; :class:`MalformedPayload` when it is of another kind or unreadable."""
        if entry.kind != cls.kind:
            raise MalformedPayload(f"entry {entry.id} is a {entry.kind!r} entry, not {cls.kind.value!r}")
        try:
            return cls.model_validate(entry.payload)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in exc.errors()
            )
            raise MalformedPayload(f"malformed {entry.kind} payload of entry {entry.id}: {problems}") from None


class UpsertAccountPayload(OutboxPayload):
    kind = OutboxKind.UPSERT_ACCOUNT
    account_id: str
    previous_name: str | None = None


class UpsertUserPayload(OutboxPayload):
    kind = OutboxKind.UPSERT_USER
    account_id: str
    user_id: str
    email: str
    previous_email: str | None = None
    created: bool = False


class RecipientsChangedPayload(OutboxPayload):
    kind = OutboxKind.RECIPIENTS_CHANGED
    account_id: str
    added: _Strings = ()
    removed: _Strings = ()


class SubmitPayload(OutboxPayload):
    """``sent_ccs``: every recipient address an attempt put in a create request, recorded before it left, so
    the attempt that adopts a ticket whose creation answer was lost knows them as casesync's own."""

    kind = OutboxKind.SUBMIT
    case_id: int
    sent_ccs: _Strings = ()


class ReplyPayload(OutboxPayload):
    """``status_before``: the case's status when the user replied (New stays new in Zendesk); entries that
    lack it are read with the case's status at delivery."""

    kind = OutboxKind.REPLY
    case_id: int
    message_id: int
    acknowledges_solution: Annotated[bool, BeforeValidator(bool)] = False
    status_before: Annotated[CaseStatus | None, BeforeValidator(_none_as_unset)] = None


class ClosePayload(OutboxPayload):
    kind = OutboxKind.CLOSE
    case_id: int
    user_id: str | None = None


class RepairCcsPayload(OutboxPayload):
    """``previously_managed``: addresses that were casesync's on these tickets (a list that changed while a
    ticket was created, a follow-up's parent CCs), replaced like the account's own."""

    kind = OutboxKind.REPAIR_CCS
    account_id: str
    ticket_ids: _Ints = ()
    previously_managed: _Strings = ()


class EraseUserPayload(OutboxPayload):
    """Only the Zendesk user's id: an erasure queues no personal data."""

    kind = OutboxKind.ERASE_USER
    zendesk_user_id: int


#: Every kind's model, by kind.
PAYLOADS: dict[str, type[OutboxPayload]] = {
    m.kind.value: m
    for m in (UpsertAccountPayload, UpsertUserPayload, RecipientsChangedPayload, SubmitPayload, ReplyPayload,
              ClosePayload, RepairCcsPayload, EraseUserPayload)
}


def parse_payload(entry: OutboxEntry) -> OutboxPayload | None:
    """The entry's payload read by its kind's model; ``None`` for a kind without one or an unreadable payload
    (for readers that only look: the handler reports the payload when it delivers the entry)."""
    model = PAYLOADS.get(entry.kind)
    if model is None:
        return None
    try:
        return model.of(entry)
    except MalformedPayload:
        return None


def enqueue(
    tx: OutboxTx,
    payload: OutboxPayload,
    *,
    ordering_key: str,
    account_id: str | None = None,
    case_id: int | None = None,
    not_before: datetime | None = None,
) -> int:
    """Queue ``payload`` as an entry of its kind (see :meth:`OutboxTx.enqueue`); returns the entry's id."""
    return tx.enqueue(
        payload.kind, payload.dump(), ordering_key=ordering_key, account_id=account_id, case_id=case_id,
        not_before=not_before,
    )


def enqueue_keyed(
    tx: ConsoleTx,
    payload: OutboxPayload,
    *,
    ordering_key: str,
    account_id: str,
    case_id: int,
    key: IdempotencyRecord | None,
) -> int | None:
    """:func:`enqueue` with the idempotency key's record (see :meth:`ConsoleTx.enqueue_keyed`)."""
    return tx.enqueue_keyed(
        payload.kind, payload.dump(), ordering_key=ordering_key, account_id=account_id, case_id=case_id, key=key
    )
