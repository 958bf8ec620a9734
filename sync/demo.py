"""``casesync demo``: the whole support process of the console, played through casesync against the sandbox.

It needs no Zendesk account: an in-process sandbox plays Zendesk, a temporary SQLite file is the store,
and a support agent works through the sandbox's ordinary Zendesk API.  Every step prints both sides —
the console case (status and messages) next to the ticket (status and comments) — and every expectation
is checked; the exit code is 1 if any failed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from mappings.models import Attachment, Case, CaseStatus, ChangeKind
from sync.hints import WebhookHint
from sync.logging import configure_logging
from sync.sandbox import Sandbox
from sync.sandbox.staff import Staff
from sync.testing.world import World

__all__ = ["run_demo"]

ACCOUNT = "acme"
PASSWORD = "Tr0ub4dor&3"
#: The support agent who works the case in Zendesk: (email, name).
STAFF = ("sam.rivera@sandbox.test", "Sam Rivera")
# A tiny valid PNG: the screenshot staff paste into their reply.
SCREENSHOT = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8cfc0f01f0005"
    "0001ff89993d1d0000000049454e44ae426082"
)


@dataclass
class _Checks:
    console: Console
    failed: list[str] = field(default_factory=list)
    passed: int = 0

    def expect(self, ok: bool, what: str) -> None:
        if ok:
            self.passed += 1
            self.console.print(f"   [green]✓[/green] {what}")
        else:
            self.failed.append(what)
            self.console.print(f"   [red]✗ {what}[/red]")


def run_demo(*, verbose: bool = True) -> int:
    """Play the support process end to end; 0 when every expectation held, 1 otherwise."""
    console = Console(highlight=False, quiet=not verbose)
    # The timeline is the demo's output; the engine's own log lines would only interleave with it.
    configure_logging("console", "WARNING")
    checks = _Checks(console)
    with tempfile.TemporaryDirectory(prefix="casesync-demo-") as tmp, Sandbox() as zd, \
            World(zd, f"sqlite:///{Path(tmp) / 'casesync.db'}", staff=STAFF) as world:
        _play(world, checks)
    console.rule()
    if checks.failed:
        console.print(f"[red]demo: {len(checks.failed)} expectation(s) failed[/red]: " + "; ".join(checks.failed))
        return 1
    console.print(f"[green]demo: all {checks.passed} expectations held[/green]")
    return 0


def _play(world: World, checks: _Checks) -> None:
    out = checks.console
    support, agent, sync = world.support, world.staff, world.sync

    def show(step: str, case_id: int) -> Case:
        case = support.get(ACCOUNT, case_id)
        out.rule(f"[bold]{step}")
        _timeline(out, case, agent)
        return case

    out.print("[bold]casesync demo[/bold] — the console's support process, synced with a Zendesk sandbox\n")
    support.upsert_account(ACCOUNT, "Acme Corp")
    support.upsert_user(ACCOUNT, "alice", "alice@acme.test", "Alice Admin", admin=True)
    support.upsert_user(ACCOUNT, "bob", "bob@acme.test", "Bob Builder")
    recipients = support.add_recipient(ACCOUNT, "it-support@acme.test")
    out.print(f"Account [bold]Acme Corp[/bold]; recipient list: {', '.join(recipients)}")

    case = support.submit(ACCOUNT, "bob", "Cannot sign in to the portal", "Since this morning the login page loops.")
    checks.expect(case.status is CaseStatus.NEW, "a submitted case is New")
    sync()
    case = show("1. Bob submits a case (New)", case.id)
    ticket_id = case.ticket_id
    checks.expect(ticket_id is not None, "the case has a ticket")
    assert ticket_id is not None
    ticket = agent.ticket(ticket_id)
    checks.expect(ticket["status"] == "new", "the ticket is new")
    cc = sorted(agent.email_of(u) for u in ticket["email_cc_ids"])
    checks.expect(cc == ["alice@acme.test", "it-support@acme.test"], f"the ticket CCs the recipient list ({cc})")

    agent.update(ticket_id, assignee_id=agent.id)
    agent.reply(ticket_id, "Customer is on the legacy SSO plan; check the IdP logs.", public=False)
    agent.reply(ticket_id, "Thanks Bob. Which browser do you use, and could you send a HAR file?", status="pending")
    sync()
    case = show("2. Staff take it (Open), add an internal note, and ask for details (Pending)", case.id)
    checks.expect(case.status is CaseStatus.PENDING, "the case is Pending")
    bodies = [m.body for m in case.messages]
    checks.expect(not any("legacy SSO" in b for b in bodies), "the internal note never reaches the console")
    checks.expect(
        any(m.author == "staff" and m.author_name == "Sam" for m in case.messages), "staff reply shown as Sam"
    )

    har = Attachment(filename="login.har", content_type="application/json", data=b'{"log": {"entries": []}}')
    support.reply(ACCOUNT, case.id, "bob", f"Firefox 131. HAR attached. My password is {PASSWORD}", attachments=[har])
    sync()
    case = show("3. Bob replies (Open)", case.id)
    checks.expect(case.status is CaseStatus.OPEN, "the user's reply makes the case Open")
    checks.expect(agent.ticket(ticket_id)["status"] == "open", "the ticket is open")

    _rich_reply_and_redaction(world, checks, case.id, ticket_id, sync, show)

    agent.reply(ticket_id, "We fixed the redirect loop. Could you confirm it works now?", status="pending")
    sync()
    support.reply(ACCOUNT, case.id, "bob", "Confirmed, I can sign in. Thanks!", acknowledges_solution=True)
    sync()
    checks.expect("console_ack_solved" in agent.ticket(ticket_id)["tags"], "the acknowledgement tags the ticket")
    agent.update(ticket_id, status="solved")
    sync()
    case = show("4. Bob acknowledges; staff solve it (Solved)", case.id)
    checks.expect(case.status is CaseStatus.SOLVED, "the case is Solved")

    support.close(ACCOUNT, case.id, "bob")
    sync()
    case = show("5. Bob closes the case (Closed)", case.id)
    checks.expect(case.status is CaseStatus.CLOSED and case.closed_by == "user", "the case is Closed by the user")
    checks.expect(agent.ticket(ticket_id)["status"] == "closed", "the ticket is closed")

    again = support.submit(ACCOUNT, "bob", "Sign-in loop is back", "It happens again on Safari.", refers_to=case.id)
    sync()
    again = show(f"6. Bob opens a new case referring to case #{case.id} (a Zendesk follow-up)", again.id)
    checks.expect(again.refers_to == case.id, f"the new case refers to case #{case.id}")
    followup = agent.ticket(again.ticket_id) if again.ticket_id else {}
    via = (followup.get("via") or {}).get("source") or {}
    checks.expect(via.get("rel") == "follow_up", "its ticket is a follow-up of the closed ticket")
    checks.expect(again.ticket_id in agent.ticket(ticket_id)["followup_ids"], "the closed ticket lists the follow-up")

    _emails(checks, world.zd, ticket_id)
    # The chaos run's invariant checker, on the demo's world: both sides agree once the sync is quiet.
    report = world.check(emails=world.zd.emails(), redacted=[(ticket_id, PASSWORD)])
    checks.expect(not report.violations, "the invariants of docs/design.md §4 hold between the console and Zendesk"
                  + (f" ({report.summary()})" if report.violations else ""))


def _rich_reply_and_redaction(
    world: World,
    checks: _Checks,
    case_id: int,
    ticket_id: int,
    sync: Callable[[], object],
    show: Callable[[str, int], Case],
) -> None:
    """Staff answer in the rich editor with a pasted screenshot, then redact the password Bob pasted."""
    agent, support = world.staff, world.support
    upload = agent.attach("screenshot.png", SCREENSHOT)
    url = upload["attachment"]["content_url"]
    agent.update(
        ticket_id,
        comment={
            "html_body": (
                "<p>Thanks! Please try this:</p><ol><li>Clear the cookies of <code>portal.acme.test</code></li>"
                f'<li>Sign in again, as in the screenshot:</li></ol><img src="{url}" alt="sign-in page">'
                "<script>alert('not shown')</script>"
            ),
            "uploads": [upload["token"]],
        },
    )
    sync()
    case = show("3a. Staff answer in rich text with a screenshot", case_id)
    staff = case.messages[-1]
    shots = [a for a in staff.attachments if a.inline]
    checks.expect(
        staff.html is not None and "<ol>" in staff.html and "<script" not in staff.html,
        "the reply keeps its list and loses its script",
    )
    checks.expect(
        len(shots) == 1 and f'src="attachment:{shots[0].id}"' in (staff.html or ""),
        "the screenshot is an inline attachment the HTML points at",
    )
    checks.expect(
        bool(shots) and support.attachment(ACCOUNT, case_id, shots[0].id) == SCREENSHOT,
        "the screenshot downloads through support.attachment()",
    )
    out = checks.console
    out.print(f"   [dim]Message.html: {_short(staff.html or '', 110)}[/dim]")

    pasted = next(c for c in agent.comments(ticket_id) if PASSWORD in str(c["body"]))
    agent.redact(ticket_id, int(pasted["id"]), PASSWORD)
    # What Zendesk's ticket.comment_redacted webhook delivers to `casesync serve`: a hint to re-read the ticket.
    world.engine.webhook_sink(
        WebhookHint(ticket_id=ticket_id, event_id="demo-redaction", event_type="ticket.comment_redacted")
    )
    sync()
    case = show("3b. Staff redact the password Bob pasted", case_id)
    bodies = " ".join(m.body for m in case.messages)
    checks.expect(
        PASSWORD not in bodies and "▇" * len(PASSWORD) in bodies, "the console's copy is redacted as Zendesk has it"
    )
    kinds = [c.kind for c in support.changes(account_id=ACCOUNT)]
    checks.expect(kinds.count(ChangeKind.REDACTED_MESSAGE) == 1, "the feed says a message was redacted")


def _emails(checks: _Checks, zd: Sandbox, ticket_id: int) -> None:
    out = checks.console
    out.rule("[bold]7. The emails Zendesk would send to end users")
    sent = [e for e in zd.emails() if e.get("ticket_id") == ticket_id]
    for email in sent:
        out.print(f"   to {', '.join(email['to'])}: [dim]{_short(str(email.get('body', '')))}[/dim]")
    staff_replies = [e for e in sent if "Which browser" in str(e.get("body"))]
    everyone = {"bob@acme.test", "alice@acme.test", "it-support@acme.test"}
    checks.expect(
        bool(staff_replies) and everyone <= set(staff_replies[0]["to"]),
        "a staff reply reaches the requester and every recipient",
    )
    checks.expect(not any("legacy SSO" in str(e.get("body")) for e in sent), "no end user is emailed the internal note")


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _timeline(out: Console, case: Case, agent: Staff) -> None:
    table = Table(show_header=True, header_style="bold", expand=True)
    table.add_column(f"console: case #{case.id} — {case.status.value}", ratio=1)
    ticket: dict[str, Any] = agent.ticket(case.ticket_id) if case.ticket_id else {}
    label = f"Zendesk: ticket #{case.ticket_id} — {ticket.get('status', '—')}" if ticket else "Zendesk: (no ticket yet)"
    if ticket and ((ticket.get("via") or {}).get("source") or {}).get("rel") == "follow_up":
        label += " (follow-up)"
    table.add_column(label, ratio=1)
    left = [f"{m.author_name} ({m.author}): {_short(m.body, 50)}" for m in case.messages]
    comments = agent.comments(case.ticket_id) if case.ticket_id else []
    right = [
        f"{'public' if c['public'] else '[yellow]internal note[/yellow]'}: {_short(str(c['body']), 50)}"
        for c in comments
    ]
    for i in range(max(len(left), len(right))):
        table.add_row(left[i] if i < len(left) else "", right[i] if i < len(right) else "")
    out.print(table)
