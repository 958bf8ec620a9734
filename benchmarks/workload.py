"""The chaos run's workload: console users on one side, support staff and end users' emails on the other.

Console operations go through :class:`~sync.api.SupportCases` (the library the console imports); staff act
through Zendesk's ordinary API as an agent; end users answer through the sandbox's email channel.  Each text
carries a unique token (``«c…»`` console, ``«s…»`` staff, ``«n…»`` internal note, ``«e…»`` email) so the
invariant checker can follow it.  Refusals that the console would also meet (replying to a case staff have
closed meanwhile, Zendesk refusing an update of a closed ticket) are counted, not errors.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mappings.models import Attachment, CaseStatus
from sync.api import SupportCases
from sync.consistency.setup import WEBHOOK_SUBSCRIPTIONS
from sync.errors import CaseSyncError
from sync.sandbox.staff import Staff

__all__ = ["EVENT_TYPES", "STAFF_RETRIES", "Workload", "account_of_address", "is_hand_added"]

#: The ticket events the chaos run's webhook subscribes to: those ``setup-zendesk`` subscribes a deployment to
#: (a comment made private included: only that hint makes the inbox re-read the ticket's comments at once),
#: plus tag changes.
EVENT_TYPES = [*WEBHOOK_SUBSCRIPTIONS, "zen:event-type:ticket.tags_changed"]
#: How many times the workload's staff send a request again after a transient fault, as a person clicks
#: again (faults hit their requests too); a refusal they leave be (:meth:`~sync.sandbox.staff.Staff.call`).
STAFF_RETRIES = 3
PARTNER_DOMAIN = "partner.test"
#: Custom ticket statuses staff use: (category, agent label, end-user label).
CUSTOM_STATUSES = [
    ("open", "Waiting on engineering", "Being worked on"),
    ("pending", "Waiting on vendor", "Waiting on a third party"),
    ("hold", "Escalated", "Escalated to a specialist"),
    ("solved", "Fixed in release", "Fixed"),
]

#: What a hostile or careless rich-text reply may carry; none of it may reach the console's store.
HOSTILE_HTML = [
    "<script>alert(document.cookie)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    '<p style="position:fixed" onclick="steal()">styled</p>',
    '<iframe src="https://evil.example/"></iframe>',
    '<form action="https://evil.example/"><input name="password"></form>',
    '<a href="https://acme.zendesk.com/agent/tickets/1">the desk</a>',
    "<svg onload=alert(1)>",
]


def account_of_address(address: str) -> str | None:
    """Which account an address of the workload belongs to (``…@acct7.test`` → ``acct7``)."""
    domain = address.rsplit("@", 1)[-1].lower()
    return domain.removesuffix(".test") if domain.startswith("acct") else None


def is_hand_added(address: str) -> bool:
    """Staff add CCs by hand from the partner domain only."""
    return address.lower().endswith("@" + PARTNER_DOMAIN)


def _pick(rng: random.Random, weighted: list[tuple[float, Any]]) -> Any:
    """One item of ``[(weight, item), …]`` drawn by weight."""
    roll = rng.uniform(0, sum(w for w, _ in weighted))
    for weight, item in weighted:
        roll -= weight
        if roll <= 0:
            return item
    return weighted[-1][1]


@dataclass
class _Case:
    id: int
    account: str
    requester: str
    status: CaseStatus = CaseStatus.NEW


@dataclass
class Workload:
    """Generates and performs the operations, seeded; ``ops`` counts what was done."""

    support: SupportCases
    agent: Staff
    cases_target: int
    messages_target: int
    seed: int = 1
    ops: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        n_accounts = max(2, self.cases_target // 40)
        self.accounts = [f"acct{i}" for i in range(n_accounts)]
        self.cases: list[_Case] = []
        self.tickets: dict[int, int] = {}  # case -> ticket
        self.ticket_case: dict[int, int] = {}
        self.orgs: dict[str, int] = {}
        self.public_comments: list[tuple[int, int]] = []  # (ticket, staff comment) that may be made private
        self.extra_recipients: dict[str, list[str]] = {a: [] for a in self.accounts}
        self.custom_statuses: list[int] = []
        self.console_messages = 0
        #: (ticket, comment, secret) of staff replies holding a secret staff may redact later.
        self.redactable: list[tuple[int, int, str]] = []
        #: (ticket, secret) that Zendesk accepted to redact: none of them may be left anywhere in the store.
        self.redacted: list[tuple[int, str]] = []
        self.staff_target = self.messages_target // 2
        self.n = 0

    # -- setup ----------------------------------------------------------------------------------------

    def setup(self) -> None:
        for a in self.accounts:
            self.support.upsert_account(a, f"Account {a}")
            for k in range(3):
                self.support.upsert_user(a, f"u{k}", f"u{k}@{a}.test", f"User {k} of {a}", admin=k == 0)
            self.support.add_recipient(a, f"ops@{a}.test")
            self.ops["setup"] += 1
        _ = self.agent.id  # asked now, before any fault: staff assign tickets to themselves later
        # The custom statuses an admin added in Admin Center, for staff to pick.
        for category, agent_label, end_user_label in CUSTOM_STATUSES:
            made = self.agent.call("POST", "custom_statuses", {"custom_status": {
                "status_category": category, "agent_label": agent_label, "end_user_label": end_user_label}},
                retries=9)
            if made:
                self.custom_statuses.append(int(made["custom_status"]["id"]))

    def custom_status_labels(self) -> dict[int, str]:
        """Every custom status's end-user label, as Zendesk has them now (for the checker)."""
        found = self.agent.call("GET", "custom_statuses", retries=9) or {}
        return {int(s["id"]): str(s["end_user_label"]) for s in found.get("custom_statuses", [])}

    def _token(self, kind: str) -> str:
        self.n += 1
        return f"«{kind}{self.n}»"

    # -- the loop ---------------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return (len(self.cases) >= self.cases_target and self.console_messages >= self.messages_target
                and self.ops["staff"] >= self.staff_target)

    def step(self) -> None:
        """One operation, chosen at random among those still needed."""
        choices: list[tuple[float, Any]] = []
        if len(self.cases) < self.cases_target:
            choices.append((3.0, self.submit))
        if self.console_messages < self.messages_target and self.cases:
            choices += [(6.0, self.reply), (0.5, self.close), (0.3, self.recipients)]
        if self.ops["staff"] < self.staff_target and self.tickets:
            choices.append((6.0, self.staff))
        if not choices:
            return
        _pick(self.rng, choices)()

    def refresh(self) -> None:
        """Learn the tickets casesync has created so far (staff can only act on those) and the statuses."""
        with self.support.store.read() as tx:
            after = 0
            while True:
                batch = tx.linked_cases(after_case_id=after, limit=1000)
                if not batch:
                    break
                for case_id, ticket_id in batch:
                    self.tickets[case_id] = ticket_id
                    self.ticket_case[ticket_id] = case_id
                after = batch[-1][0]
            for case in self.cases:
                record = tx.get_case(case.id)
                if record is not None:
                    case.status = record.status
        found = self.agent.call("GET", "organizations?per_page=100") or {}
        for org in found.get("organizations", []):
            external = str(org.get("external_id") or "")
            if external.startswith("console-account:"):
                self.orgs[external.split(":", 1)[1]] = int(org["id"])

    # -- console side -----------------------------------------------------------------------------------

    def _console(self, name: str, fn: Any) -> Any:
        try:
            result = fn()
        except CaseSyncError as exc:
            self.ops[f"refused:{name}:{type(exc).__name__}"] += 1
            return None
        self.ops["console"] += 1
        self.ops[name] += 1
        return result

    def submit(self) -> None:
        account = self.rng.choice(self.accounts)
        user = f"u{self.rng.randrange(3)}"
        closed = [c for c in self.cases if c.account == account and c.status is CaseStatus.CLOSED]
        refers_to = self.rng.choice(closed).id if closed and self.rng.random() < 0.2 else None
        files = [Attachment(filename="log.txt", content_type="text/plain", data=b"trace %d" % self.n)] \
            if self.rng.random() < 0.02 else []
        body = f"{self._token('c')} something is wrong"
        case = self._console(
            "continue" if refers_to else "submit",
            lambda: self.support.submit(account, user, f"Problem {self.n}", body, refers_to=refers_to,
                                        attachments=files),
        )
        if case is not None:
            self.cases.append(_Case(case.id, account, user))
            self.console_messages += 1

    def reply(self) -> None:
        live = [c for c in self.cases if c.status is not CaseStatus.CLOSED]
        if not live:
            return
        case = self.rng.choice(live)
        ack = case.status is CaseStatus.SOLVED and self.rng.random() < 0.5
        body = f"{self._token('c')} more details"
        # Often another user of the account answers (each reply is its author's own comment in Zendesk).
        user = case.requester if self.rng.random() < 0.65 else f"u{self.rng.randrange(3)}"
        out = self._console("acknowledge" if ack else "reply",
                            lambda: self.support.reply(case.account, case.id, user, body, acknowledges_solution=ack))
        if out is not None:
            case.status = out.status
            self.console_messages += 1
        else:
            case.status = CaseStatus.CLOSED

    def close(self) -> None:
        live = [c for c in self.cases if c.status is not CaseStatus.CLOSED]
        if live:
            case = self.rng.choice(live)
            self._console("close", lambda: self.support.close(case.account, case.id, case.requester))
            case.status = CaseStatus.CLOSED

    def recipients(self) -> None:
        account = self.rng.choice(self.accounts)
        extra = self.extra_recipients[account]
        if extra and self.rng.random() < 0.4:
            address = extra.pop(self.rng.randrange(len(extra)))
            self._console("remove_recipient", lambda: self.support.remove_recipient(account, address))
        elif self.rng.random() < 0.2:
            admin = self.rng.random() < 0.5
            self._console("admin_change", lambda: self.support.upsert_user(
                account, "u1", f"u1@{account}.test", f"User 1 of {account}", admin=admin))
        else:
            address = f"extra{self.n}@{account}.test"
            self.n += 1
            if self._console("add_recipient", lambda: self.support.add_recipient(account, address)) is not None:
                extra.append(address)

    # -- Zendesk side -----------------------------------------------------------------------------------

    def staff(self) -> None:
        case_id = self.rng.choice(list(self.tickets))
        ticket = self.tickets[case_id]
        account = next((c.account for c in self.cases if c.id == case_id), None)
        actions: list[tuple[float, Any]] = [
            (5, lambda: self._public(ticket, account)), (3, lambda: self._note(ticket)),
            (2, lambda: self._status(ticket)), (2, lambda: self._email(ticket, case_id)),
            (1, lambda: self._cc(ticket)), (0.6, lambda: self._make_private()),
            (0.4, lambda: self._merge(ticket, account)), (0.25, lambda: self._delete(ticket)),
            (0.25, lambda: self._move(ticket, account)), (0.1, lambda: self._foreign_followup(ticket, account)),
            (1.5, lambda: self._rich(ticket)), (0.8, lambda: self._redact()),
            (1, lambda: self._custom_status(ticket)), (1, lambda: self._priority(ticket)),
            (0.8, lambda: self._remove_cc(ticket, account)),
        ]
        self.ops["staff"] += 1
        _pick(self.rng, actions)()

    def _update(self, name: str, ticket: int, fields: dict[str, Any]) -> Any:
        if fields.get("status") in ("solved", "closed"):
            fields["assignee_id"] = self.agent.id  # Zendesk solves and closes only assigned tickets
        self.ops[f"staff:{name}"] += 1
        return self.agent.call("PUT", f"tickets/{ticket}", {"ticket": fields})

    def _quote(self, account: str | None) -> str:
        """Sometimes quote another ticket: of the same account (translated) or another's (left alone)."""
        if self.rng.random() < 0.3 and self.tickets:
            other = self.rng.choice(list(self.tickets.values()))
            return f" (see #{other})"
        return ""

    def _public(self, ticket: int, account: str | None) -> None:
        status = self.rng.choice([None, None, "pending", "solved", "hold", "open"])
        fields: dict[str, Any] = {"comment": {"body": f"{self._token('s')} staff answer{self._quote(account)}",
                                              "public": True}}
        if status:
            fields["status"] = status
        out = self._update("public_reply", ticket, fields)
        for event in ((out or {}).get("audit") or {}).get("events", []):
            if event.get("type") == "Comment":
                self.public_comments.append((ticket, int(event["id"])))

    def _rich(self, ticket: int) -> None:
        """A rich-text reply with hostile HTML, a secret staff may redact, and sometimes a pasted screenshot."""
        secret = f"secret-{self.rng.randrange(10**9):09d}"
        fields: dict[str, Any] = {"comment": {"public": True, "html_body": (
            f"<p>{self._token('s')} rich answer, card {secret}</p><ol><li>step</li></ol>"
            + self.rng.choice(HOSTILE_HTML)
        )}}
        if self.rng.random() < 0.4:
            upload = self.agent.tolerant(self.agent.attach, f"shot{self.n}.png",
                                         b"\x89PNG screenshot " + secret.encode()) or {}
            attachment = upload.get("attachment") or {}
            if upload.get("token") and attachment.get("content_url"):
                fields["comment"]["html_body"] += f'<img src="{attachment["content_url"]}">'
                fields["comment"]["uploads"] = [upload["token"]]
        out = self._update("rich_reply", ticket, fields)
        for event in ((out or {}).get("audit") or {}).get("events", []):
            if event.get("type") == "Comment":
                self.redactable.append((ticket, int(event["id"]), secret))

    def _redact(self) -> None:
        """Staff redact a secret from one of their rich replies (and its screenshot, if any)."""
        if not self.redactable:
            return
        ticket, comment, secret = self.redactable.pop(self.rng.randrange(len(self.redactable)))
        self.ops["staff:redact"] += 1
        if self.agent.call("PUT", f"tickets/{ticket}/comments/{comment}/redact", {"text": secret}) is None:
            return  # refused (a closed ticket) or kept failing: nothing was redacted
        found = self.agent.call("GET", f"tickets/{ticket}/comments?include_inline_images=true") or {}
        for c in found.get("comments") or []:
            for a in c.get("attachments") or [] if int(c.get("id", 0)) == comment else []:
                if self.agent.call("PUT", f"tickets/{ticket}/comments/{comment}/attachments/{a['id']}/redact") is None:
                    return  # the screenshot still holds the secret: not a redaction to check
        self.redacted.append((ticket, secret))

    def _note(self, ticket: int) -> None:
        self._update("note", ticket, {"comment": {"body": f"{self._token('n')} internal only", "public": False}})

    def _status(self, ticket: int) -> None:
        status = self.rng.choice(["pending", "solved", "hold", "open", "closed"])
        self._update(f"status_{status}", ticket, {"status": status})

    def _email(self, ticket: int, case_id: int) -> None:
        case = next((c for c in self.cases if c.id == case_id), None)
        if case is not None:
            self.ops["email_reply"] += 1
            sender = f"{case.requester}@{case.account}.test"
            self.agent.tolerant(self.agent.email_reply, ticket, sender, f"{self._token('e')} answering by email")

    def _cc(self, ticket: int) -> None:
        address = f"partner{self.rng.randrange(20)}@{PARTNER_DOMAIN}"
        self._update("cc", ticket, {"email_ccs": [{"user_email": address, "action": "put"}]})

    def _custom_status(self, ticket: int) -> None:
        if self.custom_statuses:
            self._update("custom_status", ticket, {"custom_status_id": self.rng.choice(self.custom_statuses)})

    def _priority(self, ticket: int) -> None:
        self._update("priority", ticket, {"priority": self.rng.choice(["low", "normal", "high", "urgent", None])})

    def _remove_cc(self, ticket: int, account: str | None) -> None:
        """Staff take a console address (the admin's or a registered one) off the ticket's CCs."""
        if account is not None:
            address = self.rng.choice([f"u0@{account}.test", f"ops@{account}.test"])
            self._update("remove_cc", ticket, {"email_ccs": [{"user_email": address, "action": "delete"}]})

    def _make_private(self) -> None:
        if self.public_comments:
            ticket, comment = self.public_comments.pop(self.rng.randrange(len(self.public_comments)))
            self.ops["staff:make_private"] += 1
            self.agent.call("PUT", f"tickets/{ticket}/comments/{comment}/make_private")

    def _merge(self, ticket: int, account: str | None) -> None:
        same = [t for c, t in self.tickets.items() if t != ticket
                and next((x.account for x in self.cases if x.id == c), None) == account]
        if same:
            self.ops["staff:merge"] += 1
            self.agent.call("POST", f"tickets/{self.rng.choice(same)}/merge", {"ids": [ticket]})

    def _delete(self, ticket: int) -> None:
        self.ops["staff:delete"] += 1
        self.agent.call("DELETE", f"tickets/{ticket}")

    def _move(self, ticket: int, account: str | None) -> None:
        """Move the ticket to another account the ways Zendesk accepts: a ticket's organization must be one
        of its requester's (OAS ``TicketUpdateInput.organization_id``), so staff either first give the
        requester a membership of the other account's organization, or make a user of the other account the
        requester (the ticket then takes that requester's organization)."""
        others = [a for a in self.orgs if a != account]
        if not others:
            return
        other = self.rng.choice(others)
        if self.rng.random() < 0.5:
            self._move_organization(ticket, self.orgs[other])
        else:
            found = self.agent.call("GET", f"users/search?query=u1@{other}.test") or {}
            users = found.get("users") or []
            if users:
                self._update("move_requester", ticket, {"requester_id": users[0]["id"]})

    def _move_organization(self, ticket: int, org: int) -> None:
        shown = (self.agent.call("GET", f"tickets/{ticket}") or {}).get("ticket") or {}
        requester = shown.get("requester_id")
        if requester is None:
            return
        held = self.agent.call("GET", f"users/{requester}/organization_memberships") or {}
        if org not in {m["organization_id"] for m in held.get("organization_memberships") or []}:
            self.ops["staff:add_membership"] += 1
            self.agent.call("POST", "organization_memberships",
                            {"organization_membership": {"user_id": requester, "organization_id": org}})
        self._update("move_org", ticket, {"organization_id": org})

    def _foreign_followup(self, ticket: int, account: str | None) -> None:
        """A follow-up of this ticket whose requester is a user of another account."""
        other = self.rng.choice([a for a in self.accounts if a != account])
        found = self.agent.call("GET", f"users/search?query=u2@{other}.test") or {}
        users = found.get("users") or []
        if users:
            self.ops["staff:foreign_followup"] += 1
            self.agent.call("POST", "tickets", {"ticket": {
                "via_followup_source_id": ticket, "requester_id": users[0]["id"],
                "comment": {"body": f"{self._token('s')} follow-up for another customer", "public": True}}})
