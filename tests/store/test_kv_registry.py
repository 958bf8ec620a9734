"""The key-value table has one registry (``sync.store.kv_keys``): every key is declared there with its value's
model, nothing else of ``sync/`` reads or writes a key, and values stored by the previous release read back."""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import sync
from mappings.zendesk import CommentEvent, StatusEvent
from sync.store import Store
from sync.store import kv_keys as k
from sync.store.kv_values import (
    CREDENTIALS_REFUSED,
    BackfillCheckpoint,
    Carried,
    DeliveryState,
    Pause,
    ReconcileSummary,
    TicketFacts,
)

SYNC_DIR = Path(sync.__file__).parent
REGISTRY = SYNC_DIR / "store" / "kv_keys.py"
SOURCES = sorted(p for p in SYNC_DIR.rglob("*.py") if p != REGISTRY)
WHEN = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
_COMMENT = CommentEvent(ticket_id=7, comment_id=70, author_id=5, public=True, body="hello", created_at=WHEN)
_STATUS = StatusEvent(ticket_id=7, status="solved", at=1740830400, updater_id=-1, via_channel="rule")

ENTRIES: list[k.Entry[Any]] = [v for v in vars(k).values() if isinstance(v, k.Entry)]
FAMILIES: list[k.Family[Any, Any]] = [v for v in vars(k).values() if isinstance(v, k.Family)]


def _kv_calls(path: Path) -> list[int]:
    """The lines of ``path`` that call ``kv_get`` / ``kv_set`` (on anything)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"kv_get", "kv_set"}
    ]


def _strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_the_registry_declares_every_family_once() -> None:
    names = [e.key for e in ENTRIES] + [f.prefix for f in FAMILIES]
    assert len(names) == len(set(names)) == 15
    # No other key starts with a family's prefix: a stored key belongs to one family only.
    assert [(f.prefix, n) for f in FAMILIES for n in names if n != f.prefix and n.startswith(f.prefix)] == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SYNC_DIR)))
def test_no_module_but_the_registry_reads_or_writes_a_key(path: Path) -> None:
    assert _kv_calls(path) == [], f"{path.name} calls the kv store directly: use sync.store.kv_keys"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(SYNC_DIR)))
def test_no_module_but_the_registry_spells_a_key(path: Path) -> None:
    keys = {e.key for e in ENTRIES}
    prefixes = tuple(f.prefix for f in FAMILIES)
    spelled = [s for s in _strings(path) if s in keys or (s.startswith(prefixes) and "\n" not in s)]
    assert spelled == [], f"{path.name} spells kv keys {spelled}: use sync.store.kv_keys"


ROUND_TRIPS: list[tuple[k.Entry[Any] | k.Family[Any, Any], Any, Any]] = [
    (k.CONNECTION_PAUSE, None, Pause(cause=CREDENTIALS_REFUSED, since=WHEN, detail="HTTP 401")),
    (k.RECONCILE_LAST, None, ReconcileSummary(at=WHEN, drift=5, repaired=3)),
    (k.BACKFILL_CHECKPOINT, None, BackfillCheckpoint(since=1, cursor="abc", events=9, pending_refs={"4": 70},
                                                     imported=2, unknown_requesters={"x@y.test": 1},
                                                     created_users=("gus",))),
    (k.WEBHOOK_DELIVERY, None, DeliveryState(failures=2, last_error="HTTP 500", delivered_total=7)),
    (k.INSTALLATION_ID, None, "0f" * 16),
    (k.AGENT_ID, "Agent@Example.test", 42),
    (k.TICKET_FACTS, 7, TicketFacts(assignee_id=None, updated_at=WHEN)),
    (k.EXPORT_REQUESTS, None, [1700000000.5, 1700000001.0]),
    (k.FIRST_START_TIME, None, 1700000000),
    (k.CARRIED, 7, Carried(start=1700000000, seen=1700000005, comments=(_COMMENT,), status=_STATUS)),
    (k.COMMENT_GAP, 7, True),
    (k.PRIVATE_COMMENTS, 7, (70, 71)),
    (k.SUSPENDED, None, {"12": {"account_id": "acme", "case_id": 1, "user_id": "bob", "cause": "spam"}}),
    (k.SUSPENDED_CHECKED_AT, None, WHEN),
    (k.FORMER_RECIPIENTS, "acme", ("old@acme.test", "gone@acme.test")),
]


def test_every_family_has_a_round_trip() -> None:
    assert {id(e) for e, _, _ in ROUND_TRIPS} == {id(e) for e in [*ENTRIES, *FAMILIES]}


def _name(entry: Any) -> str:
    return str(entry.key if isinstance(entry, k.Entry) else entry.prefix)


@pytest.mark.parametrize(("entry", "of", "value"), ROUND_TRIPS, ids=[_name(e) for e, _, _ in ROUND_TRIPS])
def test_a_value_reads_back_as_written_and_clears(store: Store, entry: Any, of: Any, value: Any) -> None:
    args = () if isinstance(entry, k.Entry) else (of,)
    with store.transaction() as tx:
        assert entry.get(tx, *args) is None and not entry.is_set(tx, *args)
        entry.put(tx, *args, value)
    with store.read() as tx:
        assert entry.get(tx, *args) == value and entry.is_set(tx, *args)
    with store.transaction() as tx:
        entry.clear(tx, *args)
        assert entry.get(tx, *args) is None


#: (key, JSON as the previous release stored it, the entry or family and its argument, the value read).
PREVIOUS_RELEASE: list[tuple[str, Any, Any, Any, Any]] = [
    ("connection:paused", {"cause": "unreachable", "since": WHEN.isoformat(), "detail": "timeout"},
     k.CONNECTION_PAUSE, None, Pause(cause="unreachable", since=WHEN, detail="timeout")),
    ("reconcile:last", {"at": WHEN.isoformat(), "drift": 2, "repaired": 1},
     k.RECONCILE_LAST, None, ReconcileSummary(at=WHEN, drift=2, repaired=1)),
    ("backfill:cursor", {"since": 100, "cursor": "c2", "events": 150, "pending_refs": {"3": 9}, "imported": 4,
                         "already_linked": 1, "not_console": 2, "unknown_requesters": {}, "created_users": ["a"]},
     k.BACKFILL_CHECKPOINT, None, BackfillCheckpoint(since=100, cursor="c2", events=150, pending_refs={"3": 9},
                                                     imported=4, already_linked=1, not_console=2,
                                                     created_users=("a",))),
    ("console_webhooks:state", {"failures": 1, "next_attempt_at": None, "last_error": "x", "last_failure_at": None,
                                "last_success_at": None, "delivered_total": 3},
     k.WEBHOOK_DELIVERY, None, DeliveryState(failures=1, last_error="x", delivered_total=3)),
    ("installation_id", "ab" * 16, k.INSTALLATION_ID, None, "ab" * 16),
    ("agent_id:agent@example.test", 42, k.AGENT_ID, "AGENT@example.test", 42),
    ("ticket_facts:7", {"assignee_id": 5, "updated_at": WHEN.isoformat()},
     k.TICKET_FACTS, 7, TicketFacts(assignee_id=5, updated_at=WHEN)),
    ("inbound.export_requests", [1700000000.5], k.EXPORT_REQUESTS, None, [1700000000.5]),
    ("inbound.first_start_time", 1700000000, k.FIRST_START_TIME, None, 1700000000),
    ("inbound.carried.7", {"start": 10, "seen": None, "comments": [_COMMENT.model_dump(mode="json")]},
     k.CARRIED, 7, Carried(start=10, comments=(_COMMENT,))),
    ("inbound.comment_gap.7", True, k.COMMENT_GAP, 7, True),
    ("inbound.private.7", [70, 71], k.PRIVATE_COMMENTS, 7, (70, 71)),
    ("inbound.suspended", {"12": {"account_id": "acme", "case_id": 1, "user_id": "bob", "cause": "spam"}},
     k.SUSPENDED, None, {"12": {"account_id": "acme", "case_id": 1, "user_id": "bob", "cause": "spam"}}),
    ("inbound.suspended_checked_at", WHEN.isoformat(), k.SUSPENDED_CHECKED_AT, None, WHEN),
    # New in this release: the form it stores, which later releases must read.
    ("recipients:former:acme", ["old@acme.test"], k.FORMER_RECIPIENTS, "acme", ("old@acme.test",)),
]


def test_every_family_has_a_stored_form_of_the_previous_release() -> None:
    assert {id(e) for _, _, e, _, _ in PREVIOUS_RELEASE} == {id(e) for e in [*ENTRIES, *FAMILIES]}


@pytest.mark.parametrize(
    ("key", "stored", "entry", "of", "value"), PREVIOUS_RELEASE, ids=[r[0] for r in PREVIOUS_RELEASE]
)
def test_a_value_the_previous_release_stored_reads_back(
    store: Store, key: str, stored: Any, entry: Any, of: Any, value: Any
) -> None:
    args = () if isinstance(entry, k.Entry) else (of,)
    with store.transaction() as tx:
        tx.kv_set(key, stored)
    with store.read() as tx:
        assert entry.get(tx, *args) == value
        assert tx.kv_get(key) == stored  # reading changes nothing


@pytest.mark.parametrize("stored", ["not json of the model", 17, ["x"], {"cause": 3}])
def test_an_unreadable_pause_reads_as_none(store: Store, stored: Any) -> None:
    with store.transaction() as tx:
        tx.kv_set(k.CONNECTION_PAUSE.key, stored)
    with store.read() as tx:
        assert k.CONNECTION_PAUSE.get(tx) is None and k.CONNECTION_PAUSE.is_set(tx)


def test_a_redaction_scrubs_the_ticket_families_that_may_hold_text() -> None:
    assert k.ticket_text_keys(7) == ["inbound.carried.7", "inbound.comment_gap.7", "inbound.private.7"]


def test_reading_the_registry_and_the_status_loads_no_zendesk_client() -> None:
    # ``casesync status`` reads the store alone: the value models must not pull the gateway in.
    code = "import sys, sync.store.kv_keys, sync.status; print('zenpy' in sys.modules, 'sync.gateway' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.split() == ["False", "False"]
