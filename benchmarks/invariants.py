"""The invariant checker: compares casesync's store with Zendesk's state and lists every docs/design.md §4 violation.

``check(store, state)`` takes an opened store and the sandbox's ``GET /__sandbox/state`` (optionally its
``/__sandbox/emails`` log) once both sides are quiet, and returns a :class:`Report`.  It uses the store's
public transaction API plus a read of the account ids, and nothing of casesync's sync code: a bug in the
engine cannot hide itself from it.

Console messages written by the chaos run carry a unique token ``«c<n>»`` and internal notes ``«n<n>»``;
with the tokens, "exactly once" is checked by content (a comment holding two console messages is caught
too); without them it falls back to the comment ids the store recorded.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from sync.store import Store, schema

__all__ = ["Report", "Violation", "blocked_entries", "check", "expected_status", "held_keys", "is_transient_reason"]

CONSOLE_TOKEN = re.compile(r"«c\d+»")
NOTE_TOKEN = re.compile(r"«n\d+»")
CASE_REF = re.compile(r"case #(\d+)")
#: docs/design.md §3, inbound column: Zendesk status → console status.
_STATUS = {"new": "New", "open": "Open", "hold": "Open", "pending": "Pending", "solved": "Solved",
           "closed": "Closed", "deleted": "Closed"}
# Reasons that mark a transient failure: those must be retried, never dead-lettered (invariant 7).
# The HTTP status as the gateway writes it ("HTTP 503"), never a bare number: a URL such as
# /api/v2/tickets/500.json is not a server error.
_TRANSIENT = re.compile(r"\bHTTP (429|5\d\d)\b|\b(timed? ?out|timeout|reset|connection|cut short)\b", re.I)
# A refused credential pauses the connection (docs/design.md §8): it never dead-letters a change.
_AUTH = re.compile(r"\bHTTP 401\b|couldn't authenticate|invalid_token", re.I)
#: The store's kv key of a connection pause (sync/connection.py); read through the public store API.
_PAUSE_KEY = "connection:paused"


def is_transient_reason(reason: str) -> bool:
    """True when a dead letter's reason is a rate limit, a server error or a network failure."""
    return _TRANSIENT.search(reason) is not None


def expected_status(zendesk_status: str) -> str | None:
    """The console status a ticket status maps to (None: unknown, a mapping error)."""
    return _STATUS.get(zendesk_status)


@dataclass(frozen=True)
class Violation:
    """One broken invariant: ``kind`` (e.g. ``duplicate_ticket``), the §4 number, and what was seen."""

    kind: str
    invariant: int
    detail: str


@dataclass
class Report:
    """What the checker found."""

    violations: list[Violation] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    dead_letters: list[str] = field(default_factory=list)

    def add(self, kind: str, invariant: int, detail: str) -> None:
        self.violations.append(Violation(kind, invariant, detail))

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(v.kind for v in self.violations))

    def summary(self) -> str:
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(self.by_kind().items())) or "none"
        return f"violations={len(self.violations)} ({kinds})"


@dataclass
class _Zendesk:
    """The sandbox's state, indexed."""

    tickets: dict[int, dict[str, Any]]
    comments: dict[int, tuple[int, dict[str, Any]]]  # comment id -> (ticket id, comment)
    emails: dict[int, str]  # user id -> email (lower case)
    org_of_account: dict[str, int]
    token_comments: dict[str, list[tuple[int, int, bool]]]  # console token -> [(ticket, comment, public)]

    @classmethod
    def of(cls, state: dict[str, Any]) -> _Zendesk:
        tickets = {int(t["id"]): t for t in state["tickets"]}
        comments: dict[int, tuple[int, dict[str, Any]]] = {}
        tokens: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
        for tid, items in state["comments"].items():
            for c in items:
                comments[int(c["id"])] = (int(tid), c)
                for token in set(CONSOLE_TOKEN.findall(str(c.get("body") or ""))):
                    tokens[token].append((int(tid), int(c["id"]), bool(c["public"])))
        orgs = {str(o["external_id"]).split(":", 1)[1]: int(o["id"]) for o in state["organizations"]
                if str(o.get("external_id") or "").startswith("console-account:")}
        emails = {int(u["id"]): str(u["email"] or "").lower() for u in state["users"]}
        return cls(tickets, comments, emails, orgs, tokens)


def blocked_entries(store: Store) -> int:
    """How many pending outbox entries :func:`held_keys` holds."""
    held = held_keys(store)
    with store.read() as tx:
        return sum(1 for e in tx.outbox_entries(status="pending", limit=100_000) if e.ordering_key in held)


def held_keys(store: Store) -> set[str]:
    """Pending outbox entries held behind a dead letter: of the same ordering key, or a continuation waiting
    for the ticket of a case whose own delivery is dead-lettered.  They wait for an operator's replay."""
    waiting = re.compile(r"waiting: case (\d+)")
    with store.read() as tx:
        dead_keys = {e.ordering_key for e in tx.outbox_entries(status="dead", limit=100_000)}
        pending = tx.outbox_entries(status="pending", limit=100_000)
    held = {e.ordering_key for e in pending if e.ordering_key in dead_keys}
    for _ in range(10):  # a chain of continuations is held as a whole
        more = {e.ordering_key for e in pending if (m := waiting.match(e.last_error or ""))
                and (f"case:{m.group(1)}" in dead_keys or f"case:{m.group(1)}" in held)}
        if more <= held:
            break
        held |= more
    return held


def _accounts(store: Store) -> list[str]:
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        return [str(r[0]) for r in conn.execute(select(schema.accounts.c.id).order_by(schema.accounts.c.id))]


def check(
    store: Store,
    state: dict[str, Any],
    *,
    emails: Iterable[dict[str, Any]] = (),
    hand_added: Callable[[str], bool] = lambda _address: False,
    owner_of_address: Callable[[str], str | None] = lambda _address: None,
    redacted: Iterable[tuple[int, str]] = (),
    status_labels: dict[int, str] | None = None,
    forged_events: Iterable[str] = (),
    accepted_events: Iterable[str] = (),
) -> Report:
    """Every §4 violation between ``store`` and Zendesk's ``state``.

    ``hand_added`` says which CC addresses staff added by hand (kept on tickets, invariant 6); a user of the
    account who replied on the case, or on a case it continues, may be CC'd too (the README's "Authorship";
    Zendesk copies a closed ticket's CCs onto its follow-up);
    ``status_labels`` (custom status id → end-user label) checks ``Case.status_label`` when given;
    ``owner_of_address`` names the account an address belongs to, for the notification log check
    (invariant 8); ``emails`` is the sandbox's notification log; ``redacted`` the (ticket, string) pairs staff
    redacted in Zendesk, none of which may be left anywhere in the store (docs/design.md §8), nor may any
    message's HTML hold markup the sanitizer refuses.  A ticket deleted since cannot be read again: its
    redactions are not judged.
    """
    zd = _Zendesk.of(state)
    report = Report()
    case_account: dict[int, str] = {}
    case_ticket: dict[int, int] = {}
    cases: list[tuple[Any, list[Any], list[str], dict[str, str]]] = []
    with store.read() as tx:
        conflicted = {c.case_id for c in tx.conflicts(open_only=False) if c.case_id is not None}
        for account_id in _accounts(store):
            recipients = tx.recipients(account_id)
            user_emails = {u.user_id: u.email.lower() for u in tx.users(account_id)}
            for record in tx.case_records(account_id):
                case_account[record.id] = account_id
                if record.ticket_id is not None:
                    case_ticket[record.id] = record.ticket_id
                messages = tx.case_messages(record.id, include_withdrawn=True)
                cases.append((record, messages, recipients, user_emails))
        counts = tx.counts()
        for dead in tx.dead_letters():
            report.dead_letters.append(f"{dead.queue} #{dead.id} {dead.kind} case={dead.case_id}: {dead.reason}")
            if is_transient_reason(dead.reason):
                report.add("dead_letter_transient", 7, f"{dead.queue} #{dead.id}: {dead.reason}")
            if _AUTH.search(dead.reason):
                report.add("dead_letter_auth", 7, f"{dead.queue} #{dead.id}: {dead.reason}")
        pause = tx.kv_get(_PAUSE_KEY)
        if pause:
            report.add("connection_paused", 7, f"the connection is still paused: {pause}")
    held = blocked_entries(store)
    if counts.outbox_pending - held or counts.inbox_pending:
        report.add("undelivered", 7, f"outbox pending {counts.outbox_pending} ({held} held behind dead letters),"
                                     f" inbox pending {counts.inbox_pending}")
    dead_cases = {int(d.split("case=")[1].split(":")[0]) for d in report.dead_letters
                  if "case=" in d and d.split("case=")[1].split(":")[0].isdigit()}
    # A case whose delivery waits behind a dead letter is not lost: it waits for an operator's replay.
    dead_cases |= {int(k.split(":")[1]) for k in held_keys(store) if k.startswith("case:")}

    _check_tickets(report, zd, case_ticket, dead_cases)
    console_tokens: Counter[str] = Counter()
    store_comment_ids: Counter[int] = Counter()
    console_comment_ids: set[int] = set()
    # Zendesk copies a closed ticket's CCs onto its follow-up: a colleague CC'd for replying on a case stays
    # CC'd on the cases that continue it.
    wrote: dict[int, set[str]] = {
        record.id: {user_emails[m.user_id] for m in messages if m.user_id in user_emails}
        for record, messages, _, user_emails in cases
    }
    continues = {record.id: record.refers_to for record, *_ in cases}
    for record, messages, recipients, user_emails in cases:
        report.checked["cases"] += 1
        for m in messages:
            report.checked["messages"] += 1
            if m.origin == "console":
                console_tokens.update(CONSOLE_TOKEN.findall(m.body))
                if m.zendesk_comment_id is not None:
                    console_comment_ids.add(m.zendesk_comment_id)
            elif not m.withdrawn and m.zendesk_comment_id is not None:
                store_comment_ids[m.zendesk_comment_id] += 1
            _check_message(report, zd, record, m, case_account, case_ticket, dead_cases)
            if m.origin == "console":
                _check_author(report, zd, record, m, user_emails)
        ticket = zd.tickets.get(record.ticket_id) if record.ticket_id is not None else None
        if ticket is not None and record.id not in conflicted:
            repliers = _repliers(record.id, wrote, continues)
            _check_case_vs_ticket(report, zd, record, ticket, recipients, user_emails,
                                  _kept_ccs(hand_added, repliers))
            _check_details(report, record, ticket, status_labels)
        for other in (record.refers_to, record.merged_into):
            if other is not None and case_account.get(other) != record.account_id:
                report.add("cross_account", 8, f"case {record.id} links case {other} of another account")
    for token, n in console_tokens.items():
        if n > 1:
            report.add("echo", 9, f"console message {token} is in the store {n} times")
    for cid, n in store_comment_ids.items():
        if n > 1:
            report.add("duplicate_message", 2, f"comment {cid} imported {n} times")
        if cid in console_comment_ids:
            report.add("echo", 9, f"comment {cid} written by casesync was imported back")
    account_users = {a: set(emails_.values()) for _r, _m, _rec, emails_ in cases for a in [_r.account_id]}
    _check_public_comments(report, zd, case_ticket, case_account, conflicted, store_comment_ids, console_comment_ids)
    _check_followups(report, zd, case_ticket, case_account, account_users, conflicted)
    _check_emails(report, zd, emails, case_ticket, case_account, conflicted, owner_of_address)
    for _record, messages, _recipients, _emails in cases:
        for m in messages:
            _check_html(report, m)
    live = [secret for ticket, secret in redacted if str(zd.tickets.get(ticket, {}).get("status")) != "deleted"]
    # A string a public comment in Zendesk still holds (a copy of the comment, posted twice by a staff request
    # retried after its answer was lost) is rightly still in the console's copy of that comment.
    still_shown = {s for s in live if _shown_in_zendesk(zd, s)}
    report.checked["redactions_still_in_zendesk"] += len(still_shown)
    _check_redacted(report, store, [s for s in live if s not in still_shown])
    _check_webhook_events(report, store, set(forged_events), set(accepted_events))
    return report


def _check_webhook_events(report: Report, store: Store, forged: set[str], accepted: set[str]) -> None:
    """No forged delivery in the inbox (the receiver checks signatures); every accepted one there once."""
    if not forged and not accepted:
        return
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        keys = {str(k) for (k,) in conn.execute(select(schema.inbox.c.dedupe_key))}
    report.checked["webhook_events"] += len(forged) + len(accepted)
    for event in sorted(forged):
        if f"webhook:{event}" in keys:
            report.add("forged_accepted", 8, f"the forged delivery {event} is in the inbox")
    for event in sorted(accepted):
        if f"webhook:{event}" not in keys:
            report.add("lost_hint", 7, f"the accepted delivery {event} is not in the inbox")


# Markup that sanitized HTML never holds: code, styles, frames, forms, handlers, script URLs, Zendesk's hosts.
_UNSAFE_HTML = re.compile(
    r"<\s*/?\s*(script|style|iframe|frame|object|embed|form|input|button|svg|math|meta|link|base)\b"
    r"|<[^>]*\s(on[a-z]+|style|class|id)\s*=[^>]*>|<[^>]*(javascript:|vbscript:|data:|zendesk\.com)[^>]*>"
    r"|<img\b(?![^>]*src=\"attachment:)[^>]*>",
    re.IGNORECASE,
)


def _check_html(report: Report, m: Any) -> None:
    report.checked["html"] += 1 if m.html else 0
    if m.html and (found := _UNSAFE_HTML.search(m.html)):
        report.add("unsanitized_html", 3, f"message {m.id} holds {found.group(0)[:80]!r}")
    if m.origin == "console" and m.html is not None:
        report.add("unsanitized_html", 3, f"console message {m.id} has HTML")


def _shown_in_zendesk(zd: _Zendesk, secret: str) -> bool:
    """Whether a public comment in Zendesk's state still holds ``secret`` (in its text or its HTML)."""
    return any(
        c.get("public") and (secret in str(c.get("body") or "") or secret in str(c.get("html_body") or ""))
        for _ticket, c in zd.comments.values()
    )


def _check_redacted(report: Report, store: Store, secrets: list[str]) -> None:
    """No string staff redacted is left in any table (messages, attachments, inbox, kv, feed…)."""
    if not secrets:
        return
    texts: dict[str, str] = {}  # table -> everything it holds, as text
    with store.engine.connect() as conn:  # type: ignore[attr-defined]
        for table in schema.metadata.sorted_tables:
            texts[table.name] = "\n".join(
                bytes(v).decode("utf-8", "replace") if isinstance(v, bytes | memoryview) else json.dumps(v, default=str)
                for row in conn.execute(select(table))
                for v in row
            )
    report.checked["redactions"] += len(secrets)
    for secret in secrets:
        where = sorted(name for name, text_ in texts.items() if secret in text_)
        if where:
            report.add("redacted_left", 3, f"the redacted string {secret!r} is still in the store ({', '.join(where)})")


def _check_tickets(report: Report, zd: _Zendesk, case_ticket: dict[int, int], dead_cases: set[int]) -> None:
    by_external: Counter[str] = Counter(str(t["external_id"]) for t in zd.tickets.values()
                                        if str(t.get("external_id") or "").startswith("console-case:"))
    for external_id, n in by_external.items():
        if n > 1:
            report.add("duplicate_ticket", 1, f"{n} tickets with external_id {external_id}")
    for ticket_id, n in Counter(case_ticket.values()).items():
        if n > 1:
            report.add("duplicate_ticket", 1, f"ticket {ticket_id} is linked to {n} cases")
    for case_id, ticket_id in case_ticket.items():
        if ticket_id not in zd.tickets:
            report.add("lost_case", 1, f"case {case_id} is linked to ticket {ticket_id}, which Zendesk does not have")
    report.checked["tickets"] = len(zd.tickets)


def _check_message(
    report: Report, zd: _Zendesk, record: Any, m: Any, case_account: dict[int, str], case_ticket: dict[int, int],
    dead_cases: set[int],
) -> None:
    if not m.withdrawn and NOTE_TOKEN.search(m.body):
        report.add("leaked_note", 3, f"message {m.id} of case {record.id} holds an internal note's text")
    if m.origin == "console":
        tokens = CONSOLE_TOKEN.findall(m.body)
        if record.ticket_id is None:
            if record.id not in dead_cases:
                report.add("lost_case", 7, f"case {record.id} has no ticket and no dead letter")
            return
        if not tokens:
            if m.zendesk_comment_id is None and record.id not in dead_cases:
                report.add("lost_message", 2, f"console message {m.id} of case {record.id} has no comment")
            return
        found = zd.token_comments.get(tokens[0], [])
        public = [f for f in found if f[2]]
        # A copy on a ticket staff deleted is seen by nobody: a reply whose first attempt may have reached
        # a ticket deleted meanwhile continues as a new case (nothing lost), and only live copies count.
        live = [f for f in public if str(zd.tickets.get(f[0], {}).get("status")) != "deleted"]
        public = live or public
        if not public and record.id not in dead_cases:
            report.add("lost_message", 2, f"console message {tokens[0]} (case {record.id}) is not on any ticket")
        elif len(public) > 1:
            report.add("duplicate_message", 2, f"console message {tokens[0]} is {len(public)} comments")
        elif public and public[0][0] != record.ticket_id:
            report.add("wrong_ticket", 2, f"console message {tokens[0]} of case {record.id} is on ticket"
                                          f" {public[0][0]}, not {record.ticket_id}")
        for _tid, cid, _pub in public:
            others = set(CONSOLE_TOKEN.findall(str(zd.comments[cid][1].get("body") or ""))) - {tokens[0]}
            if others:
                report.add("merged_messages", 2, f"comment {cid} holds console messages {tokens[0]} and {others}")
        return
    # A message imported from Zendesk.
    if m.withdrawn:
        return
    if m.zendesk_comment_id is None:
        report.add("lost_message", 2, f"imported message {m.id} of case {record.id} has no comment id")
        return
    found_comment = zd.comments.get(m.zendesk_comment_id)
    if found_comment is None:
        report.add("lost_message", 2, f"message {m.id} names comment {m.zendesk_comment_id}, unknown to Zendesk")
        return
    ticket_id, comment = found_comment
    if not comment["public"]:
        report.add("leaked_note", 3, f"message {m.id} of case {record.id} is private comment {comment['id']}")
    if ticket_id != record.ticket_id:
        owner = next((c for c, t in case_ticket.items() if t == ticket_id), None)
        if owner is not None and case_account.get(owner) != record.account_id:
            report.add("cross_account", 8, f"case {record.id} shows comment {comment['id']} of another account")
        else:
            report.add("wrong_ticket", 2, f"case {record.id} shows comment {comment['id']} of ticket {ticket_id}")
    for number in CASE_REF.findall(m.body):
        if case_account.get(int(number), record.account_id) != record.account_id:
            report.add("cross_account", 8, f"message {m.id} of case {record.id} shows case #{number} of another"
                                           " account")


def _check_case_vs_ticket(
    report: Report, zd: _Zendesk, record: Any, ticket: dict[str, Any], recipients: list[str],
    user_emails: dict[str, str], hand_added: Callable[[str], bool],
) -> None:
    want = expected_status(str(ticket["status"]))
    if want != record.status.value:
        report.add("status_mismatch", 5, f"case {record.id} is {record.status.value}, ticket {ticket['id']} is"
                                         f" {ticket['status']} (expected {want})")
    account_org = zd.org_of_account.get(record.account_id)
    if ticket.get("organization_id") != account_org:
        report.add("cross_account", 8, f"ticket {ticket['id']} of case {record.id} is in organization"
                                       f" {ticket.get('organization_id')}, not {account_org}, without a conflict")
    requester = zd.emails.get(int(ticket["requester_id"]), "")
    if requester not in set(user_emails.values()):
        report.add("cross_account", 8, f"ticket {ticket['id']} of case {record.id} has requester {requester},"
                                       " not a user of the account, without a conflict")
    if ticket["status"] in ("closed", "deleted"):
        return
    report.checked["cc_tickets"] += 1
    ccs = {zd.emails.get(int(u), f"user:{u}") for u in ticket["email_cc_ids"]}
    expected = {a.lower() for a in recipients} - {requester}
    missing = expected - ccs
    extra = {a for a in ccs - expected if not hand_added(a)}
    if missing:
        report.add("cc_missing", 6, f"ticket {ticket['id']} lacks CCs {sorted(missing)}")
    if extra:
        report.add("cc_extra", 6, f"ticket {ticket['id']} has CCs {sorted(extra)} not on the recipient list")
    shown = {a.lower() for a in record.cc}
    if shown != ccs:
        report.add("cc_display", 6, f"case {record.id} shows CCs {sorted(shown)}, ticket has {sorted(ccs)}")


def _repliers(case_id: int, wrote: dict[int, set[str]], continues: dict[int, int | None]) -> set[str]:
    """The console users who wrote on the case or on a case it continues (its ``refers_to`` chain)."""
    found: set[str] = set()
    seen: set[int] = set()
    current: int | None = case_id
    while current is not None and current not in seen:
        seen.add(current)
        found |= wrote.get(current, set())
        current = continues.get(current)
    return found


def _kept_ccs(hand_added: Callable[[str], bool], repliers: set[str]) -> Callable[[str], bool]:
    """CCs a ticket may hold besides the recipient list: staff's, and users of the account who replied."""
    return lambda address: hand_added(address) or address in repliers


def _check_author(report: Report, zd: _Zendesk, record: Any, m: Any, user_emails: dict[str, str]) -> None:
    """A console user's message is that user's comment in Zendesk (docs/design.md §8 authorship)."""
    found = zd.comments.get(m.zendesk_comment_id) if m.zendesk_comment_id is not None else None
    writer = m.user_id or record.requester_id
    expected = user_emails.get(writer)
    if found is None or expected is None:
        return
    report.checked["authors"] += 1
    author = zd.emails.get(int(found[1]["author_id"]), "")
    if author != expected:
        report.add("wrong_author", 2, f"message {m.id} of case {record.id} by {writer} ({expected}) is comment"
                                      f" {m.zendesk_comment_id} by {author or 'an unknown user'}")


def _check_details(report: Report, record: Any, ticket: dict[str, Any], labels: dict[int, str] | None) -> None:
    """Priority and custom-status label as Zendesk has them (invariant 5's spirit: within a cycle)."""
    if ticket["status"] == "deleted":
        return
    report.checked["details"] += 1
    if record.priority != ticket.get("priority"):
        report.add("priority_mismatch", 5, f"case {record.id} has priority {record.priority}, ticket"
                                           f" {ticket['id']} {ticket.get('priority')}")
    if labels is not None and ticket.get("custom_status_id") is not None:
        want = labels.get(int(ticket["custom_status_id"]))
        if record.status_label != want:
            report.add("status_label_mismatch", 5, f"case {record.id} shows {record.status_label!r}, ticket"
                                                   f" {ticket['id']}'s custom status is {want!r}")


def _check_public_comments(
    report: Report, zd: _Zendesk, case_ticket: dict[int, int], case_account: dict[int, str], conflicted: set[int],
    imported: Counter[int], written: set[int],
) -> None:
    """Every public comment written in Zendesk on a managed ticket is one console message (invariant 2)."""
    for case_id, ticket_id in case_ticket.items():
        if case_id in conflicted or ticket_id not in zd.tickets:
            continue
        for cid, (tid, comment) in ((c, v) for c, v in zd.comments.items() if v[0] == ticket_id):
            if not comment["public"] or cid in written or CONSOLE_TOKEN.search(str(comment.get("body") or "")):
                continue
            report.checked["zendesk_comments"] += 1
            if imported.get(cid, 0) == 0:
                report.add("lost_message", 2, f"public comment {cid} on ticket {tid} (case {case_id}) is not"
                                              " in the console")


def _check_followups(
    report: Report, zd: _Zendesk, case_ticket: dict[int, int], case_account: dict[int, str],
    account_users: dict[str, set[str]], conflicted: set[int],
) -> None:
    """A follow-up of a managed ticket by a user of the same account becomes a case (docs/design.md §3 References).

    Except a follow-up outside the account's organization whose source's case is in conflict: Zendesk gives a
    follow-up the organization of its source, so the follow-up of a ticket staff moved to another account's
    organization is in that organization too, and docs/design.md §3 makes a ticket there a conflict, never a case
    (nothing crosses accounts).
    """
    account_of_ticket = {t: case_account[c] for c, t in case_ticket.items()}
    case_of_ticket = {t: c for c, t in case_ticket.items()}
    for t in zd.tickets.values():
        source = ((t.get("via") or {}).get("source") or {})
        parent = (source.get("from") or {}).get("ticket_id")
        if source.get("rel") != "follow_up" or parent not in account_of_ticket or t["id"] in account_of_ticket:
            continue
        account = account_of_ticket[parent]
        if t.get("organization_id") != zd.org_of_account.get(account) and case_of_ticket[parent] in conflicted:
            continue
        requester = zd.emails.get(int(t["requester_id"]), "")
        if t["status"] != "deleted" and requester in account_users.get(account, set()):
            report.add("lost_case", 2, f"follow-up ticket {t['id']} of managed ticket {parent} by {requester}"
                                       " has no case")


def _check_emails(
    report: Report, zd: _Zendesk, emails: Iterable[dict[str, Any]], case_ticket: dict[int, int],
    case_account: dict[int, str], conflicted: set[int], owner_of_address: Callable[[str], str | None],
) -> None:
    account_of_ticket = {t: case_account[c] for c, t in case_ticket.items() if c not in conflicted}
    for email in emails:
        account = account_of_ticket.get(int(email.get("ticket_id") or 0))
        if account is None:
            continue
        report.checked["emails"] += 1
        for address in email.get("to") or []:
            owner = owner_of_address(str(address).lower())
            if owner is not None and owner != account:
                report.add("cross_account_email", 8, f"ticket {email['ticket_id']} of {account} emailed {address}")
