"""``SupportCases.erase_user``: the right to erasure for one console user (docs/design.md §8).

In one store transaction the user's personal data is erased (see :mod:`sync.store.sql_erasure` for what
and where), the cases they requested are closed and kept for the account's other members, and — when
the user has a Zendesk user — an ``erase_user`` outbox entry is queued that deletes that user and then
permanently deletes it (``DELETE /api/v2/users/{id}``, ``DELETE /api/v2/deleted_users/{id}``), durable and
retried like every delivery.  The store is then compacted so the removed bytes are gone from the files.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from sync.errors import UnknownUser
from sync.store import Store, account_key, case_key
from sync.store.outbox_payloads import ClosePayload, EraseUserPayload, enqueue

__all__ = ["ErasureReport", "erase_user"]


class ErasureReport(BaseModel):
    """What ``erase_user`` removed, and where.

    ``scrubbed``: rows per table where a copy of the user's email, name or text was replaced by
    ``[erased]``; ``zendesk``: ``queued`` (the Zendesk user's deletion and permanent deletion are in the
    outbox, entry ``outbox_entry_id``) or ``not_linked`` (casesync never had a Zendesk user for them).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    user_id: str
    messages_erased: int
    attachments_removed: int
    cases_closed: list[int]
    cases_kept: list[int]
    scrubbed: dict[str, int] = Field(default_factory=dict)
    kv_removed: int = 0
    idempotency_keys_removed: int = 0
    outbox_discarded: int = 0
    zendesk_user_id: int | None = None
    zendesk: Literal["queued", "not_linked"] = "not_linked"
    outbox_entry_id: int | None = None
    compaction: list[str] = Field(default_factory=list)


def erase_user(store: Store, account_id: str, user_id: str) -> ErasureReport:
    """Erase the user (ids already checked); ``UnknownUser`` when the account has no such user."""
    with store.transaction() as tx:
        if tx.get_user(account_id, user_id) is None:
            raise UnknownUser(account_id, user_id)
        found = tx.erase_user_data(account_id, user_id)
        for case_id in found["linked_cases_closed"]:
            # Their open tickets are closed in Zendesk as well (the close carries no user data).
            enqueue(tx, ClosePayload(case_id=case_id, user_id=None), ordering_key=case_key(case_id),
                    account_id=account_id, case_id=case_id)
        zendesk_id = found["zendesk_user_id"]
        entry_id = None
        if zendesk_id is not None:
            entry_id = enqueue(tx, EraseUserPayload(zendesk_user_id=zendesk_id),
                               ordering_key=account_key(account_id), account_id=account_id)
    return ErasureReport(
        account_id=account_id,
        user_id=user_id,
        messages_erased=found["messages_erased"],
        attachments_removed=found["attachments_removed"],
        cases_closed=found["cases_closed"],
        cases_kept=found["cases_kept"],
        scrubbed=found["scrubbed"],
        kv_removed=found["kv_removed"],
        idempotency_keys_removed=found["idempotency_keys_removed"],
        outbox_discarded=found["outbox_discarded"],
        zendesk_user_id=zendesk_id,
        zendesk="queued" if entry_id is not None else "not_linked",
        outbox_entry_id=entry_id,
        compaction=store.compact(),
    )
