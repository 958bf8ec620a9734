"""Delivering an erasure to Zendesk: delete the user, then permanently delete it.

Zendesk's permanent deletion (``DELETE /api/v2/deleted_users/{id}``) only takes a user that was deleted
first (``DELETE /api/v2/users/{id}``); both are sent by one ``erase_user`` entry, so a retry after any
failure starts again and each step's 404 means "already done".
"""

from __future__ import annotations

from contextlib import suppress

from sync.errors import RecordNotFound
from sync.gateway import ZendeskGateway
from sync.logging import get_logger
from sync.store import OutboxEntry
from sync.store.outbox_payloads import EraseUserPayload

__all__ = ["ErasureDelivery"]

log = get_logger(__name__)


class ErasureDelivery:
    """The handler of ``erase_user`` entries (payload: ``zendesk_user_id`` only — no personal data)."""

    def __init__(self, gateway: ZendeskGateway) -> None:
        self.gateway = gateway

    def erase_user(self, entry: OutboxEntry) -> None:
        user_id = EraseUserPayload.of(entry).zendesk_user_id
        # A 404 here: deleted already (an earlier attempt, or staff); the permanent deletion decides.
        with suppress(RecordNotFound):
            self.gateway.delete_user(user_id)
        try:
            self.gateway.permanently_delete_user(user_id)
        except RecordNotFound:
            log.info("zendesk_user_already_gone", zendesk_user_id=user_id)
            return
        log.info("zendesk_user_erased", zendesk_user_id=user_id)
