"""The gateway's calls at the HTTP level: what is sent, what comes back, what is retried."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from unittest import mock

import pytest
import requests
import responses
from responses import matchers

from mappings.zendesk import CcChange, CommentDraft, TicketDraft, TicketUpdateDraft
from sync.errors import (
    InvalidInput,
    NetworkError,
    RateLimited,
    RecordNotFound,
    ServerUnavailable,
    UpdateConflict,
    ZendeskRejected,
)
from sync.gateway import GatewaySession, ZendeskGateway
from sync.retry import RetryPolicy
from tests.gateway.gateway_fakes import BASE, FakeTime

TICKET = {
    "id": 42,
    "status": "new",
    "subject": "Printer on fire",
    "requester_id": 7,
    "organization_id": 3,
    "external_id": "console-case:1001",
    "tags": ["console_case", "console_case_1001"],
    "created_at": "2026-01-01T10:00:00Z",
    "updated_at": "2026-01-01T10:00:00Z",
    "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
}
AUDIT = {
    "id": 900,
    "ticket_id": 42,
    "author_id": 7,
    "created_at": "2026-01-01T10:00:00Z",
    "metadata": {"custom": {"casesync_message": "m-1"}, "system": {}},
    "events": [
        {"id": 901, "type": "Comment", "body": "It is on fire", "public": True, "author_id": 7, "attachments": []},
        {"id": 902, "type": "Create", "field_name": "status", "value": "new"},
    ],
}


def draft() -> TicketDraft:
    return TicketDraft(
        subject="Printer on fire",
        comment=CommentDraft(body="It is on fire", author_id=7, uploads=["tok1"]),
        requester_id=7,
        organization_id=3,
        external_id="console-case:1001",
        tags=["console_case", "console_case_1001"],
        email_ccs=[CcChange(email="boss@acme.test", action="put")],
    )


def body_of(call: responses.Call) -> dict[str, object]:
    raw = call.request.body
    assert raw is not None
    return dict(json.loads(raw))


# -- headers ---------------------------------------------------------------------------------------------


def test_create_ticket_sends_idempotency_key_and_returns_the_comment(
    gw: ZendeskGateway, rsps: responses.RequestsMock
) -> None:
    rsps.post(BASE + "tickets.json", json={"ticket": TICKET, "audit": AUDIT}, status=201)
    ticket, comment = gw.create_ticket(draft(), "case-1001-create")
    sent = rsps.calls[0].request
    assert sent.headers["Idempotency-Key"] == "case-1001-create"
    payload = body_of(rsps.calls[0])["ticket"]
    assert payload == {
        "subject": "Printer on fire",
        "requester_id": 7,
        "organization_id": 3,
        "external_id": "console-case:1001",
        "comment": {"body": "It is on fire", "public": True, "author_id": 7, "uploads": ["tok1"]},
        "tags": ["console_case", "console_case_1001"],
        "email_ccs": [{"user_email": "boss@acme.test", "action": "put"}],
    }
    assert ticket.id == 42 and ticket.external_id == "console-case:1001"
    assert comment is not None
    assert (comment.id, comment.author_id, comment.audit_id) == (901, 7, 900)
    assert comment.custom == {"casesync_message": "m-1"}
    assert comment.created_at == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_idempotency_key_is_not_sent_on_other_requests(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.post(BASE + "tickets.json", json={"ticket": TICKET, "audit": AUDIT}, status=201)
    rsps.get(BASE + "tickets/42.json", json={"ticket": TICKET})
    gw.create_ticket(draft(), "k")
    gw.get_ticket(42)
    assert "Idempotency-Key" not in rsps.calls[1].request.headers


def test_reply_on_behalf_uses_the_requests_api_with_x_on_behalf_of(
    gw: ZendeskGateway, rsps: responses.RequestsMock
) -> None:
    rsps.put(
        BASE + "requests/42.json",
        json={"request": {"id": 42, "status": "open"}},
        match=[matchers.header_matcher({"X-On-Behalf-Of": "ann@acme.test"})],
    )
    assert gw.reply_on_behalf(42, "ann@acme.test", CommentDraft(body="thanks", uploads=["t"])) is None
    assert body_of(rsps.calls[0]) == {"request": {"comment": {"body": "thanks", "uploads": ["t"]}}}


def test_api_token_and_oauth_authentication(session: GatewaySession, rsps: responses.RequestsMock) -> None:
    rsps.get(BASE + "users/me.json", json={"user": {"id": 1, "email": "a@acme.test", "role": "admin"}})
    oauth = ZendeskGateway(url="https://acme.zendesk.com", oauth_token="secret", session=session)
    assert oauth.me().role == "admin"
    assert rsps.calls[0].request.headers["Authorization"] == "Bearer secret"


# -- zenpy's traps ---------------------------------------------------------------------------------------


def test_zenpy_never_sleeps_on_429_and_retry_after_is_honoured(
    gw: ZendeskGateway, rsps: responses.RequestsMock, fake_time: FakeTime
) -> None:
    rsps.get(BASE + "tickets/42.json", status=429, headers={"Retry-After": "7"}, body="Too many")
    rsps.get(BASE + "tickets/42.json", json={"ticket": TICKET})
    with mock.patch("zenpy.lib.api.sleep") as zenpy_sleep:
        assert gw.get_ticket(42).id == 42
    zenpy_sleep.assert_not_called()
    assert fake_time.sleeps == [7.0]
    assert len(rsps.calls) == 2


def test_a_retried_update_sends_the_full_body_again(
    gw: ZendeskGateway, rsps: responses.RequestsMock, fake_time: FakeTime
) -> None:
    # A 503 is not ambiguous, so even an update with a comment is retried, and the body is built again
    # from the draft: nothing of the first attempt (a half-serialised object) can thin out the second.
    rsps.put(BASE + "tickets/42.json", status=503, json={"error": "Unavailable"}, headers={"Retry-After": "2"})
    rsps.put(BASE + "tickets/42.json", json={"ticket": TICKET, "audit": AUDIT})
    update = TicketUpdateDraft(
        comment=CommentDraft(body="It is on fire", author_id=7),
        status="open",
        additional_tags=["console_ack_solved"],
        metadata={"casesync_message": "m-1"},
    )
    ticket, comments = gw.update_ticket(42, update, updated_stamp="2026-01-01T10:00:00Z")
    first, second = body_of(rsps.calls[0]), body_of(rsps.calls[1])
    assert first == second
    assert first["ticket"] == {
        "comment": {"body": "It is on fire", "public": True, "author_id": 7},
        "status": "open",
        "additional_tags": ["console_ack_solved"],
        "metadata": {"casesync_message": "m-1"},
        "safe_update": True,
        "updated_stamp": "2026-01-01T10:00:00Z",
    }
    assert fake_time.sleeps == [2.0]
    assert ticket.id == 42 and [c.id for c in comments] == [901]


def test_session_mounts_adapters_without_urllib3_retries(session: GatewaySession) -> None:
    for url in ("http://127.0.0.1:9/", "https://acme.zendesk.com/"):
        retries = session.get_adapter(url).max_retries  # type: ignore[attr-defined]
        assert retries.total == 0 and retries.read is False


def test_zenpy_is_pointed_at_http_urls(session: GatewaySession, rsps: responses.RequestsMock) -> None:
    rsps.get("http://127.0.0.1:8123/api/v2/tickets/42.json", json={"ticket": TICKET})
    gateway = ZendeskGateway(url="http://127.0.0.1:8123", email="a@x.test", token="t", session=session)
    assert gateway.get_ticket(42).subject == "Printer on fire"


def test_each_thread_gets_its_own_zenpy_client(gw: ZendeskGateway) -> None:
    import threading

    clients: list[object] = []
    thread = threading.Thread(target=lambda: clients.append(gw._zenpy()))
    thread.start()
    thread.join()
    assert clients[0] is not gw._zenpy()
    assert gw._zenpy() is gw._zenpy()
    assert gw._zenpy().tickets.cache.disabled


# -- retries ---------------------------------------------------------------------------------------------


def test_4xx_is_never_retried(gw: ZendeskGateway, rsps: responses.RequestsMock, fake_time: FakeTime) -> None:
    rsps.put(BASE + "tickets/42.json", status=422, json={"error": "RecordInvalid", "description": "bad"})
    with pytest.raises(ZendeskRejected) as info:
        gw.update_ticket(42, TicketUpdateDraft(status="open"))
    assert info.value.status == 422 and "RecordInvalid" in str(info.value)
    assert len(rsps.calls) == 1 and fake_time.sleeps == []


def test_409_from_a_safe_update_is_a_conflict_not_retried(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.put(BASE + "tickets/42.json", status=409, json={"error": "UpdateConflict"})
    with pytest.raises(UpdateConflict):
        gw.update_ticket(42, TicketUpdateDraft(status="open"), updated_stamp="2026-01-01T10:00:00Z")
    assert len(rsps.calls) == 1


def test_an_ambiguous_write_failure_surfaces_without_retry(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.put(BASE + "tickets/42.json", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(NetworkError) as info:
        gw.update_ticket(42, TicketUpdateDraft(comment=CommentDraft(body="hi", author_id=7)))
    assert info.value.ambiguous
    assert len(rsps.calls) == 1


def test_a_500_to_a_comment_update_is_ambiguous_and_surfaces(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.put(BASE + "tickets/42.json", status=500, json={"error": "InternalError"})
    with pytest.raises(ServerUnavailable) as info:
        gw.update_ticket(42, TicketUpdateDraft(comment=CommentDraft(body="hi", author_id=7)))
    assert info.value.ambiguous and len(rsps.calls) == 1


def test_an_ambiguous_create_surfaces_for_the_external_id_lookup(
    gw: ZendeskGateway, rsps: responses.RequestsMock
) -> None:
    rsps.post(BASE + "tickets.json", body=requests.ConnectionError("Connection reset by peer"))
    with pytest.raises(NetworkError) as info:
        gw.create_ticket(draft(), "k")
    assert info.value.ambiguous and len(rsps.calls) == 1


def test_a_replay_safe_write_is_retried_after_an_ambiguous_failure(
    gw: ZendeskGateway, rsps: responses.RequestsMock
) -> None:
    rsps.put(BASE + "tickets/42/tags.json", body=requests.ReadTimeout("read timed out"))
    rsps.put(BASE + "tickets/42/tags.json", json={"tags": ["a", "console_ack_solved"]})
    assert gw.add_tags(42, ["console_ack_solved"]) == ["a", "console_ack_solved"]
    assert len(rsps.calls) == 2


def test_reads_are_retried_on_network_errors_then_give_up(
    gw: ZendeskGateway, rsps: responses.RequestsMock, fake_time: FakeTime
) -> None:
    for _ in range(5):
        rsps.get(BASE + "tickets/42.json", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(NetworkError) as info:
        gw.get_ticket(42)
    assert not info.value.ambiguous
    assert len(rsps.calls) == 5
    assert fake_time.sleeps == [0.375, 0.75, 1.5, 3.0]  # base 0.5 doubling, half jittered at 0.5


def test_exports_never_wait_on_429(gw: ZendeskGateway, rsps: responses.RequestsMock, fake_time: FakeTime) -> None:
    rsps.get(BASE + "incremental/tickets/cursor.json", status=429, headers={"Retry-After": "30"})
    with pytest.raises(RateLimited) as info:
        gw.export_tickets(start_time=1)
    assert info.value.retry_after == 30.0
    assert fake_time.sleeps == [] and len(rsps.calls) == 1


def test_a_retry_after_beyond_the_time_budget_is_raised_at_once(
    session: GatewaySession, rsps: responses.RequestsMock, fake_time: FakeTime
) -> None:
    policy = RetryPolicy(sleep=fake_time.sleep, clock=fake_time.clock, max_elapsed_s=30.0)
    gateway = ZendeskGateway(
        url="https://acme.zendesk.com", email="a@x.test", token="t", session=session, policy=policy
    )
    rsps.get(BASE + "tickets/42.json", status=429, headers={"Retry-After": "93"}, body="Rate limit exceeded")
    with pytest.raises(RateLimited) as info:
        gateway.get_ticket(42)
    assert info.value.retry_after == 93.0 and fake_time.sleeps == []


def test_404_is_record_not_found(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.get(BASE + "tickets/5.json", status=404, json={"error": "RecordNotFound", "description": "Not found"})
    with pytest.raises(RecordNotFound):
        gw.get_ticket(5)


# -- reads and conversions -------------------------------------------------------------------------------


def test_followup_source_comes_from_via(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    via = {"channel": "web", "source": {"from": {"ticket_id": 41, "subject": "old"}, "to": {}, "rel": "follow_up"}}
    rsps.get(BASE + "tickets/42.json", json={"ticket": {**TICKET, "via": via, "followup_ids": [50]}})
    ticket = gw.get_ticket(42)
    assert ticket.followup_source_id == 41 and ticket.followup_ids == [50]


def test_get_tickets_uses_show_many_in_chunks_of_100(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        assert request.url is not None
        ids = request.url.split("ids=")[1].split("&")[0].replace("%2C", ",").split(",")
        return 200, {}, json.dumps({"tickets": [{**TICKET, "id": int(i)} for i in ids]})

    rsps.add_callback(responses.GET, BASE + "tickets/show_many.json", callback=answer)
    tickets = gw.get_tickets(list(range(1, 251)))
    assert [t.id for t in tickets] == list(range(1, 251))
    assert len(rsps.calls) == 3


def test_list_comments_follows_cursor_pages(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    page2 = BASE + "tickets/42/comments.json?page%5Bsize%5D=100&page%5Bafter%5D=abc"
    rsps.get(
        BASE + "tickets/42/comments.json",
        match=[matchers.query_param_matcher({"page[size]": "100", "include_inline_images": "true"})],
        json={
            "comments": [
                {
                    "id": 1,
                    "author_id": 7,
                    "body": "first",
                    "public": True,
                    "created_at": "2026-01-01T10:00:00Z",
                    "metadata": {"custom": {"casesync_message": "m-1"}, "system": {}},
                    "attachments": [
                        {"id": 5, "file_name": "a.txt", "content_type": "text/plain", "size": 3, "content_url": "u"}
                    ],
                }
            ],
            "meta": {"has_more": True, "after_cursor": "abc"},
            "links": {"next": page2},
        },
    )
    rsps.get(
        page2,
        json={
            "comments": [
                {"id": 2, "author_id": 8, "body": "note", "public": False, "created_at": "2026-01-01T11:00:00Z"}
            ],
            "meta": {"has_more": False},
            "links": {"next": None},
        },
    )
    comments = gw.list_comments(42)
    assert [(c.id, c.public) for c in comments] == [(1, True), (2, False)]
    assert comments[0].custom == {"casesync_message": "m-1"}
    assert comments[0].attachments[0].file_name == "a.txt"
    assert comments[1].custom == {}


def test_list_comments_follows_the_after_cursor_when_a_page_links_no_next(
    gw: ZendeskGateway, rsps: responses.RequestsMock
) -> None:
    first = {"page[size]": "100", "include_inline_images": "true"}

    def comment(cid: int) -> dict[str, object]:
        return {"id": cid, "author_id": 7, "body": f"c{cid}", "public": True, "created_at": "2026-01-01T10:00:00Z"}

    rsps.get(
        BASE + "tickets/42/comments.json",
        match=[matchers.query_param_matcher(first)],
        json={"comments": [comment(1)], "meta": {"has_more": True, "after_cursor": "abc"}},
    )
    rsps.get(
        BASE + "tickets/42/comments.json",
        match=[matchers.query_param_matcher({**first, "page[after]": "abc"})],
        json={"comments": [comment(2)], "meta": {"has_more": False}},
    )
    assert [c.id for c in gw.list_comments(42)] == [1, 2]


def test_export_tickets_returns_the_page_and_the_server_date(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.get(
        BASE + "incremental/tickets/cursor.json",
        match=[matchers.query_param_matcher({"cursor": "C1", "per_page": "50"})],
        headers={"Date": "Wed, 01 Jan 2026 10:05:00 GMT"},
        json={"tickets": [TICKET], "after_cursor": "C2", "end_of_stream": True, "after_url": "x"},
    )
    page = gw.export_tickets(cursor="C1", per_page=50)
    assert [t.id for t in page.tickets] == [42]
    assert (page.after_cursor, page.end_of_stream) == ("C2", True)
    assert page.server_date == datetime(2026, 1, 1, 10, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        gw.export_tickets()


def test_export_ticket_events_extracts_comments(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.get(
        BASE + "incremental/ticket_events.json",
        match=[matchers.query_param_matcher({"start_time": "100", "include": "comment_events"})],
        json={
            "ticket_events": [
                {
                    "id": 1,
                    "ticket_id": 42,
                    "updater_id": 8,
                    "created_at": "2026-01-01T10:00:00Z",
                    "event_type": "Audit",
                    "child_events": [
                        {"id": 9, "event_type": "Change", "field_name": "status", "value": "pending"},
                        {
                            "id": 10,
                            "type": "Comment",
                            "event_type": "Comment",
                            "author_id": 8,
                            "body": "Any news?",
                            "public": True,
                            "attachments": [],
                            "created_at": "2026-01-01T10:00:00Z",
                            "via": {"channel": "web"},
                        },
                    ],
                }
            ],
            "end_time": 200,
            "end_of_stream": False,
            "count": 1,
        },
    )
    page = gw.export_ticket_events(100)
    assert page.end_time == 200 and not page.end_of_stream
    [event] = page.comment_events
    assert (event.ticket_id, event.comment_id, event.author_id, event.public) == (42, 10, 8, True)
    assert event.via_channel == "web" and event.updater_id == 8


def test_export_ticket_events_reports_comments_made_private(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    def privacy(event_id: int, comment_id: int, public: bool) -> dict[str, object]:
        return {"id": event_id, "type": "CommentPrivacyChange", "event_type": "CommentPrivacyChange",
                "comment_id": comment_id, "public": public}

    rsps.get(
        BASE + "incremental/ticket_events.json",
        json={
            "ticket_events": [
                {"id": 1, "ticket_id": 42, "timestamp": 150, "event_type": "Audit",
                 "child_events": [privacy(2, 10, False)]},
                {"id": 3, "ticket_id": 42, "timestamp": 160, "event_type": "Audit",
                 "child_events": [privacy(4, 11, False), privacy(5, 10, False)]},
                {"id": 6, "ticket_id": 43, "timestamp": 170, "event_type": "Audit",
                 "child_events": [privacy(7, 12, True), {"id": 8, "event_type": "Change", "field_name": "status"}]},
            ],
            "end_time": 171,
            "end_of_stream": True,
            "count": 3,
        },
    )
    page = gw.export_ticket_events(100)
    assert page.privacy_changes == {42: [10, 11]}  # each comment once; only changes to private
    assert page.comment_events == [] and page.ticket_event_times == {42: 160, 43: 170}


def test_zendesk_now_follows_the_date_header(
    gw: ZendeskGateway, rsps: responses.RequestsMock, fake_time: FakeTime
) -> None:
    rsps.get(BASE + "tickets/42.json", json={"ticket": TICKET}, headers={"Date": "Wed, 01 Jan 2026 10:00:00 GMT"})
    gw.get_ticket(42)
    fake_time.now += 12.5
    assert gw.zendesk_now() == datetime(2026, 1, 1, 10, 0, 12, 500000, tzinfo=UTC)


# -- users and organizations -----------------------------------------------------------------------------


def test_upsert_end_user_never_touches_an_agent(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.get(BASE + "users/search.json", json={"users": [{"id": 5, "email": "Staff@acme.test", "role": "agent"}]})
    user = gw.upsert_end_user("staff@acme.test", "Staff", 3)
    assert user.role == "agent"
    assert len(rsps.calls) == 1


def test_upsert_end_user_creates_a_verified_member(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.get(BASE + "users/search.json", json={"users": []})
    rsps.post(
        BASE + "users/create_or_update.json",
        status=201,
        json={"user": {"id": 9, "email": "ann@acme.test", "name": "Ann", "verified": True, "organization_id": 3}},
    )
    user = gw.upsert_end_user("ann@acme.test", "Ann", 3)
    assert user.id == 9 and user.role == "end-user"
    assert body_of(rsps.calls[1]) == {
        "user": {
            "email": "ann@acme.test",
            "name": "Ann",
            "verified": True,
            "skip_verify_email": True,
            "organization_id": 3,
        }
    }


def test_upsert_end_user_adds_a_known_user_to_another_organization(
    gw: ZendeskGateway, rsps: responses.RequestsMock
) -> None:
    known = {"id": 9, "email": "ann@acme.test", "name": "Ann", "verified": True, "organization_id": 3}
    rsps.get(BASE + "users/search.json", json={"users": [known]})
    rsps.post(BASE + "organization_memberships.json", status=201, json={"organization_membership": {"id": 1}})
    assert gw.upsert_end_user("ann@acme.test", "Ann", 4).id == 9
    assert body_of(rsps.calls[1]) == {"organization_membership": {"organization_id": 4, "user_id": 9}}


def test_add_membership_is_idempotent(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.post(
        BASE + "organization_memberships.json",
        status=422,
        json={
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {"user_id": [{"description": "User is already a member of this organization"}]},
        },
    )
    assert gw.add_membership(9, 3) is False


def test_upsert_organization(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.post(
        BASE + "organizations/create_or_update.json",
        status=201,
        json={"organization": {"id": 3, "name": "Acme", "external_id": "console-account:a1"}},
    )
    org = gw.upsert_organization("console-account:a1", "Acme")
    assert (org.id, org.external_id) == (3, "console-account:a1")


def test_change_user_email_goes_through_identities(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.get(
        BASE + "users/9/identities.json",
        json={"identities": [{"id": 1, "type": "email", "value": "old@acme.test", "primary": True}]},
    )
    rsps.post(BASE + "users/9/identities.json", status=201, json={"identity": {"id": 2, "type": "email"}})
    rsps.put(BASE + "users/9/identities/2/make_primary", json={"identities": []})
    rsps.delete(BASE + "users/9/identities/1.json", status=204)
    gw.change_user_email(9, "old@acme.test", "new@acme.test")
    assert [c.request.method for c in rsps.calls] == ["GET", "POST", "PUT", "DELETE"]
    assert body_of(rsps.calls[1]) == {"identity": {"type": "email", "value": "new@acme.test", "verified": True}}


def test_token_scopes(gw: ZendeskGateway, session: GatewaySession, rsps: responses.RequestsMock) -> None:
    assert gw.token_scopes() is None and not gw.can_impersonate
    rsps.get(BASE + "oauth/tokens/current.json", json={"token": {"id": 1, "scopes": ["read", "write", "impersonate"]}})
    oauth = ZendeskGateway(url="https://acme.zendesk.com", oauth_token="o", session=session)
    assert oauth.can_impersonate and oauth.can_impersonate
    assert len(rsps.calls) == 1


# -- bulk ------------------------------------------------------------------------------------------------


def test_update_many_and_wait_job(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.put(BASE + "tickets/update_many.json", json={"job_status": {"id": "J1", "status": "queued"}})
    rsps.get(BASE + "job_statuses/J1.json", json={"job_status": {"id": "J1", "status": "working"}})
    rsps.get(
        BASE + "job_statuses/J1.json",
        json={
            "job_status": {
                "id": "J1",
                "status": "completed",
                "results": [
                    {"id": 1, "action": "update", "success": True, "status": "Updated"},
                    {"id": 2, "action": "update", "success": False, "error": "TooManyCCs", "details": "48"},
                ],
            }
        },
    )
    cc = TicketUpdateDraft(email_ccs=[CcChange(email="x@acme.test", action="delete")])
    job = gw.update_many([(1, cc), (2, cc)])
    assert job == "J1"
    assert body_of(rsps.calls[0]) == {
        "tickets": [
            {"id": 1, "email_ccs": [{"user_email": "x@acme.test", "action": "delete"}]},
            {"id": 2, "email_ccs": [{"user_email": "x@acme.test", "action": "delete"}]},
        ]
    }
    naps: list[float] = []
    results = gw.wait_job(job, sleep=naps.append)
    assert [(r.id, r.success, r.error) for r in results] == [(1, True, None), (2, False, "TooManyCCs")]
    assert naps == [1.0]


def test_update_many_refuses_more_than_100(gw: ZendeskGateway) -> None:
    with pytest.raises(InvalidInput):
        gw.update_many([(i, TicketUpdateDraft(status="open")) for i in range(101)])


def test_upload_and_download(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.post(
        BASE + "uploads.json",
        status=201,
        json={"upload": {"token": "TOK", "attachment": {"id": 1}}},
        match=[matchers.query_param_matcher({"filename": "log.txt"})],
    )
    rsps.get("https://acme.zendesk.com/attachments/token/x/?name=log.txt", body=b"abc")
    assert gw.upload("log.txt", "text/plain", b"abc") == "TOK"
    assert rsps.calls[0].request.headers["Content-Type"] == "text/plain"
    assert rsps.calls[0].request.body == b"abc"
    assert gw.download("https://acme.zendesk.com/attachments/token/x/?name=log.txt") == b"abc"


def test_deleting_a_user_then_permanently_deleting_it(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.delete(BASE + "users/7.json", json={"user": {"id": 7, "active": False}})
    rsps.delete(BASE + "deleted_users/7.json", json={"deleted_user": {"id": 7}})
    gw.delete_user(7)
    gw.permanently_delete_user(7)
    assert [(c.request.method, c.request.url) for c in rsps.calls] == [
        ("DELETE", BASE + "users/7.json"), ("DELETE", BASE + "deleted_users/7.json"),
    ]
    rsps.delete(BASE + "deleted_users/8.json", status=404, json={"error": "RecordNotFound"})
    with pytest.raises(RecordNotFound):
        gw.permanently_delete_user(8)
