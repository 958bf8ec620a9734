"""The console backend's HTTP API under ``/api/v1/`` (docs/design.md §8), a thin layer over ``SupportCases``.

Each route validates the request's shape, calls one library method and returns what it returned; the
library's typed errors become the statuses of §8 (:mod:`sync.web.api.errors`).  Nothing here re-implements
a rule of the library.  Routes are plain functions: FastAPI runs them in its worker threads, so the
library's blocking store calls never stall the event loop; long polls wait in a pool of their own.
The OpenAPI 3 document (``GET /api/v1/openapi.json``) is generated from the same pydantic models the
library returns.

Authentication: ``Authorization: Bearer <CASESYNC_API_TOKEN>`` on every route but the OpenAPI document,
compared in constant time.  The token is the console backend's: it may act for every account.
"""


import hmac
import inspect
import re
import threading
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any
from urllib.parse import quote

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from mappings.models import Account, Case, CaseChange, CaseStatus, User
from sync.api import SupportCases
from sync.browse import CasePage
from sync.erasure import ErasureReport
from sync.errors import InvalidInput
from sync.web.api.errors import install_error_handlers, responses
from sync.web.api.models import (
    AccountBody,
    ChangeList,
    CloseBody,
    Order,
    RecipientBody,
    RecipientList,
    ReplyBody,
    SubmitBody,
    UserBody,
)
from sync.web.api.transport import BodyLimit

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_POLLERS", "DEFAULT_MAX_WAIT_S", "PREFIX", "create_api"]

PREFIX = "/api/v1"
#: Room for one attachment of the library's maximum size, base64-encoded, and the rest of the body.
DEFAULT_MAX_BODY_BYTES = 72 * 1024 * 1024
#: The longest ``GET /api/v1/changes?wait=`` may hold a request (and one of FastAPI's worker threads).
DEFAULT_MAX_WAIT_S = 30.0
#: How many ``GET /api/v1/changes?wait=`` may wait at once (each holds a thread while it waits).
DEFAULT_MAX_POLLERS = 16
_POLL_SLICE_S = 1.0

_BIGINT = 2**63 - 1  # the store's integer columns: larger numbers cannot name anything
_MIME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(\s*;[\x20-\x7e]*)?$")
_SUBMIT_TAKES_PRIORITY = "priority" in inspect.signature(SupportCases.submit).parameters

AccountId = Annotated[str, Path(description="the console's account id", examples=["acme"])]
UserId = Annotated[str, Path(description="the console's user id", examples=["bob"])]
CaseId = Annotated[int, Path(ge=1, le=_BIGINT, description="the console's case number")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="the same key with the same request returns the first answer and writes nothing; "
        "with another request it is refused (400). Kept at least 24 h, per account.",
    ),
]


def _package_version() -> str:
    try:
        return version("casesync")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0"


def _content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name in RFC 6266's ``filename*``."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename) or "attachment"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def create_api(
    support: SupportCases,
    token: str,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_wait_s: float = DEFAULT_MAX_WAIT_S,
    max_pollers: int = DEFAULT_MAX_POLLERS,
    stopping: threading.Event | None = None,
) -> ASGIApp:
    """The API as an ASGI app that expects full ``/api/v1/…`` paths; ``token`` must not be empty.

    ``stopping``: once set (the server is shutting down), waiting long polls answer within a second.
    """
    if not token:
        raise ValueError("the API token must not be empty")
    expected = token.encode()
    # Long polls wait in threads of their own, so that waiting consoles never take the threads that every
    # other route runs in; past ``max_pollers`` waiting at once, a poll queues for a thread.
    pollers = anyio.CapacityLimiter(max_pollers)
    bearer = HTTPBearer(auto_error=False, description="CASESYNC_API_TOKEN")

    def require_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
        given = credentials.credentials.encode() if credentials is not None else b""
        # compare_digest takes the same time wherever the first difference is.
        if credentials is None or not hmac.compare_digest(given, expected):
            raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})

    app = FastAPI(
        title="casesync console API",
        version=_package_version(),
        description="Support cases for consoles not written in Python: the same semantics as the "
        "`SupportCases` library.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    api = APIRouter(prefix=PREFIX, dependencies=[Depends(require_token)])

    @api.put("/accounts/{account_id}", response_model=Account, responses=responses(400))
    def upsert_account(account_id: AccountId, body: AccountBody) -> Account:
        """Create or rename an account."""
        return support.upsert_account(account_id, body.name)

    @api.put("/accounts/{account_id}/users/{user_id}", response_model=User, responses=responses(400))
    def upsert_user(account_id: AccountId, user_id: UserId, body: UserBody) -> User:
        """Create or update a user of the account (admins' addresses join the recipient list)."""
        return support.upsert_user(account_id, user_id, body.email, body.name, admin=body.admin)

    @api.delete(
        "/accounts/{account_id}/users/{user_id}", response_model=ErasureReport, responses=responses(400, 422)
    )
    def erase_user(account_id: AccountId, user_id: UserId) -> ErasureReport:
        """Erase the user's personal data from casesync and, through the outbox, from Zendesk (right to erasure).

        Their cases stay, closed, for the account's other members; the report says what was removed where.
        """
        return support.erase_user(account_id, user_id)

    @api.get("/accounts/{account_id}/recipients", response_model=RecipientList, responses=responses(400))
    def recipients(account_id: AccountId) -> RecipientList:
        """The account's recipient list."""
        return RecipientList(recipients=support.recipients(account_id))

    @api.post("/accounts/{account_id}/recipients", response_model=RecipientList, responses=responses(400))
    def add_recipient(account_id: AccountId, body: RecipientBody) -> RecipientList:
        """Register an additional address; answers the full list afterwards."""
        return RecipientList(recipients=support.add_recipient(account_id, body.email))

    @api.delete("/accounts/{account_id}/recipients/{email}", response_model=RecipientList, responses=responses(400))
    def remove_recipient(account_id: AccountId, email: str) -> RecipientList:
        """Unregister an address (not an admin's); answers the full list afterwards."""
        return RecipientList(recipients=support.remove_recipient(account_id, email))

    @api.post(
        "/accounts/{account_id}/cases", status_code=201, response_model=Case, responses=responses(400, 413, 422)
    )
    def submit(account_id: AccountId, body: SubmitBody, idempotency_key: IdempotencyKey = None) -> Case:
        """Open a new case (New); ``refers_to`` continues a Closed case of the account."""
        extra: dict[str, Any] = {}
        if body.priority is not None:
            if not _SUBMIT_TAKES_PRIORITY:
                raise InvalidInput("priority is not supported by this version of casesync")
            extra["priority"] = body.priority
        return support.submit(
            account_id,
            body.user_id,
            body.subject,
            body.body,
            refers_to=body.refers_to,
            attachments=[a.to_attachment() for a in body.attachments],
            idempotency_key=idempotency_key,
            **extra,
        )

    @api.get("/accounts/{account_id}/cases", response_model=CasePage, responses=responses(400))
    def browse(
        account_id: AccountId,
        status: CaseStatus | None = None,
        requester_id: str | None = None,
        query: str | None = None,
        order: Order = "-updated_at",
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        cursor: str | None = None,
    ) -> CasePage:
        """One page of the account's cases, filtered, searched and ordered; follow ``next_cursor``."""
        return support.browse(
            account_id,
            status=status,
            requester_id=requester_id,
            query=query,
            order=order,
            limit=limit,
            cursor=cursor,
        )

    @api.get("/accounts/{account_id}/cases/{case_id}", response_model=Case, responses=responses(400, 404))
    def get_case(account_id: AccountId, case_id: CaseId) -> Case:
        """One case with its messages."""
        return support.get(account_id, case_id)

    @api.post(
        "/accounts/{account_id}/cases/{case_id}/replies",
        response_model=Case,
        responses=responses(400, 404, 409, 413, 422),
    )
    def reply(account_id: AccountId, case_id: CaseId, body: ReplyBody, idempotency_key: IdempotencyKey = None) -> Case:
        """Add the user's message; a Pending or Solved case becomes Open again."""
        return support.reply(
            account_id,
            case_id,
            body.user_id,
            body.body,
            acknowledges_solution=body.acknowledges_solution,
            attachments=[a.to_attachment() for a in body.attachments],
            idempotency_key=idempotency_key,
        )

    @api.post(
        "/accounts/{account_id}/cases/{case_id}/close", response_model=Case, responses=responses(400, 404, 409, 422)
    )
    def close(account_id: AccountId, case_id: CaseId, body: CloseBody, idempotency_key: IdempotencyKey = None) -> Case:
        """Close the case (final)."""
        return support.close(account_id, case_id, body.user_id, idempotency_key=idempotency_key)

    @api.get(
        "/accounts/{account_id}/cases/{case_id}/attachments/{attachment_id}",
        response_class=Response,
        responses={
            200: {"content": {"application/octet-stream": {}}, "description": "the file"},
            **responses(400, 404),
        },
    )
    def attachment(account_id: AccountId, case_id: CaseId, attachment_id: str) -> Response:
        """The bytes of one attachment of the case, with its content type."""
        data = support.attachment(account_id, case_id, attachment_id)
        refs = [a for m in support.get(account_id, case_id).messages for a in m.attachments if a.id == attachment_id]
        content_type = refs[0].content_type if refs and _MIME.match(refs[0].content_type) else ""
        filename = refs[0].filename if refs else attachment_id
        return Response(
            data,
            media_type=content_type or "application/octet-stream",
            headers={
                "Content-Disposition": _content_disposition(filename),
                "X-Content-Type-Options": "nosniff",
                # Opened directly, an uploaded HTML or SVG file can run nothing on this origin.
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "Cache-Control": "private, no-store",
            },
        )

    @api.get("/changes", response_model=ChangeList, responses=responses(400))
    async def changes(
        since: Annotated[int, Query(ge=0, le=_BIGINT)] = 0,
        account_id: str | None = None,
        limit: Annotated[int | None, Query(ge=1, le=_BIGINT, description="at most this many entries")] = None,
        wait: Annotated[float, Query(ge=0, le=max_wait_s, description="seconds to wait for a change")] = 0.0,
    ) -> ChangeList:
        """Change-feed entries after ``since``; with ``wait``, holds the request until one exists."""
        def poll() -> list[CaseChange]:
            # The wait goes in slices, so that a server that is stopping ends its long polls within one
            # slice instead of holding its shutdown until they time out.
            remaining = wait
            while True:
                step = min(remaining, _POLL_SLICE_S)
                found = support.changes(since, account_id=account_id, limit=limit, wait=step)
                remaining -= step
                if found or remaining <= 0 or (stopping is not None and stopping.is_set()):
                    return found

        found = await anyio.to_thread.run_sync(poll, limiter=pollers if wait > 0 else None)
        return ChangeList(changes=found)

    app.include_router(api)
    return BodyLimit(app, max_body_bytes)
