"""The gateway against the sandbox over real HTTP, through zenpy (the retry policy's sleep is injected)."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
import requests

from mappings.zendesk import CommentDraft, TicketDraft, TicketUpdateDraft, ZOrganization, ZUser
from sync.errors import MappingError, NetworkError, RecordNotFound, UpdateConflict
from sync.gateway import ZendeskGateway
from sync.retry import RetryPolicy
from sync.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(rate_limits=False) as zd:
        yield zd


@pytest.fixture
def zd(sandbox: Sandbox) -> Sandbox:
    sandbox.reset()
    return sandbox


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def gw(zd: Sandbox, sleeps: list[float]) -> ZendeskGateway:
    policy = RetryPolicy(sleep=sleeps.append, random_source=lambda: 0.5, max_attempts=8, max_elapsed_s=None)
    return ZendeskGateway(url=zd.url, email=zd.agent_email, token=zd.agent_token, policy=policy)


def _account(gw: ZendeskGateway) -> tuple[ZOrganization, ZUser]:
    org = gw.upsert_organization("console-account:a1", "Acme")
    user = gw.upsert_end_user("ann@acme.test", "Ann", org.id)
    return org, user


def _draft(org: ZOrganization, user: ZUser, *, uploads: list[str] | None = None) -> TicketDraft:
    return TicketDraft(
        subject="Printer on fire",
        comment=CommentDraft(body="It is on fire", author_id=user.id, uploads=uploads or []),
        requester_id=user.id,
        organization_id=org.id,
        external_id="console-case:1001",
        tags=["console_case", "console_case_1001"],
    )


def test_create_update_and_read_back(gw: ZendeskGateway) -> None:
    org, user = _account(gw)
    assert user.role == "end-user" and user.verified
    assert gw.upsert_organization("console-account:a1", "Acme").id == org.id  # create_or_update
    token = gw.upload("log.txt", "text/plain", b"hello")
    ticket, first = gw.create_ticket(_draft(org, user, uploads=[token]), "case-1001")
    assert ticket.status == "new" and ticket.organization_id == org.id
    assert first is not None and first.author_id == user.id

    stamp = ticket.updated_at.isoformat().replace("+00:00", "Z") if ticket.updated_at else None
    update = TicketUpdateDraft(
        comment=CommentDraft(body="Any news?", author_id=user.id),
        additional_tags=["console_ack_solved"],
        metadata={"casesync_message": "m-2"},
    )
    updated, added = gw.update_ticket(ticket.id, update, updated_stamp=stamp)
    assert "console_ack_solved" in updated.tags and "console_case" in updated.tags
    assert [c.custom for c in added] == [{"casesync_message": "m-2"}]

    comments = gw.list_comments(ticket.id)
    assert [c.body for c in comments] == ["It is on fire", "Any news?"]
    assert comments[1].custom == {"casesync_message": "m-2"} and comments[1].id == added[0].id
    [attachment] = comments[0].attachments
    assert gw.download(attachment.content_url) == b"hello"
    assert [t.id for t in gw.get_tickets([ticket.id, 999_999])] == [ticket.id]


def test_an_idempotent_create_replays_the_same_ticket(gw: ZendeskGateway) -> None:
    org, user = _account(gw)
    first, _ = gw.create_ticket(_draft(org, user), "case-1001")
    again, _ = gw.create_ticket(_draft(org, user), "case-1001")
    assert again.id == first.id
    assert [t.id for t in gw.find_tickets_by_external_id("console-case:1001")] == [first.id]


def test_a_stale_safe_update_conflicts(gw: ZendeskGateway) -> None:
    org, user = _account(gw)
    ticket, _ = gw.create_ticket(_draft(org, user), "case-1001")
    with pytest.raises(UpdateConflict):
        gw.update_ticket(ticket.id, TicketUpdateDraft(status="open"), updated_stamp="2001-01-01T00:00:00Z")
    with pytest.raises(RecordNotFound):
        gw.get_ticket(999_999)


def test_a_response_dropped_after_commit_surfaces_and_the_comment_exists_once(zd: Sandbox, gw: ZendeskGateway) -> None:
    org, user = _account(gw)
    ticket, _ = gw.create_ticket(_draft(org, user), "case-1001")
    zd.configure_faults({"seed": 1, "rules": [{"path": r"/tickets/\d+", "method": "PUT", "drop_after_commit": 1.0}]})
    try:
        with pytest.raises(NetworkError) as info:
            gw.update_ticket(ticket.id, TicketUpdateDraft(comment=CommentDraft(body="once", author_id=user.id)))
    finally:
        zd.configure_faults({})
    assert info.value.ambiguous
    assert [c.body for c in gw.list_comments(ticket.id)].count("once") == 1


def test_transient_faults_are_retried_with_the_injected_sleep(
    zd: Sandbox, gw: ZendeskGateway, sleeps: list[float]
) -> None:
    org, user = _account(gw)
    ticket, _ = gw.create_ticket(_draft(org, user), "case-1001")
    rules = [{"path": r"/tickets/\d+", "method": "GET", "error_429": 0.4, "error_503": 0.4, "reset": 0.2}]
    zd.configure_faults({"seed": 7, "rules": rules})
    try:
        with mock.patch("zenpy.lib.api.sleep") as zenpy_sleep:
            for _ in range(5):
                assert gw.get_ticket(ticket.id).id == ticket.id
    finally:
        zd.configure_faults({})
    zenpy_sleep.assert_not_called()
    assert sleeps, "some faults were expected with this seed"
    assert 1.0 in sleeps  # the sandbox's Retry-After


def test_replies_on_behalf_of_the_user_with_an_impersonating_token(zd: Sandbox, gw: ZendeskGateway) -> None:
    org, user = _account(gw)
    ticket, _ = gw.create_ticket(_draft(org, user), "case-1001")
    auth = (f"{zd.agent_email}/token", zd.agent_token)
    client = requests.post(
        f"{zd.url}/api/v2/oauth/clients.json",
        json={"client": {"name": "casesync", "identifier": "casesync"}},
        auth=auth,
    ).json()["client"]
    token = requests.post(
        f"{zd.url}/api/v2/oauth/tokens.json",
        json={"token": {"client_id": client["id"], "scopes": ["read", "write", "impersonate"]}},
        auth=auth,
    ).json()["token"]["full_token"]
    oauth = ZendeskGateway(url=zd.url, oauth_token=token, policy=gw.policy)
    assert oauth.can_impersonate and not gw.can_impersonate
    oauth.reply_on_behalf(ticket.id, "ann@acme.test", CommentDraft(body="from Ann herself"))
    last = gw.list_comments(ticket.id)[-1]
    assert (last.body, last.author_id, last.public) == ("from Ann herself", user.id, True)


def test_a_bulk_job_is_waited_for_and_its_refused_items_are_failures(zd: Sandbox, gw: ZendeskGateway) -> None:
    org, user = _account(gw)
    open_ticket, _ = gw.create_ticket(_draft(org, user), "bulk-1")
    closed, _ = gw.create_ticket(_draft(org, user), "bulk-2")
    gw.update_ticket(closed.id, TicketUpdateDraft(status="closed", assignee_id=gw.me().id))
    job = gw.update_many([(open_ticket.id, TicketUpdateDraft(status="pending")),
                          (closed.id, TicketUpdateDraft(status="open"))])
    assert gw.get_tickets([open_ticket.id])[0].status == open_ticket.status  # queued: nothing applied yet
    waits: list[float] = []

    def wait(seconds: float) -> None:  # Zendesk's time passes while the gateway waits
        waits.append(seconds)
        zd.advance_clock(seconds)

    results = gw.wait_job(job, sleep=wait)
    assert waits  # the job was still queued at the first poll
    assert [(r.id, r.success) for r in results] == [(open_ticket.id, True), (closed.id, False)]
    assert results[1].error == "TicketUpdateFailed"
    assert gw.get_tickets([open_ticket.id])[0].status == "pending"


def test_a_read_answered_with_a_body_cut_short_is_retried(zd: Sandbox, gw: ZendeskGateway, sleeps: list[float]) -> None:
    """A 200 whose JSON was cut on the way is no answer (like a reset): the read is sent again."""
    org, user = _account(gw)
    ticket, _ = gw.create_ticket(_draft(org, user), "case-1001")
    rules = [{"path": r"/tickets/\d+$", "method": "GET", "truncate": 0.5}]
    zd.configure_faults({"seed": 3, "rules": rules})
    try:
        for _ in range(6):
            assert gw.get_ticket(ticket.id).id == ticket.id
    finally:
        zd.configure_faults({})
    assert sleeps, "some answers were expected to be cut with this seed"


@pytest.mark.parametrize(("method", "ambiguous"), [("GET", False), ("PUT", True)])
def test_a_body_cut_short_is_a_network_failure_ambiguous_for_a_write(
    zd: Sandbox, gw: ZendeskGateway, method: str, ambiguous: bool
) -> None:
    org, user = _account(gw)
    ticket, _ = gw.create_ticket(_draft(org, user), "case-1001")
    zd.configure_faults({"seed": 1, "rules": [{"path": r"/tickets/\d+$", "method": method, "truncate": 1.0}]})
    try:
        with pytest.raises(NetworkError) as info:
            if method == "GET":
                gw.get_ticket(ticket.id)
            else:
                gw.update_ticket(ticket.id, TicketUpdateDraft(comment=CommentDraft(body="once", author_id=user.id)))
    finally:
        zd.configure_faults({})
    assert info.value.ambiguous is ambiguous
    if method == "PUT":  # applied before the answer was cut: the caller looks before sending again
        assert [c.body for c in gw.list_comments(ticket.id)].count("once") == 1


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        # A status value Zendesk does not document is read as it is: the status table (mappings/status.py)
        # refuses it when the ticket is applied, never guessing.
        ("status", "awaiting_triage"),
        ("missing", MappingError),  # a field left out (here the ticket's status)
        ("added", "new"),  # fields the schema does not know yet: ignored
    ],
)
def test_a_ticket_drifted_from_the_schema_is_refused_or_read(
    zd: Sandbox, gw: ZendeskGateway, kind: str, outcome: type[Exception] | str
) -> None:
    org, user = _account(gw)
    ticket, _ = gw.create_ticket(_draft(org, user), "case-1001")
    rules = [{"path": r"/tickets/\d+$", "method": "GET", "drift": 1.0, "drift_kind": kind}]
    zd.configure_faults({"seed": 1, "rules": rules})
    try:
        if isinstance(outcome, str):
            assert gw.get_ticket(ticket.id).status == outcome
        else:
            with pytest.raises(outcome):
                gw.get_ticket(ticket.id)
    finally:
        zd.configure_faults({})
