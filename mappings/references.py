"""Case references: quoted ticket numbers in staff text, and the rules of ``refers_to`` (docs/design.md §3).

Only **explicit** ticket references are recognised, because a wrong rewrite changes the meaning of staff's words:

* a ticket word followed by a number: ``ticket #5678``, ``ticket 5678``, ``Ticket no. 5678``, ``request #5678``,
  and lists after it: ``tickets #5 and #6``, ``tickets #5, #6 & #7``, ``requests 5 and 6``;
* a ticket URL: ``…/agent/tickets/5678``, ``…/api/v2/tickets/5678.json``, ``…/hc/requests/5678`` (also with a
  help-center locale, ``…/hc/en-us/requests/5678``), ending at the id.

A bare ``#8`` with no ticket word before it ("error code #8", "step #6", "PR #12") is never a reference, nor is
anything inside code: backtick spans and fenced blocks in plain text, ``<code>`` and ``<pre>`` in HTML.

The console user knows case numbers, not ticket numbers, so each reference to a ticket that belongs to a case
**of the same account** is rewritten as ``case #<number>`` (``cases #A and #B`` for a list).  Everything else —
unknown tickets, other accounts' tickets, other hosts' URLs — is left exactly as written: the translation only
ever uses the mapping it is given, which the caller restricts to the account, so another account's case number
cannot appear.  The rewritten form has no ticket word, so it is never matched again: the translation is
idempotent.  User text goes to Zendesk unchanged: nothing here is used outbound.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from mappings.models import CaseStatus

__all__ = [
    "ReferenceRefusal",
    "ReferredCase",
    "check_refers_to",
    "find_ticket_references",
    "refusal_message",
    "translate_references",
    "translate_references_html",
]

_HOST = r"https?://(?P<host>[A-Za-z0-9.-]+(?::\d+)?)"
# The id ends the URL: a longer path, a query or a fragment means a different page, left untouched (a sentence's
# full stop is fine).
_END = r"(?![\w/?#]|\.\w)"
_URL = re.compile(
    rf"""
    {_HOST}/
    (?:agent/tickets/(?P<agent>\d+)
      |api/v2/tickets/(?P<api>\d+)(?:\.json)?
      |hc/(?:[A-Za-z]{{2,3}}(?:-[A-Za-z0-9]{{2,8}})*/)?requests/(?P<hc>\d+)
    ){_END}
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Any URL at all: a ticket word inside one (``…/ticket/5``) is part of an address, not of a sentence.
_ANY_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
# A number ends at a word boundary and is not the start of a decimal, a date, a version or a path.
_NUMBER_END = r"(?!\w|[.,:/-]\d)"
_QUALIFIER = r"(?:number|no\.?|nr\.?|n[°º]|n\.º|id|nummer|numéro|número)"
_LEAD = re.compile(
    rf"""
    (?<![\w#/@.-])(?P<word>tickets?|requests?)
    (?:\s*\#\s?|\s+(?:{_QUALIFIER}\s*)?\#?\s?)
    (?P<n>\d{{1,19}}){_NUMBER_END}
    """,
    re.IGNORECASE | re.VERBOSE,
)
_CONTINUE = re.compile(
    rf"""
    \s*(?:,|;|&|/|\band\b|\bor\b|\bet\b|\bund\b|\boder\b|\by\b|\be\b|\bou\b)\s*
    (?P<hash>\#\s?)?(?P<n>\d{{1,19}}){_NUMBER_END}
    """,
    re.IGNORECASE | re.VERBOSE,
)
_FENCE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)


@dataclass(frozen=True)
class _Number:
    start: int  # where the number's token starts (its ``#`` if any)
    end: int
    ticket_id: int


@dataclass(frozen=True)
class _Reference:
    start: int
    end: int
    numbers: tuple[_Number, ...]
    host: str | None = None  # set for a URL
    plural: bool = False


def _protected(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _FENCE.finditer(text)]


def _inside(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def _references(text: str, *, code_aware: bool = True) -> Iterator[_Reference]:
    """The references of ``text`` in order, none overlapping, none inside code."""
    code = _protected(text) if code_aware else []
    found: list[_Reference] = []
    for m in _URL.finditer(text):
        ticket_id = int(m.group("agent") or m.group("api") or m.group("hc"))
        found.append(_Reference(m.start(), m.end(), (_Number(m.start(), m.end(), ticket_id),), host=m.group("host")))
    urls = [(m.start(), m.end()) for m in _ANY_URL.finditer(text)]
    for m in _LEAD.finditer(text):
        if _inside(urls, m.start(), m.end()):
            continue
        numbers = [_Number(m.start("n") - _hash_width(text, m.start("n")), m.end("n"), int(m.group("n")))]
        plural = m.group("word").lower().endswith("s")
        explicit = text[numbers[0].start] == "#"
        pos = m.end()
        while (c := _CONTINUE.match(text, pos)) is not None:
            # "ticket #5 and #6" names two tickets; "ticket 5 and 6 users" names one.
            if c.group("hash") is None and not (plural and not explicit):
                break
            start = c.start("hash") if c.group("hash") is not None else c.start("n")
            numbers.append(_Number(start, c.end("n"), int(c.group("n"))))
            pos = c.end()
        found.append(_Reference(m.start(), pos, tuple(numbers), plural=plural))
    found.sort(key=lambda r: r.start)
    last_end = -1
    for ref in found:
        if ref.start < last_end or _inside(code, ref.start, ref.end):
            continue
        last_end = ref.end
        yield ref


def _hash_width(text: str, digits_start: int) -> int:
    """How many characters of ``#`` (and one space after it) precede the digits at ``digits_start``."""
    if digits_start >= 2 and text[digits_start - 2 : digits_start] == "# ":
        return 2
    if digits_start >= 1 and text[digits_start - 1] == "#":
        return 1
    return 0


def _host_ok(ref: _Reference, zendesk_host: str | None) -> bool:
    return ref.host is None or zendesk_host is None or ref.host.lower() == zendesk_host.lower()


def find_ticket_references(text: str, *, zendesk_host: str | None = None) -> list[int]:
    """The ticket ids referenced in ``text``, in order of first appearance, without duplicates.

    The I/O layer uses it to look up which of them belong to cases of the ticket's account.
    """
    found: dict[int, None] = {}
    for ref in _references(text):
        if _host_ok(ref, zendesk_host):
            for number in ref.numbers:
                found.setdefault(number.ticket_id, None)
    return list(found)


def _render(text: str, ref: _Reference, ticket_cases: Mapping[int, int]) -> str:
    cases = [ticket_cases.get(n.ticket_id) for n in ref.numbers]
    if ref.host is not None:
        return f"case #{cases[0]}" if cases[0] is not None else text[ref.start : ref.end]
    if all(case is not None for case in cases):
        # Every ticket named is a case: the whole phrase reads in case numbers, its connectors kept.
        out = ["cases " if len(cases) > 1 else "case "]
        for i, (number, case) in enumerate(zip(ref.numbers, cases, strict=True)):
            if i:
                out.append(text[ref.numbers[i - 1].end : number.start])
            out.append(f"#{case}")
        out.append(text[ref.numbers[-1].end : ref.end])
        return "".join(out)
    # Some are not: only those that are become case numbers, the rest stays as written.
    out, pos = [], ref.start
    for number, case in zip(ref.numbers, cases, strict=True):
        if case is not None:
            out.append(text[pos : number.start])
            out.append(f"case #{case}")
            pos = number.end
    out.append(text[pos : ref.end])
    return "".join(out)


def _translate(text: str, ticket_cases: Mapping[int, int], zendesk_host: str | None, *, code_aware: bool) -> str:
    if not ticket_cases:
        return text
    out, pos = [], 0
    for ref in _references(text, code_aware=code_aware):
        if not _host_ok(ref, zendesk_host):
            continue
        out.append(text[pos : ref.start])
        out.append(_render(text, ref, ticket_cases))
        pos = ref.end
    out.append(text[pos:])
    return "".join(out)


def translate_references(text: str, ticket_cases: Mapping[int, int], *, zendesk_host: str | None = None) -> str:
    """Rewrite references to tickets in ``ticket_cases`` (ticket id → case number, **restricted to the account**)
    as ``case #<number>``; leave every other character untouched, and code spans and blocks entirely.

    With ``zendesk_host`` (e.g. ``"acme.zendesk.com"``) only URLs on that host are translated.
    """
    return _translate(text, ticket_cases, zendesk_host, code_aware=True)


# A tag of already sanitized HTML (quoted attribute values may hold ``>``); comments are gone by then.
_TAG = re.compile(r"""<(?P<close>/)?(?P<name>[A-Za-z][A-Za-z0-9]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")
_CODE_TAGS = frozenset({"code", "pre"})


def translate_references_html(html: str, ticket_cases: Mapping[int, int], *, zendesk_host: str | None = None) -> str:
    """:func:`translate_references` for **sanitized** HTML: only text nodes outside ``<code>``/``<pre>`` change;
    tags and attributes are copied as they are (the inserted text, ``case #N``, needs no escaping)."""
    if not ticket_cases:
        return html
    out: list[str] = []
    depth, pos = 0, 0
    for m in _TAG.finditer(html):
        chunk = html[pos : m.start()]
        out.append(chunk if depth else _translate(chunk, ticket_cases, zendesk_host, code_aware=False))
        out.append(m.group(0))
        if m.group("name").lower() in _CODE_TAGS:
            depth = max(0, depth - 1) if m.group("close") else depth + 1
        pos = m.end()
    tail = html[pos:]
    out.append(tail if depth else _translate(tail, ticket_cases, zendesk_host, code_aware=False))
    return "".join(out)


class ReferenceRefusal(StrEnum):
    """Why ``refers_to`` is refused.  Another account's case reads as ``not_found`` (never revealed)."""

    NOT_FOUND = "not_found"
    NOT_CLOSED = "not_closed"


class ReferredCase(BaseModel):
    """What the store knows of the case that ``refers_to`` names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: str
    case_id: int
    status: CaseStatus


def check_refers_to(account_id: str, referred: ReferredCase | None) -> ReferenceRefusal | None:
    """``None`` when a new case of ``account_id`` may refer to ``referred``; otherwise why not.

    The referred case must exist in the same account and be Closed (continuing an open case is a reply).
    """
    if referred is None or referred.account_id != account_id:
        return ReferenceRefusal.NOT_FOUND
    if referred.status is not CaseStatus.CLOSED:
        return ReferenceRefusal.NOT_CLOSED
    return None


def refusal_message(reason: ReferenceRefusal, case_id: int) -> str:
    """The ``InvalidInput`` message for a refused ``refers_to`` (identical for unknown and foreign cases)."""
    if reason is ReferenceRefusal.NOT_CLOSED:
        return f"refers_to={case_id}: case {case_id} is not Closed; reply to it instead"
    return f"refers_to={case_id}: case {case_id} not found"
