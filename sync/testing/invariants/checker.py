"""The walk over the store: :func:`check` reads every case once and hands each item to the rules."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select

from sync.store import Store, schema
from sync.store.kv_keys import CONNECTION_PAUSE

from .model import AUTH, CONSOLE_TOKEN, Report, ZendeskState, is_transient_reason
from .rules import (
    check_author,
    check_case_vs_ticket,
    check_details,
    check_emails,
    check_followups,
    check_html,
    check_message,
    check_public_comments,
    check_redacted,
    check_tickets,
    check_webhook_events,
    kept_ccs,
    repliers_of,
    shown_in_zendesk,
)

__all__ = ["blocked_entries", "check", "held_keys"]


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
    zd = ZendeskState.of(state)
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
            if AUTH.search(dead.reason):
                report.add("dead_letter_auth", 7, f"{dead.queue} #{dead.id}: {dead.reason}")
        if CONNECTION_PAUSE.is_set(tx):
            pause = CONNECTION_PAUSE.get(tx)
            report.add("connection_paused", 7, f"the connection is still paused: {pause or 'unreadable pause'}")
    held = blocked_entries(store)
    if counts.outbox_pending - held or counts.inbox_pending:
        report.add("undelivered", 7, f"outbox pending {counts.outbox_pending} ({held} held behind dead letters),"
                                     f" inbox pending {counts.inbox_pending}")
    dead_cases = {int(d.split("case=")[1].split(":")[0]) for d in report.dead_letters
                  if "case=" in d and d.split("case=")[1].split(":")[0].isdigit()}
    # A case whose delivery waits behind a dead letter is not lost: it waits for an operator's replay.
    dead_cases |= {int(k.split(":")[1]) for k in held_keys(store) if k.startswith("case:")}

    check_tickets(report, zd, case_ticket, dead_cases)
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
            check_message(report, zd, record, m, case_account, case_ticket, dead_cases)
            if m.origin == "console":
                check_author(report, zd, record, m, user_emails)
        ticket = zd.tickets.get(record.ticket_id) if record.ticket_id is not None else None
        if ticket is not None and record.id not in conflicted:
            repliers = repliers_of(record.id, wrote, continues)
            check_case_vs_ticket(report, zd, record, ticket, recipients, user_emails,
                                  kept_ccs(hand_added, repliers))
            check_details(report, record, ticket, status_labels)
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
    check_public_comments(report, zd, case_ticket, case_account, conflicted, store_comment_ids, console_comment_ids)
    check_followups(report, zd, case_ticket, case_account, account_users, conflicted)
    check_emails(report, zd, emails, case_ticket, case_account, conflicted, owner_of_address)
    for _record, messages, _recipients, _emails in cases:
        for m in messages:
            check_html(report, m)
    live = [secret for ticket, secret in redacted if str(zd.tickets.get(ticket, {}).get("status")) != "deleted"]
    # A string a public comment in Zendesk still holds (a copy of the comment, posted twice by a staff request
    # retried after its answer was lost) is rightly still in the console's copy of that comment.
    still_shown = {s for s in live if shown_in_zendesk(zd, s)}
    report.checked["redactions_still_in_zendesk"] += len(still_shown)
    check_redacted(report, store, [s for s in live if s not in still_shown])
    check_webhook_events(report, store, set(forged_events), set(accepted_events))
    return report
