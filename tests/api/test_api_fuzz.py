"""Fuzzing the API: any input is either accepted or refused with a CaseSyncError that changed nothing,
and an accepted call always leaves a consistent store (no half-written case, no dangling outbox entry)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings.models import Attachment, CaseStatus
from sync.api import SupportCases
from sync.errors import CaseSyncError

_texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\n\t", "ok", "x" * 256, "\x00", "Ünïcode ✓"]),
)
_accounts = st.one_of(st.sampled_from(["acme", "beta", "ghost"]), _texts)
_users = st.one_of(st.sampled_from(["ann", "bob", "carl", "zed"]), _texts)
_emails = st.one_of(
    st.sampled_from(["ann@acme.test", "BOB@acme.test", "new@x.test", "a@b", "bad", "ops@acme.test", " ok@x.test "]),
    st.builds(lambda a, b: f"{a}@{b}.test", st.text(min_size=1, max_size=5), st.text(min_size=1, max_size=5)),
    _texts,
)
_case_ids = st.one_of(st.integers(min_value=-2, max_value=12), st.sampled_from([True, "1", None]))
_files = st.lists(
    st.builds(Attachment, filename=_texts, content_type=st.text(max_size=8), data=st.binary(max_size=16)),
    max_size=3,
)


_OPERATIONS = [
    "upsert_account",
    "upsert_user",
    "add_recipient",
    "remove_recipient",
    "recipients",
    "submit",
    "reply",
    "close",
    "get",
    "list",
    "attachment",
    "changes",
]


def _operation(data: st.DataObject) -> tuple[str, Callable[[SupportCases], Any]]:
    """Draw one API call with arguments that are sometimes valid and often not."""
    d = data.draw
    name = d(st.sampled_from(_OPERATIONS))
    call: Callable[[SupportCases], Any]
    if name == "upsert_account":
        account, label = d(_accounts), d(_texts)
        call = lambda s: s.upsert_account(account, label)  # noqa: E731
    elif name == "upsert_user":
        account, user, email, label, admin = d(_accounts), d(_users), d(_emails), d(_texts), d(st.booleans())
        call = lambda s: s.upsert_user(account, user, email, label, admin=admin)  # noqa: E731
    elif name in ("add_recipient", "remove_recipient"):
        account, email = d(_accounts), d(_emails)
        call = lambda s: getattr(s, name)(account, email)  # noqa: E731
    elif name == "recipients":
        account = d(_accounts)
        call = lambda s: s.recipients(account)  # noqa: E731
    elif name == "submit":
        account, user, subject, body = d(_accounts), d(_users), d(_texts), d(_texts)
        refers_to, files = d(st.one_of(st.none(), _case_ids)), d(_files)
        call = lambda s: s.submit(account, user, subject, body, refers_to=refers_to, attachments=files)  # type: ignore[arg-type]  # noqa: E731
    elif name == "reply":
        account, case_id, user, body, ack, files = (
            d(_accounts),
            d(_case_ids),
            d(_users),
            d(_texts),
            d(st.booleans()),
            d(_files),
        )
        call = lambda s: s.reply(account, case_id, user, body, acknowledges_solution=ack, attachments=files)  # type: ignore[arg-type]  # noqa: E731
    elif name == "close":
        account, case_id, user = d(_accounts), d(_case_ids), d(_users)
        call = lambda s: s.close(account, case_id, user)  # type: ignore[arg-type]  # noqa: E731
    elif name == "get":
        account, case_id = d(_accounts), d(_case_ids)
        call = lambda s: s.get(account, case_id)  # type: ignore[arg-type]  # noqa: E731
    elif name == "list":
        account, status = d(_accounts), d(st.one_of(st.none(), st.sampled_from(list(CaseStatus))))
        call = lambda s: s.list(account, status=status)  # noqa: E731
    elif name == "attachment":
        account, case_id, attachment_id = d(_accounts), d(_case_ids), d(_texts)
        call = lambda s: s.attachment(account, case_id, attachment_id)  # type: ignore[arg-type]  # noqa: E731
    else:
        since = d(st.integers(-1, 5))
        call = lambda s: s.changes(since)  # noqa: E731
    return name, call


def _check_consistent(support: SupportCases) -> None:
    with support.store.read() as tx:
        entries = tx.outbox_entries(limit=100_000)
        submitted = {e.payload["case_id"] for e in entries if e.kind == "submit"}
        for account in {e.account_id for e in entries if e.account_id}:
            assert len(tx.recipients(account)) <= 48
            for case in tx.cases(account):
                assert case.messages, f"case {case.id} has no first message"
                assert case.id in submitted, f"case {case.id} has no submit entry"
        for e in entries:
            if e.kind == "reply":
                message = tx.message(e.payload["message_id"])
                assert message is not None and message.case_id == e.payload["case_id"]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_every_input_is_accepted_or_refused_cleanly(
    world: SupportCases, dump: Callable[[Any], dict[str, Any]], data: st.DataObject
) -> None:
    world.add_recipient("acme", "ops@acme.test")
    case = world.submit("acme", "bob", "seed", "seed")
    world.close("acme", world.submit("acme", "bob", "closed", "closed").id, "bob")
    assert case.id >= 1
    for _ in range(data.draw(st.integers(1, 6))):
        name, call = _operation(data)
        before = dump(world.store)
        try:
            call(world)
        except CaseSyncError:
            assert dump(world.store) == before, f"{name} raised but changed the store"
        _check_consistent(world)
