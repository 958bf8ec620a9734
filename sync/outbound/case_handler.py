"""What every handler of a case's outbox entries holds: the store, Zendesk, the directory, the settings."""

from __future__ import annotations

from sync.gateway import ZendeskGateway
from sync.outbound.dependencies import Settled
from sync.outbound.directory import Directory
from sync.settings import Settings
from sync.store import MessageRecord, Store

__all__ = ["CaseHandler"]


class CaseHandler:
    """The dependencies shared by the ``submit``, ``reply`` and ``close`` handlers of a case."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        directory: Directory,
        settings: Settings,
        settled: Settled | None = None,
    ) -> None:
        self.settled: Settled = settled or (lambda _entry_id: False)
        self.store = store
        self.gateway = gateway
        self.directory = directory
        self.settings = settings

    def upload(self, message: MessageRecord) -> list[str]:
        """Upload the message's attachments; the upload tokens to attach to its comment."""
        tokens: list[str] = []
        for ref in message.attachments:
            with self.store.read() as tx:
                found = tx.attachment_content(ref.id)
            if found is None:
                continue
            record, data = found
            tokens.append(self.gateway.upload(record.filename, record.content_type, data))
        return tokens
