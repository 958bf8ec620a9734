"""casesync's errors, classified by the action each one demands of the caller.

::

    CaseSyncError                      every error casesync raises
    ├── CaseNotFound                   public: no such case in that account (never reveals other accounts)
    ├── CaseClosed                     public: replying to or closing a Closed case
    ├── InvalidInput                   public: bad input; nothing was stored
    ├── UnknownUser                    public: not a user of that account
    ├── ConfigurationError             public: a setting is missing or malformed; fix the configuration
    └── SyncError                      internal: raised while talking to Zendesk
        ├── RetriableError             try again later; never dead-lettered
        │   ├── RateLimited            429: wait ``retry_after`` seconds
        │   ├── ServerUnavailable      5xx (503 may carry ``retry_after``)
        │   └── NetworkError           timeout, reset, refused; ``ambiguous`` when the request may have landed
        ├── ConflictError              re-read Zendesk and decide again
        │   ├── UpdateConflict         409 from a safe update
        │   └── TicketClosedRemotely   422 "closed prevents ticket update": the ticket closed under us
        └── PermanentError             retrying cannot help: dead-letter with the reason
            ├── ZendeskRejected        any other 4xx (status and body kept)
            │   └── RecordNotFound     404: the ticket, user or object does not exist (or was deleted)
            ├── AuthenticationFailed   401/403: credentials are wrong or lack rights
            ├── MappingError           Zendesk sent something casesync cannot map (e.g. an unknown status)
            └── MalformedPayload       a stored outbox payload its kind's model cannot read

Errors from zenpy and requests are translated into this tree in exactly one place,
:mod:`sync.gateway.errors`; nothing else catches library exceptions.  What a failed delivery or import does
about an error is :func:`remedy_for`'s answer, the one classification the outbox and the inbox share.
"""

from __future__ import annotations

from enum import StrEnum

from mappings.errors import MappingValueError, TransitionRefused

__all__ = [
    "AuthenticationFailed",
    "CaseClosed",
    "CaseNotFound",
    "CaseSyncError",
    "ConfigurationError",
    "ConflictError",
    "InvalidInput",
    "MalformedPayload",
    "MappingError",
    "NetworkError",
    "PermanentError",
    "RateLimited",
    "RecordNotFound",
    "Remedy",
    "RetriableError",
    "ServerUnavailable",
    "SyncError",
    "TicketClosedRemotely",
    "UnknownUser",
    "UpdateConflict",
    "ZendeskRejected",
    "remedy_for",
]


class CaseSyncError(Exception):
    """Base class of every error casesync raises."""


class CaseNotFound(CaseSyncError):
    """The case does not exist in that account (also for another account's case)."""

    def __init__(self, account_id: str, case_id: int) -> None:
        super().__init__(f"case {case_id} not found in account {account_id!r}")
        self.account_id = account_id
        self.case_id = case_id


class CaseClosed(CaseSyncError):
    """The case is Closed: no message or close is accepted; continue it with a new case."""

    def __init__(self, case_id: int) -> None:
        super().__init__(
            f"case {case_id} is Closed: open a new case that refers to it (refers_to={case_id})"
        )
        self.case_id = case_id


class InvalidInput(CaseSyncError):
    """The input was refused; nothing was stored."""


class UnknownUser(CaseSyncError):
    """The user is not a user of that account."""

    def __init__(self, account_id: str, user_id: str) -> None:
        super().__init__(f"user {user_id!r} is not a user of account {account_id!r}")
        self.account_id = account_id
        self.user_id = user_id


class ConfigurationError(CaseSyncError):
    """A setting is missing or malformed; the message names the variable."""


class SyncError(CaseSyncError):
    """An error met while talking to Zendesk; ``status`` and ``body`` when there was a response."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RetriableError(SyncError):
    """A transient failure: try again later, never dead-letter.

    ``ambiguous`` is true when the request may nevertheless have been applied (a write that timed out or
    got a 500/502/504): the caller checks Zendesk before sending it again.
    """

    retry_after: float | None = None
    ambiguous: bool = False


class RateLimited(RetriableError):
    """429: Zendesk asks to wait ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float | None, status: int = 429, body: str = "") -> None:
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after


class ServerUnavailable(RetriableError):
    """A 5xx answer; a 503 may say when to come back."""

    def __init__(self, message: str, *, status: int, body: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, status=status, body=body)
        self.retry_after = retry_after


class NetworkError(RetriableError):
    """No usable answer: timeout, reset, refused. ``ambiguous`` when the request may have been applied."""

    def __init__(self, message: str, *, ambiguous: bool) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


class ConflictError(SyncError):
    """Zendesk's state moved under the change: re-read it and decide again."""


class UpdateConflict(ConflictError):
    """409 from a safe update (``updated_stamp`` was stale)."""


class TicketClosedRemotely(ConflictError):
    """422 "closed prevents ticket update": the ticket was closed in Zendesk before the change arrived."""


class PermanentError(SyncError):
    """Retrying cannot help: the change goes to the dead-letter list with this reason."""


class ZendeskRejected(PermanentError):
    """A 4xx answer that re-reading cannot fix."""


class AuthenticationFailed(PermanentError):
    """401/403: the credentials are wrong or lack the rights needed."""


class MappingError(PermanentError):
    """Zendesk sent a value casesync cannot map (never guessed)."""


class MalformedPayload(PermanentError):
    """A stored outbox payload its kind's model cannot read (:mod:`sync.store.outbox_payloads`): retrying
    cannot help, the entry is dead-lettered with the fields at fault."""


class RecordNotFound(ZendeskRejected):
    """404: the record does not exist in Zendesk (never created, or deleted)."""


class Remedy(StrEnum):
    """What the work that failed does next (singer-sdk's model: an error is known by the action it demands)."""

    RETRY = "retry"  # transient: again after a backoff, for as long as it takes
    REREAD = "reread"  # Zendesk moved under the change: read it again and decide again
    GIVE_UP = "give_up"  # retrying cannot help: the dead-letter list, with the reason
    INVESTIGATE = "investigate"  # not an error casesync knows (a bug): retried with backoff, logged loudly


def remedy_for(exc: BaseException) -> Remedy:
    """The one classification of a failure, for the outbox worker and the inbox worker alike."""
    if isinstance(exc, RetriableError):
        return Remedy.RETRY
    if isinstance(exc, ConflictError):
        return Remedy.REREAD
    if isinstance(exc, SyncError | MappingValueError | TransitionRefused):
        return Remedy.GIVE_UP
    return Remedy.INVESTIGATE
