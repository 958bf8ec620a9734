"""The :class:`MessagesTx` facet of a store transaction (:class:`sync.store.StoreTx`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime

from mappings.models import Author
from sync.store.types import AttachmentRecord, MessageRecord, Origin

__all__ = ["MessagesTx"]


class MessagesTx(ABC):
    """A case's messages and their attachments: adding, reading, withdrawing, redacting, moving."""

    @abstractmethod
    def add_message(
        self,
        case_id: int,
        author: Author,
        author_name: str,
        body: str,
        *,
        origin: Origin,
        zendesk_comment_id: int | None = None,
        acknowledges_solution: bool = False,
        created_at: datetime | None = None,
        html: str | None = None,
        user_id: str | None = None,
    ) -> MessageRecord:
        """Append a message.  A ``zendesk_comment_id`` that is already stored returns that message.

        ``user_id``: the console user who wrote a user message (None for staff and unknown end users)."""

    @abstractmethod
    def message(self, message_id: int) -> MessageRecord | None: ...

    @abstractmethod
    def message_by_comment(self, zendesk_comment_id: int) -> MessageRecord | None: ...

    @abstractmethod
    def case_messages(self, case_id: int, *, include_withdrawn: bool = False) -> list[MessageRecord]: ...

    @abstractmethod
    def set_message_comment(self, message_id: int, zendesk_comment_id: int) -> None:
        """Record the comment a console message became (echo detection, exactly-once checks)."""

    @abstractmethod
    def withdraw_message(self, message_id: int) -> None:
        """Hide a message from the console (its comment was made private in Zendesk)."""

    @abstractmethod
    def redact_message(self, message_id: int, body: str, html: str | None) -> None:
        """Overwrite a message's text with its redacted form (the original is not kept anywhere)."""

    @abstractmethod
    def remove_attachment(self, attachment_id: str) -> None:
        """Delete an attachment and its bytes (staff redacted it in Zendesk)."""

    @abstractmethod
    def scrub_text(self, secrets: list[str], *, ticket_id: int, case_id: int) -> int:
        """Replace each of ``secrets`` with ``▇`` characters in what the store keeps about the ticket and the case
        besides its messages: inbox payloads, kv values of the ticket, feed and conflict details.  Returns the
        number of rows rewritten."""

    @abstractmethod
    def move_message(self, message_id: int, case_id: int) -> None:
        """Move a message (and its attachments) to another case of the same account."""

    @abstractmethod
    def add_attachment(
        self,
        message_id: int,
        filename: str,
        content_type: str,
        data: bytes,
        *,
        zendesk_attachment_id: int | None = None,
        inline: bool = False,
        attachment_id: str | None = None,
    ) -> AttachmentRecord:
        """Store an attachment of a message; ``attachment_id`` (default: a new random id) for one imported from
        Zendesk whose id its message's HTML already names (``mappings.rich_text.imported_attachment_id``)."""

    @abstractmethod
    def attachment_content(self, attachment_id: str) -> tuple[AttachmentRecord, bytes] | None: ...

    @abstractmethod
    def set_attachment_zendesk(self, attachment_id: str, zendesk_attachment_id: int) -> None: ...
