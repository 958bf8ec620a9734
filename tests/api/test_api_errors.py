"""Bad input gets a clear, typed error and changes nothing (every table compared before and after)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from mappings.models import Attachment
from sync.api import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, SupportCases
from sync.errors import CaseClosed, CaseNotFound, CaseSyncError, InvalidInput, UnknownUser


@pytest.fixture
def refused(world: SupportCases, dump: Callable[[Any], dict[str, Any]]) -> Callable[..., CaseSyncError]:
    """Run ``call``; assert it raises ``kind`` with exactly ``message`` and leaves the store as it was."""

    def check(call: Callable[[], object], kind: type[CaseSyncError], message: str) -> CaseSyncError:
        before = dump(world.store)
        with pytest.raises(kind, match=f"^{re.escape(message)}$") as info:
            call()
        assert type(info.value) is kind
        assert dump(world.store) == before
        return info.value

    return check


def test_reply_and_close_of_a_closed_case(world: SupportCases, refused: Any) -> None:
    case = world.submit("acme", "bob", "s", "b")
    world.close("acme", case.id, "bob")
    msg = f"case {case.id} is Closed: open a new case that refers to it (refers_to={case.id})"
    refused(lambda: world.reply("acme", case.id, "bob", "hello?"), CaseClosed, msg)
    refused(lambda: world.close("acme", case.id, "bob"), CaseClosed, msg)


@pytest.mark.parametrize("method", ["get", "reply", "close", "attachment"])
def test_another_accounts_case_reads_exactly_like_a_missing_one(world: SupportCases, refused: Any, method: str) -> None:
    theirs = world.submit(
        "beta", "carl", "secret", "b", attachments=[Attachment(filename="a", content_type="x", data=b"1")]
    )
    missing = theirs.id + 100
    calls: dict[str, Callable[[int], object]] = {
        "get": lambda n: world.get("acme", n),
        "reply": lambda n: world.reply("acme", n, "bob", "hi"),
        "close": lambda n: world.close("acme", n, "bob"),
        "attachment": lambda n: world.attachment("acme", n, theirs.messages[0].attachments[0].id),
    }
    foreign = refused(lambda: calls[method](theirs.id), CaseNotFound, f"case {theirs.id} not found in account 'acme'")
    absent = refused(lambda: calls[method](missing), CaseNotFound, f"case {missing} not found in account 'acme'")
    assert str(foreign).replace(str(theirs.id), "N") == str(absent).replace(str(missing), "N")


def test_unknown_users(world: SupportCases, refused: Any) -> None:
    case = world.submit("acme", "bob", "s", "b")
    refused(lambda: world.submit("acme", "carl", "s", "b"), UnknownUser, "user 'carl' is not a user of account 'acme'")
    refused(lambda: world.submit("nope", "bob", "s", "b"), UnknownUser, "user 'bob' is not a user of account 'nope'")
    refused(lambda: world.reply("acme", case.id, "zed", "b"), UnknownUser, "user 'zed' is not a user of account 'acme'")
    refused(lambda: world.close("acme", case.id, "carl"), UnknownUser, "user 'carl' is not a user of account 'acme'")


@pytest.mark.parametrize(
    ("subject", "body", "message"),
    [
        ("", "b", "subject must not be empty"),
        ("  \t\n", "b", "subject must not be empty"),
        ("s", "", "body must not be empty"),
        ("s", " \n ", "body must not be empty"),
        ("x" * 256, "b", "subject is 256 characters long; at most 255 are allowed"),
        ("s", "x" * 65_537, "body is 65537 characters long; at most 65536 are allowed"),
        ("s\x00", "b", "subject must not contain NUL characters"),
        ("s", "\ud800", "body is not valid Unicode text"),
        (None, "b", "subject must not be empty"),
    ],
)
def test_subject_and_body_limits(world: SupportCases, refused: Any, subject: Any, body: str, message: str) -> None:
    refused(lambda: world.submit("acme", "bob", subject, body), InvalidInput, message)
    if subject == "s":
        case = world.submit("acme", "bob", "ok", "ok")
        refused(lambda: world.reply("acme", case.id, "bob", body), InvalidInput, message)


def test_limits_are_inclusive(world: SupportCases) -> None:
    case = world.submit("acme", "bob", "x" * 255, "y" * 65_536)
    assert len(case.subject) == 255 and len(case.messages[0].body) == 65_536


@pytest.mark.parametrize("email", ["", "plain", "a@b", "a@@b.test", "a b@c.test", "a@-b.test", "a@b.123", ".a@b.test"])
def test_invalid_email_addresses(world: SupportCases, refused: Any, email: str) -> None:
    message = f"invalid email address: {email!r}"
    refused(lambda: world.upsert_user("acme", "new", email, "New"), InvalidInput, message)
    refused(lambda: world.add_recipient("acme", email), InvalidInput, message)
    refused(lambda: world.remove_recipient("acme", email), InvalidInput, message)


@pytest.mark.parametrize("email", ["x@example.test", "first.last+tag@sub.domain.example", "o'brien@mail.invalid"])
def test_reserved_names_are_valid_addresses(world: SupportCases, email: str) -> None:
    assert email.lower() in world.add_recipient("acme", email)


def test_at_most_48_recipients(world: SupportCases, refused: Any) -> None:
    for i in range(47):  # plus ann, the admin: 48
        world.add_recipient("acme", f"r{i}@acme.test")
    assert len(world.recipients("acme")) == 48
    too_many = (
        "the recipient list of account 'acme' would have 49 addresses; at most 48 are allowed (Zendesk's CC limit)"
    )
    refused(lambda: world.add_recipient("acme", "one-more@acme.test"), InvalidInput, too_many)
    refused(lambda: world.upsert_user("acme", "bob", "bob@acme.test", "Bob User", admin=True), InvalidInput, too_many)
    refused(lambda: world.upsert_user("acme", "new", "new@acme.test", "New", admin=True), InvalidInput, too_many)
    world.add_recipient("acme", "r0@acme.test")  # already there: still 48, accepted


def test_an_admins_address_is_removed_by_demotion_not_remove_recipient(world: SupportCases, refused: Any) -> None:
    world.add_recipient("acme", "ann@acme.test")  # registered as well: still refused
    message = (
        "'ANN@acme.test' is an admin user's address: remove it by demoting the admin (upsert_user(..., admin=False))"
    )
    refused(lambda: world.remove_recipient("acme", "ANN@acme.test"), InvalidInput, message)


def test_staff_emails_cannot_be_console_users(world: SupportCases, refused: Any) -> None:
    with world.store.transaction() as tx:
        tx.add_staff_email("agent@support.test", 9)
    message = "email 'Agent@support.test' belongs to a Zendesk agent: console users cannot be support staff"
    refused(lambda: world.upsert_user("acme", "sneaky", "Agent@support.test", "Sneaky"), InvalidInput, message)
    refused(lambda: world.upsert_user("acme", "bob", "Agent@support.test", "Bob User"), InvalidInput, message)


def test_refers_to_must_be_a_closed_case_of_the_same_account(world: SupportCases, refused: Any) -> None:
    open_case = world.submit("acme", "bob", "s", "b")
    theirs = world.submit("beta", "carl", "s", "b")
    world.close("beta", theirs.id, "carl")
    n = open_case.id
    refused(
        lambda: world.submit("acme", "bob", "s", "b", refers_to=n),
        InvalidInput,
        f"refers_to={n}: case {n} is not Closed; reply to it instead",
    )
    for ref in (theirs.id, 999):
        refused(
            lambda ref=ref: world.submit("acme", "bob", "s", "b", refers_to=ref),
            InvalidInput,
            f"refers_to={ref}: case {ref} not found",
        )


def test_attachment_rules(world: SupportCases, refused: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def files(*names: str, size: int = 1) -> list[Attachment]:
        return [Attachment(filename=n, content_type="text/plain", data=b"x" * size) for n in names]

    refused(
        lambda: world.submit("acme", "bob", "s", "b", attachments=files(" ")),
        InvalidInput,
        "an attachment's filename must not be empty",
    )
    many = files(*[f"f{i}" for i in range(MAX_ATTACHMENTS + 1)])
    refused(
        lambda: world.submit("acme", "bob", "s", "b", attachments=many),
        InvalidInput,
        f"{MAX_ATTACHMENTS + 1} attachments: at most {MAX_ATTACHMENTS} per message",
    )
    big = files("big.bin", size=MAX_ATTACHMENT_BYTES + 1)
    refused(
        lambda: world.submit("acme", "bob", "s", "b", attachments=big),
        InvalidInput,
        f"attachment 'big.bin' is {MAX_ATTACHMENT_BYTES + 1} bytes; at most {MAX_ATTACHMENT_BYTES} per file",
    )
    case = world.submit("acme", "bob", "s", "b")
    refused(
        lambda: world.reply("acme", case.id, "bob", "b", attachments=["x"]),  # type: ignore[list-item]
        InvalidInput,
        "attachments must be Attachment(filename, content_type, data) values",
    )
    refused(
        lambda: world.attachment("acme", case.id, "nope"),
        InvalidInput,
        f"attachment 'nope' not found in case {case.id}",
    )


def test_missing_accounts_and_malformed_arguments(world: SupportCases, refused: Any) -> None:
    missing = "account 'ghost' does not exist: call upsert_account first"
    refused(lambda: world.upsert_user("ghost", "u", "u@ghost.test", "U"), InvalidInput, missing)
    refused(lambda: world.add_recipient("ghost", "u@ghost.test"), InvalidInput, missing)
    refused(lambda: world.remove_recipient("ghost", "u@ghost.test"), InvalidInput, missing)
    refused(lambda: world.upsert_account("", "X"), InvalidInput, "account_id must be a non-empty string")
    refused(lambda: world.upsert_account("a" * 256, "X"), InvalidInput, "account_id is longer than 255 characters")
    refused(lambda: world.upsert_account("acme", " "), InvalidInput, "name must not be empty")
    refused(lambda: world.get("acme", "1"), InvalidInput, "case_id must be an integer of at least 1")  # type: ignore[arg-type]
    refused(lambda: world.get("acme", True), InvalidInput, "case_id must be an integer of at least 1")
    refused(lambda: world.changes(-1), InvalidInput, "since must be an integer of at least 0")
    refused(
        lambda: world.list("acme", status="Done"),  # type: ignore[arg-type]
        InvalidInput,
        "status must be one of ['New', 'Open', 'Pending', 'Solved', 'Closed']",
    )
    refused(
        lambda: world.upsert_user("acme", "u", "u@acme.test", "U", admin="yes"),  # type: ignore[arg-type]
        InvalidInput,
        "admin must be True or False",
    )
