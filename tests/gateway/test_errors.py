"""Error translation: every zenpy/requests failure becomes one typed error of sync.errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError
from zenpy.lib.exception import APIException, RecordNotFoundException, ZenpyException

from mappings.zendesk import CommentDraft, TicketUpdateDraft
from sync.errors import (
    AuthenticationFailed,
    MappingError,
    NetworkError,
    PermanentError,
    RateLimited,
    RecordNotFound,
    ServerUnavailable,
    SyncError,
    TicketClosedRemotely,
    UpdateConflict,
    ZendeskRejected,
)
from sync.gateway import ZendeskGateway, parse_retry_after, translate
from sync.retry import RetryPolicy
from tests.gateway.gateway_fakes import BASE

CLOSED_BODY = (
    '{"error":"RecordInvalid","description":"Record validation errors",'
    '"details":{"status":[{"description":"Status: closed prevents ticket update"}]}}'
)

# status, body, headers → expected error type, retry_after
TABLE = [
    (429, "Rate limit for ticket updates exceeded", {"Retry-After": "93"}, RateLimited, 93.0),
    (429, '{"error":"APIRateLimitExceeded"}', {"Retry-After": "1.5"}, RateLimited, 1.5),
    (429, "Too many", {}, RateLimited, None),
    (503, '{"error":"DatabaseTimeout"}', {"Retry-After": "4"}, ServerUnavailable, 4.0),
    (503, "<html>maintenance</html>", {}, ServerUnavailable, None),
    (500, '{"error":"InternalError"}', {}, ServerUnavailable, None),
    (502, "<html>bad gateway</html>", {}, ServerUnavailable, None),
    (504, "", {}, ServerUnavailable, None),
    (409, '{"error":"UpdateConflict","description":"Safe Update prevented the update"}', {}, UpdateConflict, None),
    (422, CLOSED_BODY, {}, TicketClosedRemotely, None),
    (422, '{"error":"RecordInvalid","details":{"email":[{"error":"DuplicateValue"}]}}', {}, ZendeskRejected, None),
    (401, '{"error":"Couldn\'t authenticate you"}', {}, AuthenticationFailed, None),
    (403, '{"error":{"title":"Forbidden","message":"You do not have access"}}', {}, AuthenticationFailed, None),
    (404, '{"error":"RecordNotFound","description":"Not found"}', {}, RecordNotFound, None),
    (400, '{"error":"TooManyValues"}', {}, ZendeskRejected, None),
    (400, '{"error":"IdempotentRequestError"}', {}, ZendeskRejected, None),
    (413, "Payload Too Large", {}, ZendeskRejected, None),
]


@pytest.fixture
def no_retry_gw(gw: ZendeskGateway, policy: RetryPolicy) -> ZendeskGateway:
    gw.policy = policy.with_(max_attempts=1)
    return gw


@pytest.mark.parametrize(("status", "body", "headers", "expected", "retry_after"), TABLE)
@pytest.mark.parametrize("via", ["zenpy-get", "zenpy-put", "raw-put"])
def test_http_errors_translate(
    no_retry_gw: ZendeskGateway,
    rsps: responses.RequestsMock,
    via: str,
    status: int,
    body: str,
    headers: dict[str, str],
    expected: type[SyncError],
    retry_after: float | None,
) -> None:
    content_type = "application/json" if body.startswith("{") else "text/html"
    call: Callable[[], object]
    if via == "zenpy-get":
        rsps.get(BASE + "tickets/42.json", status=status, body=body, headers=headers, content_type=content_type)
        call = lambda: no_retry_gw.get_ticket(42)  # noqa: E731
    elif via == "zenpy-put":
        rsps.put(BASE + "tickets/42.json", status=status, body=body, headers=headers, content_type=content_type)
        call = lambda: no_retry_gw.update_ticket(42, TicketUpdateDraft(comment=CommentDraft(body="x")))  # noqa: E731
    else:
        rsps.put(BASE + "tickets/42/tags.json", status=status, body=body, headers=headers, content_type=content_type)
        call = lambda: no_retry_gw.add_tags(42, ["a"])  # noqa: E731
    with pytest.raises(SyncError) as info:
        call()
    err = info.value
    assert type(err) is expected
    assert err.status == status
    assert getattr(err, "retry_after", None) == retry_after
    if isinstance(err, ServerUnavailable):
        # A write answered 500/502/504 may have been applied; a read or a 503 never counts as applied.
        assert err.ambiguous is (via != "zenpy-get" and status != 503)
    assert str(status) in str(err)


def _connect_refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/api/v2/tickets.json", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "method", "ambiguous"),
    [
        (_connect_refused(), "POST", False),
        (requests.ConnectTimeout("connect timed out"), "PUT", False),
        (requests.ReadTimeout("read timed out"), "PUT", True),
        (requests.ReadTimeout("read timed out"), "POST", True),
        (requests.ReadTimeout("read timed out"), "GET", False),
        (requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104))), "PUT", True),
        (requests.ConnectionError(ProtocolError("Connection aborted.", ConnectionResetError(104))), "GET", False),
        (requests.ConnectionError("RemoteDisconnected('Remote end closed connection')"), "POST", True),
        (requests.exceptions.ChunkedEncodingError("IncompleteRead"), "PUT", True),
    ],
)
def test_network_errors_translate(exc: Exception, method: str, ambiguous: bool) -> None:
    err = translate(exc, method=method)
    assert isinstance(err, NetworkError)
    assert err.ambiguous is ambiguous


def test_network_errors_over_http(no_retry_gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.post(BASE + "tickets.json", body=_connect_refused())
    rsps.put(BASE + "tickets/42.json", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(NetworkError) as refused:
        no_retry_gw._call(lambda: no_retry_gw._raw("POST", "tickets.json", json={}), method="POST", replay_safe=False)
    assert refused.value.ambiguous is False
    with pytest.raises(NetworkError) as timed_out:
        no_retry_gw.update_ticket(42, TicketUpdateDraft(comment=CommentDraft(body="x")))
    assert timed_out.value.ambiguous is True


def _response(status: int, body: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.url = BASE + "tickets/1.json?email=secret@acme.test"
    return response


def test_zenpy_exceptions_translate() -> None:
    assert isinstance(translate(RecordNotFoundException("{}", response=_response(404, "{}"))), RecordNotFound)
    assert isinstance(translate(APIException("{}", response=_response(409, "{}"))), UpdateConflict)
    # APIException is not a ZenpyException: both are handled.
    assert isinstance(translate(APIException("no response")), ZendeskRejected)
    assert isinstance(translate(ZenpyException("Could not handle response: <html>")), MappingError)
    assert isinstance(translate(ZenpyException("subdomain is required")), PermanentError)
    assert isinstance(translate(requests.HTTPError("boom", response=_response(502, "bad"))), ServerUnavailable)


def test_messages_never_carry_the_query_string() -> None:
    err = translate(APIException("{}", response=_response(400, '{"error":"Bad"}')), method="GET")
    assert "secret@acme.test" not in str(err) and "/api/v2/tickets/1.json" in str(err)


def test_other_exceptions_are_not_swallowed() -> None:
    with pytest.raises(TypeError):
        translate(KeyError("x"))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("93", 93.0),
        ("1.5", 1.5),
        (" 0 ", 0.0),
        ("-3", 0.0),
        ("Wed, 01 Jan 2026 10:00:30 GMT", 30.0),
        ("Wed, 01 Jan 2026 09:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=datetime(2026, 1, 1, 10, tzinfo=UTC)) == expected


def test_retry_after_date_is_counted_from_zendesks_date(
    no_retry_gw: ZendeskGateway, rsps: responses.RequestsMock
) -> None:
    rsps.get(
        BASE + "tickets/42.json",
        status=429,
        headers={"Retry-After": "Wed, 01 Jan 2026 10:00:20 GMT", "Date": "Wed, 01 Jan 2026 10:00:00 GMT"},
    )
    with pytest.raises(RateLimited) as info:
        no_retry_gw.get_ticket(42)
    assert info.value.retry_after == 20.0
