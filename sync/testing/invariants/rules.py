"""The invariant checker's rules: each compares one kind of item of the store with Zendesk's state."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from sync.store import Store, schema

from .model import CASE_REF, CONSOLE_TOKEN, NOTE_TOKEN, Report, ZendeskState, expected_status

__all__ = [
    "check_author",
    "check_case_vs_ticket",
    "check_details",
    "check_emails",
    "check_followups",
    "check_html",
    "check_message",
    "check_public_comments",
    "check_redacted",
    "check_tickets",
    "check_webhook_events",
    "kept_ccs",
    "repliers_of",
    "shown_in_zendesk",
]


def check_webhook_events(report: Report, store: Store, forged: set[str], accepted: set[str]) -> None:
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


def check_html(report: Report, m: Any) -> None:
    report.checked["html"] += 1 if m.html else 0
    if m.html and (found := _UNSAFE_HTML.search(m.html)):
        report.add("unsanitized_html", 3, f"message {m.id} holds {found.group(0)[:80]!r}")
    if m.origin == "console" and m.html is not None:
        report.add("unsanitized_html", 3, f"console message {m.id} has HTML")


def shown_in_zendesk(zd: ZendeskState, secret: str) -> bool:
    """Whether a public comment in Zendesk's state still holds ``secret`` (in its text or its HTML)."""
    return any(
        c.get("public") and (secret in str(c.get("body") or "") or secret in str(c.get("html_body") or ""))
        for _ticket, c in zd.comments.values()
    )


def check_redacted(report: Report, store: Store, secrets: list[str]) -> None:
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


def check_tickets(report: Report, zd: ZendeskState, case_ticket: dict[int, int], dead_cases: set[int]) -> None:
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


def check_message(
    report: Report, zd: ZendeskState, record: Any, m: Any, case_account: dict[int, str], case_ticket: dict[int, int],
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


def check_case_vs_ticket(
    report: Report, zd: ZendeskState, record: Any, ticket: dict[str, Any], recipients: list[str],
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


def repliers_of(case_id: int, wrote: dict[int, set[str]], continues: dict[int, int | None]) -> set[str]:
    """The console users who wrote on the case or on a case it continues (its ``refers_to`` chain)."""
    found: set[str] = set()
    seen: set[int] = set()
    current: int | None = case_id
    while current is not None and current not in seen:
        seen.add(current)
        found |= wrote.get(current, set())
        current = continues.get(current)
    return found


def kept_ccs(hand_added: Callable[[str], bool], repliers: set[str]) -> Callable[[str], bool]:
    """CCs a ticket may hold besides the recipient list: staff's, and users of the account who replied."""
    return lambda address: hand_added(address) or address in repliers


def check_author(report: Report, zd: ZendeskState, record: Any, m: Any, user_emails: dict[str, str]) -> None:
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


def check_details(report: Report, record: Any, ticket: dict[str, Any], labels: dict[int, str] | None) -> None:
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


def check_public_comments(
    report: Report, zd: ZendeskState, case_ticket: dict[int, int], case_account: dict[int, str], conflicted: set[int],
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


def check_followups(
    report: Report, zd: ZendeskState, case_ticket: dict[int, int], case_account: dict[int, str],
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


def check_emails(
    report: Report, zd: ZendeskState, emails: Iterable[dict[str, Any]], case_ticket: dict[int, int],
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
