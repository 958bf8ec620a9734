"""A state machine of console and staff actions; after each run the sync converges to docs/design.md §4's invariants.

Console: submit, reply (optionally acknowledging), close, recipient add/remove.  Staff in Zendesk: public
reply, internal note, pending/solved/hold/open, merge, make_private, and the requester answering by email.
Partial syncs interleave with the actions.  One sandbox serves every example (reset in between).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from mappings.inbound import MARKER_KEY
from mappings.models import CaseStatus
from mappings.status import status_from_zendesk
from sync.errors import CaseClosed
from sync.sandbox import Sandbox

from .conftest import World

EXAMPLES = int(os.environ.get("CASESYNC_STATEFUL_EXAMPLES", "200"))
USERS = {"acme": ("alice", "alice@acme.test"), "globex": ("gus", "gus@globex.test")}
EXTRA = ["ops@acme.test", "cto@acme.test"]


def check_invariants(world: World) -> None:
    """docs/design.md §4: one ticket per case, every public comment once, no notes, statuses agree, no echo."""
    zd = world.staff.http.get(f"{world.zd.url}/__sandbox/state").json()
    tickets = {t["id"]: t for t in zd["tickets"]}
    comments = {int(k): v for k, v in zd["comments"].items()}
    with world.store.read() as tx:
        links = tx.linked_cases()
        conflicts = tx.conflicts(open_only=False)
        dead = tx.dead_letters()
        records = {c: tx.get_case(c) for c, _ in links}
        messages = {c: tx.case_messages(c, include_withdrawn=True) for c, _ in links}
        pending = {c: bool(tx.outbox_entries(ordering_key=f"case:{c}", status="pending")) for c, _ in links}
    assert dead == [], dead
    # 1. One ticket per case: the link table is one-to-one, and casesync created one ticket per case number.
    assert len({t for _, t in links}) == len(links)
    created: dict[str, int] = {}
    for t in tickets.values():
        if t["external_id"] and (t["via"].get("source") or {}).get("rel") != "follow_up":
            created[t["external_id"]] = created.get(t["external_id"], 0) + 1
    assert all(n == 1 for n in created.values()), created
    for case_id, ticket_id in links:
        record = records[case_id]
        assert record is not None
        case_conflicts = {c.kind for c in conflicts if c.case_id == case_id}
        by_comment: dict[int, list[Any]] = {}
        for m in messages[case_id]:
            if m.zendesk_comment_id is not None:
                by_comment.setdefault(m.zendesk_comment_id, []).append(m)
            # 3. No internal note's text ever reaches the console.
            assert not (m.body.startswith("NOTE-") and not m.withdrawn), m
        for c in comments.get(ticket_id, []):
            found = by_comment.get(c["id"], [])
            if c["public"]:
                # 2. Every public comment is exactly one message (unless refused after the case closed).
                if not found:
                    assert "message_after_close" in case_conflicts, (case_id, c)
                else:
                    assert len(found) == 1
                    assert not found[0].withdrawn
            else:
                # 3. A comment that is private now is not shown (never imported, or withdrawn).
                assert all(m.withdrawn or m.origin == "console" for m in found), (case_id, c)
            # 9. No echo: casesync's own comments are never imported as Zendesk messages.
            if (c["metadata"].get("custom") or {}).get(MARKER_KEY) is not None:
                assert all(m.origin == "console" for m in found), (case_id, c)
        # 5. Statuses agree once nothing is queued, or a conflict says why not.
        ticket = tickets[ticket_id]
        if not pending[case_id] and not case_conflicts:
            assert status_from_zendesk(ticket["status"]) is record.status, (case_id, ticket["status"], record)
        if record.status is CaseStatus.CLOSED:
            assert ticket["status"] == "closed" or pending[case_id] or case_conflicts, (case_id, ticket["status"])


class InboundMachine(RuleBasedStateMachine):
    sandbox: Sandbox
    directory: Path

    def __init__(self) -> None:
        super().__init__()
        self.sandbox.reset()
        self.world = World(self.sandbox, self.directory / f"{uuid.uuid4().hex}.db")
        self.world.account("acme", ("alice", "alice@acme.test", "Alice Liddell"))
        self.world.account("globex", ("gus", "gus@globex.test", "Gus Grant"))
        self.cases: list[tuple[str, int]] = []
        self.staff_comments: list[tuple[int, int]] = []
        self.counter = 0

    def _text(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def _ticket(self, index: int) -> tuple[str, int, int] | None:
        linked = [(a, c, t) for a, c in self.cases if (t := self.world.api.get(a, c).ticket_id) is not None]
        return linked[index % len(linked)] if linked else None

    def _case(self, index: int) -> tuple[str, int] | None:
        return self.cases[index % len(self.cases)] if self.cases else None

    @initialize(account=st.sampled_from(sorted(USERS)))
    def first_case(self, account: str) -> None:
        self.submit(account)

    # -- console --------------------------------------------------------------------------------------

    @rule(account=st.sampled_from(sorted(USERS)))
    def submit(self, account: str) -> None:
        case = self.world.api.submit(account, USERS[account][0], "Subject", self._text("user-"))
        self.cases.append((account, case.id))

    @rule(index=st.integers(0, 9), ack=st.booleans())
    def console_reply(self, index: int, ack: bool) -> None:
        if (found := self._case(index)) is not None:
            account, case_id = found
            with contextlib.suppress(CaseClosed):
                self.world.api.reply(account, case_id, USERS[account][0], self._text("reply-"),
                                     acknowledges_solution=ack)

    @rule(index=st.integers(0, 9))
    def console_close(self, index: int) -> None:
        if (found := self._case(index)) is not None:
            account, case_id = found
            with contextlib.suppress(CaseClosed):
                self.world.api.close(account, case_id, USERS[account][0])

    @rule(email=st.sampled_from(EXTRA), add=st.booleans())
    def recipients(self, email: str, add: bool) -> None:
        if add:
            self.world.api.add_recipient("acme", email)
        else:
            self.world.api.remove_recipient("acme", email)

    # -- sync ---------------------------------------------------------------------------------------------

    @rule()
    def deliver(self) -> None:
        self.world.deliver()

    @rule()
    def poll(self) -> None:
        self.world.poll()

    # -- staff and end users in Zendesk ----------------------------------------------------------------

    def _put(self, ticket_id: int, fields: dict[str, Any]) -> dict[str, Any] | None:
        if fields.get("status") in ("solved", "closed"):
            fields["assignee_email"] = self.world.staff.email
        response = self.world.staff.http.put(
            f"{self.world.zd.url}/api/v2/tickets/{ticket_id}.json", json={"ticket": fields}
        )
        # 422: the ticket is closed in Zendesk, as staff would find it.
        assert response.status_code in (200, 422), response.text
        return response.json() if response.status_code == 200 else None

    @rule(index=st.integers(0, 9), status=st.sampled_from([None, "open", "pending", "solved", "hold"]))
    def staff_reply(self, index: int, status: str | None) -> None:
        if (found := self._ticket(index)) is not None:
            fields: dict[str, Any] = {"comment": {"body": self._text("staff-"), "public": True}}
            if status:
                fields["status"] = status
            body = self._put(found[2], fields)
            if body is not None:
                cid = next(e["id"] for e in body["audit"]["events"] if e["type"] == "Comment")
                self.staff_comments.append((found[2], cid))

    @rule(index=st.integers(0, 9))
    def staff_note(self, index: int) -> None:
        if (found := self._ticket(index)) is not None:
            self._put(found[2], {"comment": {"body": self._text("NOTE-"), "public": False}})

    @rule(index=st.integers(0, 9), status=st.sampled_from(["open", "pending", "solved", "hold"]))
    def staff_status(self, index: int, status: str) -> None:
        if (found := self._ticket(index)) is not None:
            self._put(found[2], {"status": status})

    @rule(source=st.integers(0, 9), into=st.integers(0, 9))
    def staff_merge(self, source: int, into: int) -> None:
        a, b = self._ticket(source), self._ticket(into)
        if a is None or b is None or a[0] != b[0] or a[2] == b[2]:
            return
        response = self.world.staff.http.post(
            f"{self.world.zd.url}/api/v2/tickets/{b[2]}/merge.json", json={"ids": [a[2]]}
        )
        assert response.status_code in (200, 422), response.text
        if response.status_code == 200:
            self.world.staff.wait_job(str(response.json()["job_status"]["id"]))

    @rule(index=st.integers(0, 9))
    def make_private(self, index: int) -> None:
        if self.staff_comments:
            ticket_id, comment_id = self.staff_comments[index % len(self.staff_comments)]
            self.world.staff.http.put(
                f"{self.world.zd.url}/api/v2/tickets/{ticket_id}/comments/{comment_id}/make_private.json"
            )

    @rule(index=st.integers(0, 9))
    def email_reply(self, index: int) -> None:
        if (found := self._ticket(index)) is not None:
            self.world.staff.email_reply(found[2], USERS[found[0]][1], self._text("email-"))

    @invariant()
    def feed_is_per_account(self) -> None:
        # Tenant isolation: an account's feed only names its own cases.
        for account in USERS:
            own = {c for a, c in self.cases if a == account}
            for change in self.world.api.changes(account_id=account):
                assert change.case_id in own or change.kind.value == "linked_case"

    def teardown(self) -> None:
        try:
            self.world.sync(rounds=16)
            check_invariants(self.world)
        finally:
            self.world.close()


@pytest.mark.timeout(240)
def test_sync_converges_to_the_invariants(sandbox: Sandbox) -> None:
    with tempfile.TemporaryDirectory() as directory:
        InboundMachine.sandbox = sandbox
        InboundMachine.directory = Path(directory)
        run_state_machine_as_test(
            InboundMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=6,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
