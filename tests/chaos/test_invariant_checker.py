"""The invariant checker is not vacuous: a converged world passes, and each kind of damage is reported."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.engine import SyncEngine
from sync.sandbox import Sandbox
from sync.testing.invariants import check, is_transient_reason
from sync.testing.world import World


def _world(zd: Sandbox, tmp: Path) -> World:
    """The console on a fresh SQLite store, synced with ``zd``, and a support agent."""
    return World(zd, f"sqlite:///{tmp / 'c.db'}")


def _settled_state(w: World) -> dict[str, Any]:
    """Let four minutes of polls apply what staff did, then the sandbox's whole state."""
    w.sync(4, until_idle=False)
    return w.state()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SyncEngine, dict[str, Any]]]:
    tmp: Path = tmp_path_factory.mktemp("checker")
    with Sandbox(rate_limits=False) as zd, _world(zd, tmp) as w:
        support = w.support
        for account in ("acct0", "acct1"):
            support.upsert_account(account, account)
            support.upsert_user(account, "u0", f"u0@{account}.test", "Admin", admin=True)
            support.upsert_user(account, "u1", f"u1@{account}.test", "User")
            support.add_recipient(account, f"ops@{account}.test")
            case = support.submit(account, "u1", "Help", "«c1» it broke" if account == "acct0" else "«c2» broken")
            support.reply(account, case.id, "u1", f"«c{3 if account == 'acct0' else 4}» more")
        support.upsert_user("acct0", "u2", "u2@acct0.test", "Colleague")  # answers on u1's case: CC'd
        support.reply("acct0", support.list("acct0")[0].id, "u2", "«c7» me too")
        w.engine.run_once()
        ticket = support.list("acct0")[0].ticket_id
        assert ticket is not None
        w.staff.reply(ticket, "«s5» answer")
        w.staff.note(ticket, "«n6» note")
        yield w.engine, _settled_state(w)


def _tickets(state: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(state["tickets"], key=lambda t: t["id"])


def _comment(state: dict[str, Any], token: str) -> dict[str, Any]:
    return next(c for cs in state["comments"].values() for c in cs if token in c["body"])


#: The sandbox's default custom statuses' end-user labels, by id.
LABELS = {901: "New", 902: "Open", 903: "Pending", 904: "On-hold", 905: "Solved"}


def test_a_converged_world_passes(world: tuple[SyncEngine, dict[str, Any]]) -> None:
    engine, state = world
    report = check(engine.store, state, status_labels=LABELS)
    assert report.violations == []
    assert report.checked["messages"] == 6 and report.checked["zendesk_comments"] >= 1
    assert report.checked["authors"] == 5 and report.checked["details"] == 2
    u2 = next(u["id"] for u in state["users"] if u["email"] == "u2@acct0.test")
    assert any(u2 in t["email_cc_ids"] for t in state["tickets"]), "the colleague who replied is CC'd"


def _dup_ticket(s: dict[str, Any]) -> None:
    s["tickets"].append({**_tickets(s)[0], "id": 999})


def _leak_note(s: dict[str, Any]) -> None:
    _comment(s, "«s5»")["public"] = False


def _lose_console_message(s: dict[str, Any]) -> None:
    for cs in s["comments"].values():
        cs[:] = [c for c in cs if "«c3»" not in c["body"]]


def _dup_console_message(s: dict[str, Any]) -> None:
    c = _comment(s, "«c3»")
    next(cs for cs in s["comments"].values() if c in cs).append({**c, "id": 99999})


def _merge_two(s: dict[str, Any]) -> None:
    _comment(s, "«c3»")["body"] += " «c1»"


def _status(s: dict[str, Any]) -> None:
    _tickets(s)[0]["status"] = "pending"


def _cc(s: dict[str, Any]) -> None:
    _tickets(s)[0]["email_cc_ids"] = []


def _org(s: dict[str, Any]) -> None:
    t0, t1 = _tickets(s)[:2]
    t0["organization_id"] = t1["organization_id"]


def _lost_staff_reply(s: dict[str, Any]) -> None:
    c = _comment(s, "«s5»")
    next(cs for cs in s["comments"].values() if c in cs).append({**c, "id": 88888, "body": "later reply"})


def _wrong_author(s: dict[str, Any]) -> None:
    _comment(s, "«c7»")["author_id"] = _comment(s, "«c1»")["author_id"]


def _priority(s: dict[str, Any]) -> None:
    _tickets(s)[0]["priority"] = "urgent"


def _label(s: dict[str, Any]) -> None:
    _tickets(s)[0]["custom_status_id"] = 903


def _stranger_cc(s: dict[str, Any]) -> None:
    stranger = next(u["id"] for u in s["users"] if u["email"] == "u1@acct1.test")
    _tickets(s)[0]["email_cc_ids"].append(stranger)


def _copy_on_a_deleted_ticket(s: dict[str, Any]) -> None:
    c = _comment(s, "«c3»")
    s["tickets"].append({**_tickets(s)[0], "id": 777, "status": "deleted", "external_id": None})
    s["comments"]["777"] = [{**c, "id": 77777}]


def test_a_copy_on_a_ticket_staff_deleted_is_not_a_duplicate(world: tuple[SyncEngine, dict[str, Any]]) -> None:
    # A reply whose first attempt may have reached a ticket deleted meanwhile continues as a new case: the
    # copy left on the deleted ticket is seen by nobody.
    engine, state = world
    damaged = copy.deepcopy(state)
    _copy_on_a_deleted_ticket(damaged)
    assert "duplicate_message" not in check(engine.store, damaged).by_kind()
    _dup_console_message(damaged)  # a second live copy still is one
    assert "duplicate_message" in check(engine.store, damaged).by_kind()


@pytest.mark.parametrize(
    ("damage", "kind"),
    [
        (_dup_ticket, "duplicate_ticket"),
        (_leak_note, "leaked_note"),
        (_lose_console_message, "lost_message"),
        (_dup_console_message, "duplicate_message"),
        (_merge_two, "merged_messages"),
        (_status, "status_mismatch"),
        (_cc, "cc_missing"),
        (_org, "cross_account"),
        (_lost_staff_reply, "lost_message"),
        (_wrong_author, "wrong_author"),
        (_priority, "priority_mismatch"),
        (_label, "status_label_mismatch"),
        (_stranger_cc, "cc_extra"),
    ],
)
def test_each_damage_is_reported(
    world: tuple[SyncEngine, dict[str, Any]], damage: Callable[[dict[str, Any]], None], kind: str
) -> None:
    engine, state = world
    damaged = copy.deepcopy(state)
    damage(damaged)
    assert kind in check(engine.store, damaged, status_labels=LABELS).by_kind()


@pytest.fixture(scope="module")
def moved_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SyncEngine, dict[str, Any]]]:
    """A ticket of acct0 moved by staff into acct1's organization (a conflict), closed, then answered by its
    requester by email: Zendesk makes a follow-up in the organization of its source, acct1's (the requester
    was made a member of it for the move)."""
    tmp: Path = tmp_path_factory.mktemp("moved")
    with Sandbox(rate_limits=False) as zd, _world(zd, tmp) as w:
        support = w.support
        for account in ("acct0", "acct1"):
            support.upsert_account(account, account)
            support.upsert_user(account, "u0", f"u0@{account}.test", "Admin", admin=True)
        case = support.submit("acct0", "u0", "Help", "«c1» it broke")
        w.engine.run_once()
        ticket = support.get("acct0", case.id).ticket_id
        assert ticket is not None
        orgs = w.staff.get("organizations")["organizations"]
        other = next(o["id"] for o in orgs if o["external_id"] == "console-account:acct1")
        # Zendesk takes only an organization of the requester: staff make the requester a member first.
        w.staff.move_to_organization(ticket, other)
        w.staff.update(ticket, status="closed", assignee_id=w.staff.id)
        followup = w.staff.email_reply(ticket, "u0@acct0.test", "«e2» again")
        assert followup["organization_id"] == other
        yield w.engine, _settled_state(w)


def test_a_follow_up_of_a_ticket_moved_to_another_account_is_not_a_lost_case(
    moved_world: tuple[SyncEngine, dict[str, Any]],
) -> None:
    engine, state = moved_world
    with engine.store.read() as tx:
        assert [c.kind for c in tx.conflicts(open_only=False)][:1] == ["moved_organization"]
        assert len(tx.case_records("acct0")) == 1 and tx.case_records("acct1") == []
    assert "lost_case" not in check(engine.store, state).by_kind()


def test_a_follow_up_left_in_the_accounts_organization_without_a_case_is_a_lost_case(
    moved_world: tuple[SyncEngine, dict[str, Any]],
) -> None:
    engine, state = moved_world
    damaged = copy.deepcopy(state)
    org = next(o["id"] for o in damaged["organizations"] if o["external_id"] == "console-account:acct0")
    followup = next(t for t in damaged["tickets"] if (t["via"]["source"] or {}).get("rel") == "follow_up")
    followup["organization_id"] = org
    assert "lost_case" in check(engine.store, damaged).by_kind()


@pytest.mark.parametrize(
    ("reason", "transient"),
    [
        ("PUT /api/v2/tickets/12.json: HTTP 503: Service Unavailable", True),
        ("still failing after 40 attempts since 2026-11-26 10:00: HTTP 429: slow down", True),
        ("RateLimited: PUT /api/v2/tickets/7.json: HTTP 429: Too Many Requests", True),
        ("NetworkError: PUT /api/v2/tickets/7.json: connection reset by peer", True),
        ("NetworkError: GET /api/v2/tickets/7.json: read timed out", True),
        ("GET /api/v2/tickets/500.json: HTTP 404: RecordNotFound: Not found", False),  # a ticket numbered 500
        ("PUT /api/v2/tickets/429.json: HTTP 422: closed prevents ticket update", False),
        ("agent email: sam@support.test belongs to a Zendesk agent", False),
    ],
)
def test_only_rate_limits_server_errors_and_network_failures_are_transient(reason: str, transient: bool) -> None:
    assert is_transient_reason(reason) is transient


@pytest.fixture(scope="module")
def follow_up_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SyncEngine, dict[str, Any]]]:
    """A colleague replies on a case (and is CC'd); staff close its ticket; the requester's email reply
    makes a follow-up, which Zendesk gives the closed ticket's CCs."""
    tmp: Path = tmp_path_factory.mktemp("follow-up")
    with Sandbox(rate_limits=False) as zd, _world(zd, tmp) as w:
        support = w.support
        support.upsert_account("acct0", "acct0")
        support.upsert_user("acct0", "u0", "u0@acct0.test", "Admin", admin=True)
        support.upsert_user("acct0", "u1", "u1@acct0.test", "User")
        support.upsert_user("acct0", "u2", "u2@acct0.test", "Colleague")
        case = support.submit("acct0", "u1", "Help", "«c1» it broke")
        support.reply("acct0", case.id, "u2", "«c2» me too")
        _settled_state(w)
        ticket = support.get("acct0", case.id).ticket_id
        assert ticket is not None
        cc_ids = w.staff.ticket(ticket)["email_cc_ids"]
        assert len(cc_ids) == 2, "the colleague who replied is CC'd beside the admin"
        w.staff.status(ticket, "closed")
        w.staff.email_reply(ticket, "u1@acct0.test", "«e3» it broke again")
        yield w.engine, _settled_state(w)


def test_a_colleagues_cc_carried_to_a_follow_up_is_kept(follow_up_world: tuple[SyncEngine, dict[str, Any]]) -> None:
    engine, state = follow_up_world
    [follow_up] = [t for t in _tickets(state) if (t.get("via") or {}).get("source", {}).get("rel") == "follow_up"]
    emails = {u["id"]: u["email"] for u in state["users"]}
    assert "u2@acct0.test" in {emails[i] for i in follow_up["email_cc_ids"]}
    with engine.store.read() as tx:
        assert any(c.refers_to is not None for c in tx.case_records("acct0"))
    assert "cc_extra" not in check(engine.store, state).by_kind()


def test_a_redacted_string_left_in_the_store_is_reported_unless_zendesk_still_shows_it(
    world: tuple[SyncEngine, dict[str, Any]],
) -> None:
    engine, state = world
    ticket = next(int(t) for t, cs in state["comments"].items() if any("it broke" in c["body"] for c in cs))
    # Zendesk still shows the string in a public comment (a copy posted twice): the console rightly keeps it.
    shown = check(engine.store, state, redacted=[(ticket, "it broke")], status_labels=LABELS)
    assert "redacted_left" not in shown.by_kind()
    assert shown.checked["redactions_still_in_zendesk"] == 1
    # Zendesk no longer shows it anywhere: the console's copy must not hold it either.
    redacted = copy.deepcopy(state)
    for comments in redacted["comments"].values():
        for c in comments:
            for key in ("body", "html_body", "plain_body"):
                if isinstance(c.get(key), str):
                    c[key] = c[key].replace("it broke", "▇▇▇▇▇▇▇▇")
    left = check(engine.store, redacted, redacted=[(ticket, "it broke")], status_labels=LABELS)
    assert [v.detail for v in left.violations if v.kind == "redacted_left"] == [
        "the redacted string 'it broke' is still in the store (messages)"
    ]
