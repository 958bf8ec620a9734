"""Errors raised by the pure mapping core.

``mappings`` must not import :mod:`sync` (it stays pure), so it has its own small error tree.  The I/O
layer translates these into :mod:`sync.errors` at its boundary::

    MappingValueError (ValueError)      a value from Zendesk or the console cannot be mapped
    ├── UnknownZendeskStatus            a ticket ``status`` outside the table  → sync MappingError (dead letter)
    ├── InvalidExternalId               not ``console-case:<n>`` / ``console-account:<id>``
    ├── InvalidCursor                   an ``after_cursor`` that is not Zendesk's format
    ├── InvalidEmail                    not a syntactically valid address     → sync InvalidInput
    ├── TooManyRecipients               over 48 addresses                      → sync InvalidInput
    └── MissingAuthor                   a comment whose author was not supplied (sideload the users)
    TransitionRefused (ValueError)      the console's rules refuse a transition; ``closed`` → sync CaseClosed
"""

from __future__ import annotations

__all__ = [
    "InvalidCursor",
    "InvalidEmail",
    "InvalidExternalId",
    "MappingValueError",
    "MissingAuthor",
    "TooManyRecipients",
    "TransitionRefused",
    "UnknownZendeskStatus",
]


class MappingValueError(ValueError):
    """A value cannot be mapped; never guessed."""


class UnknownZendeskStatus(MappingValueError):
    """A ticket ``status`` that the status table does not know."""

    def __init__(self, value: object) -> None:
        super().__init__(f"unknown Zendesk ticket status {value!r}: not mapped (never guessed)")
        self.value = value


class InvalidExternalId(MappingValueError):
    """An ``external_id`` that is not one casesync writes."""

    def __init__(self, value: object, expected: str) -> None:
        super().__init__(f"external id {value!r} is not of the form {expected!r}")
        self.value = value


class InvalidCursor(MappingValueError):
    """An incremental-export cursor that does not decode to ``<epoch>.0||<ticket_id>|``."""

    def __init__(self, value: object) -> None:
        super().__init__(f"cannot decode export cursor {value!r}")
        self.value = value


class InvalidEmail(MappingValueError):
    """An email address that is not syntactically valid."""

    def __init__(self, value: object) -> None:
        super().__init__(f"invalid email address: {value!r}")
        self.value = value


class TooManyRecipients(MappingValueError):
    """More addresses than a Zendesk ticket can CC."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(f"{count} recipients: at most {limit} are allowed")
        self.count = count
        self.limit = limit


class MissingAuthor(MappingValueError):
    """A comment's author is not among the users given to the decision (sideload them with the comments)."""

    def __init__(self, comment_id: int, author_id: int) -> None:
        super().__init__(f"comment {comment_id}: author {author_id} was not supplied")
        self.comment_id = comment_id
        self.author_id = author_id


class TransitionRefused(ValueError):
    """The console's rules refuse this action in this status.

    ``closed`` is true when the refusal is because the case is Closed (the API maps it to ``CaseClosed``);
    otherwise the action is not allowed from that status (e.g. re-entering New).
    """

    def __init__(self, message: str, *, status: str, action: str, closed: bool) -> None:
        super().__init__(message)
        self.status = status
        self.action = action
        self.closed = closed
