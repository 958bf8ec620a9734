"""How many SQL statements a console write sends: a budget per call and backend, not a time.

Under concurrent calls a write's latency grows with its number of round trips to the database (each one
is the driver's and SQLAlchemy's work on the interpreter, and a wait on the server), so the statement
count is what keeps ``submit``, ``reply`` and ``close`` close to a bare insert-and-commit
(docs/benchmarks.md).  Counted with SQLAlchemy's ``before_cursor_execute`` event, so SQLite's explicit
``BEGIN IMMEDIATE`` counts; PostgreSQL's BEGIN and COMMIT are the driver's and do not.  A count is
deterministic: a call that needs more statements than its budget fails here, whatever the machine.

On PostgreSQL every console write is three statements, with or without an idempotency key: the checks
(user, case, key) read at once, the write itself answering with the case, and the outbox entry with the
key (see :mod:`sync.store.sql_console_writes`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from mappings.models import Attachment, CaseStatus
from sync.api import SupportCases

#: (call, backend) → the most statements it may send.
BUDGET = {
    ("submit", "sqlite"): 7,
    ("submit", "postgresql"): 3,
    ("submit with a key", "sqlite"): 8,
    ("submit with a key", "postgresql"): 3,
    ("reply", "sqlite"): 8,
    ("reply", "postgresql"): 3,
    ("reply with a key", "sqlite"): 9,
    ("reply with a key", "postgresql"): 3,
    ("close", "sqlite"): 6,
    ("close", "postgresql"): 3,
    ("close with a key", "sqlite"): 7,
    ("close with a key", "postgresql"): 3,
}


@contextmanager
def counted(support: SupportCases) -> Iterator[list[str]]:
    """The statements sent on the store's engine while the block runs."""
    engine = support.store.engine  # type: ignore[attr-defined]
    sent: list[str] = []

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def _key(with_key: bool) -> str | None:
    return uuid.uuid4().hex if with_key else None


CALLS: dict[str, Callable[[SupportCases, int, bool], Any]] = {
    "submit": lambda api, case_id, k: api.submit("acme", "bob", "Printer", "It jams.", idempotency_key=_key(k)),
    "reply": lambda api, case_id, k: api.reply("acme", case_id, "ann", "Any news?", idempotency_key=_key(k)),
    "close": lambda api, case_id, k: api.close("acme", case_id, "bob", idempotency_key=_key(k)),
}


@pytest.mark.parametrize("call", sorted({c for c, _ in BUDGET}))
def test_a_console_write_stays_within_its_statement_budget(world: SupportCases, call: str) -> None:
    backend = world.store.engine.dialect.name  # type: ignore[attr-defined]
    kind = call.removesuffix(" with a key")
    world.submit("acme", "bob", "Warm-up", "First case.")  # first use: the schema check, the pool
    case = world.submit("acme", "bob", "Login", "I cannot log in.")
    with counted(world) as sent:
        out = CALLS[kind](world, case.id, call != kind)
    assert out.messages, "the call answered with the case and its messages"
    assert len(sent) <= BUDGET[(call, backend)], "\n".join(sent)


def test_the_budget_covers_a_reply_that_reopens_and_a_submit_with_a_file(world: SupportCases) -> None:
    """A status change is written with the message's touch (PostgreSQL: in the same statement); files cost
    one statement more, however many, and no read."""
    backend = world.store.engine.dialect.name  # type: ignore[attr-defined]
    case = world.submit("acme", "bob", "Login", "I cannot log in.")
    with world.store.transaction() as tx:
        tx.set_case_status(case.id, CaseStatus.PENDING)
    with counted(world) as sent:
        out = world.reply("acme", case.id, "bob", "Still broken.")
    assert out.status == CaseStatus.OPEN
    assert len(sent) <= BUDGET[("reply", backend)] + (backend == "sqlite"), "\n".join(sent)
    with counted(world) as sent:
        png = Attachment(filename="a.png", content_type="image/png", data=b"x")
        out = world.submit("acme", "bob", "Screen", "See the files.", attachments=[png, png.model_copy()])
    assert [a.filename for a in out.messages[0].attachments] == ["a.png", "a.png"]
    assert len(sent) <= BUDGET[("submit", backend)] + 1, "\n".join(sent)
