"""Console webhooks: the feed POSTed to a real local HTTP receiver, signed, in order, at least once,
retried with backoff, visible in the status and the metrics, and never holding up the Zendesk sync."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mappings.models import ChangeKind
from sync.console_webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, ConsoleWebhookWorker, sign, verify
from sync.engine import SyncEngine
from sync.errors import ConfigurationError
from sync.metrics import Metrics
from sync.retry import RetryPolicy
from sync.sandbox import Sandbox
from sync.settings import Settings
from sync.status import collect_status
from sync.store import Store, open_store
from tests.console_webhooks.conftest import Receiver
from tests.support.zendesk import Clock

SECRET = "console-secret"


@pytest.fixture
def clock() -> Clock:
    return Clock(frozen=True)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Any:
    st = open_store(f"sqlite:///{tmp_path / 'casesync.db'}", clock=clock)
    with st.transaction() as tx:
        tx.upsert_account("acme", "Acme")
        tx.upsert_user("acme", "bob", "bob@acme.test", "Bob", False)
        tx.create_case(1, "acme", "bob", "Printer")
    yield st
    st.close()


def _append(store: Store, n: int) -> list[int]:
    with store.transaction() as tx:
        return [tx.append_change("acme", 1, ChangeKind.STATUS, f"change {i}") for i in range(n)]


def _worker(store: Store, receiver: Receiver, clock: Clock, **kw: Any) -> ConsoleWebhookWorker:
    return ConsoleWebhookWorker(
        store,
        url=receiver.url,
        secret=SECRET,
        clock=clock,
        policy=RetryPolicy(random_source=lambda: 0.5),
        **kw,
    )


def test_the_feed_is_posted_in_seq_order_signed_and_each_entry_once_when_acknowledged(
    store: Store, receiver: Receiver, clock: Clock
) -> None:
    seqs = _append(store, 5)
    worker = _worker(store, receiver, clock, batch_size=2)
    assert worker.run_once().errors == []
    assert [d.seqs for d in receiver.deliveries] == [seqs[0:2], seqs[2:4], seqs[4:5]]
    for d in receiver.deliveries:
        assert d.headers["Content-Type"] == "application/json"
        timestamp = d.headers[TIMESTAMP_HEADER]
        assert datetime.fromisoformat(timestamp).tzinfo is not None
        assert verify(SECRET, timestamp, d.body, d.headers[SIGNATURE_HEADER])
        assert not verify("another secret", timestamp, d.body, d.headers[SIGNATURE_HEADER])
        change = json.loads(d.body)["changes"][0]
        assert set(change) == {"seq", "account_id", "case_id", "kind", "at", "detail"}
    worker.run_once()
    assert len(receiver.deliveries) == 3  # nothing new: nothing sent
    later = _append(store, 1)
    worker.run_once()
    assert receiver.deliveries[-1].seqs == later


def test_a_loop_keeps_the_delivering_role_between_passes_until_it_gives_it_up(
    store: Store, receiver: Receiver, clock: Clock
) -> None:
    loop = _worker(store, receiver, clock, worker_id="loop")
    other = _worker(store, receiver, clock, worker_id="other process")
    first = _append(store, 1)
    assert loop.run_once(keep_role=True).errors == []
    second = _append(store, 1)
    other.run_once()
    assert receiver.seqs == first  # the loop still holds the role: one deliverer keeps the order
    loop.run_once(keep_role=True)
    assert receiver.seqs == first + second
    loop.release()
    third = _append(store, 1)
    other.run_once()
    assert receiver.seqs == first + second + third


def test_a_kept_role_is_renewed_by_the_passes_that_deliver(store: Store, receiver: Receiver, clock: Clock) -> None:
    loop = _worker(store, receiver, clock, worker_id="loop", lock_ttl_s=60)
    other = _worker(store, receiver, clock, worker_id="other process", lock_ttl_s=60)
    expected = _append(store, 1)
    loop.run_once(keep_role=True)
    for _ in range(3):  # 120 s in all, twice the lease: each pass past half of it renews it
        clock.advance(40)
        expected += _append(store, 1)
        loop.run_once(keep_role=True)
    late = _append(store, 1)
    other.run_once()
    assert receiver.seqs == expected
    loop.run_once(keep_role=True)
    assert receiver.seqs == expected + late


def test_a_role_left_idle_past_its_lease_is_taken_over_and_never_shared(
    store: Store, receiver: Receiver, clock: Clock
) -> None:
    loop = _worker(store, receiver, clock, worker_id="loop", lock_ttl_s=60, save_every_s=1)
    other = _worker(store, receiver, clock, worker_id="other process", lock_ttl_s=60)
    first = _append(store, 1)
    loop.run_once(keep_role=True)
    clock.advance(1)
    loop.run_once(keep_role=True)  # an idle pass: writes the progress
    clock.advance(60)  # nothing to deliver meanwhile: the lease ran out
    second = _append(store, 1)
    other.run_once(keep_role=True)
    third = _append(store, 1)
    loop.run_once(keep_role=True)  # the role is the other's now: the loop sends nothing
    assert receiver.seqs == first + second
    other.run_once(keep_role=True)
    assert receiver.seqs == first + second + third


def _cursor(store: Store, clock: Clock) -> int | None:
    seq = collect_status(store, now=clock())["console_webhook_delivered_seq"]
    return int(seq) if seq is not None else None


def test_a_loop_writes_its_progress_every_save_interval_and_when_it_gives_up_the_role(
    store: Store, receiver: Receiver, clock: Clock
) -> None:
    loop = _worker(store, receiver, clock, worker_id="loop", save_every_s=1)
    [first] = _append(store, 1)
    loop.run_once(keep_role=True)
    assert receiver.seqs == [first]
    assert _cursor(store, clock) is None  # delivered; written with the next ones, or within a second
    clock.advance(1)
    loop.run_once(keep_role=True)
    assert _cursor(store, clock) == first
    [second] = _append(store, 1)
    loop.run_once(keep_role=True)
    assert _cursor(store, clock) == first
    loop.release()
    assert _cursor(store, clock) == second


def test_progress_a_dead_loop_had_not_written_is_delivered_again(
    store: Store, receiver: Receiver, clock: Clock
) -> None:
    dead = _worker(store, receiver, clock, worker_id="dead loop", lock_ttl_s=60)
    other = _worker(store, receiver, clock, worker_id="other process", lock_ttl_s=60)
    first = _append(store, 1)
    dead.run_once(keep_role=True)
    clock.advance(61)
    second = _append(store, 1)
    other.run_once()
    assert receiver.seqs == first + first + second  # at least once, in seq order: the console dedupes by seq


def test_signature_is_base64_hmac_sha256_of_timestamp_and_body() -> None:
    # Computed independently: printf '2025-01-01T00:00:00+00:00{}' | openssl dgst -sha256 -hmac s -binary | base64
    assert sign("s", "2025-01-01T00:00:00+00:00", b"{}") == "06Q97F3WU+xKbE8WUy7bxuXliQoQeIqHW/2iGNKHhCU="


def test_a_refused_delivery_is_retried_after_the_backoff_and_shows_in_status_and_metrics(
    store: Store, receiver: Receiver, clock: Clock
) -> None:
    seqs = _append(store, 3)
    metrics = Metrics()
    policy = RetryPolicy(random_source=lambda: 0.5)
    worker = _worker(store, receiver, clock, metrics=metrics)
    receiver.answers = [500, 503]
    report = worker.run_once()
    assert report.errors == ["console_webhooks: HTTP 500 from the console webhook endpoint"]
    status = collect_status(store, now=clock())
    assert status["console_webhook_failures"] == 1 and status["console_webhook_backlog"] == 3
    assert status["console_webhook_last_error"] == "HTTP 500 from the console webhook endpoint"
    due = datetime.fromisoformat(status["console_webhook_next_attempt_at"])
    assert due - clock() <= timedelta(seconds=policy.backoff(1, cap_s=300.0))
    assert metrics.registry.get_sample_value("casesync_console_webhook_deliveries_total", {"outcome": "failed"}) == 1

    worker.run_once()
    assert len(receiver.deliveries) == 1  # still backing off: nothing sent
    clock.advance(policy.backoff(1, cap_s=300.0) + 0.1)
    worker.run_once()  # the second attempt is refused too: a longer wait
    assert collect_status(store, now=clock())["console_webhook_failures"] == 2
    clock.advance(policy.backoff(1, cap_s=300.0) + 0.1)
    worker.run_once()
    assert len(receiver.deliveries) == 2  # the second backoff is longer than the first
    clock.advance(policy.backoff(2, cap_s=300.0))
    assert worker.run_once().errors == []
    assert [d.seqs for d in receiver.deliveries] == [seqs, seqs, seqs]  # at least once: resent whole
    status = collect_status(store, now=clock())
    assert (status["console_webhook_failures"], status["console_webhook_backlog"]) == (0, 0)
    assert status["console_webhook_delivered_seq"] == seqs[-1] and status["console_webhook_last_success_at"]
    assert metrics.registry.get_sample_value("casesync_console_webhook_changes_total") == 3


def test_an_unreachable_console_is_a_recorded_failure_not_an_exception(
    store: Store, receiver: Receiver, clock: Clock
) -> None:
    _append(store, 1)
    worker = ConsoleWebhookWorker(store, url="http://127.0.0.1:9/hook", secret=SECRET, clock=clock, timeout_s=2)
    [error] = worker.run_once().errors
    assert error.startswith("console_webhooks: ConnectionError")
    assert collect_status(store, now=clock())["console_webhook_failures"] == 1


def test_the_delivery_cursor_survives_a_restart(store: Store, receiver: Receiver, clock: Clock, tmp_path: Path) -> None:
    first = _append(store, 2)
    _worker(store, receiver, clock).run_once()
    second = _append(store, 1)
    reopened = open_store(f"sqlite:///{tmp_path / 'casesync.db'}", clock=clock)
    try:
        _worker(reopened, receiver, clock).run_once()
    finally:
        reopened.close()
    assert receiver.seqs == first + second


def test_status_says_nothing_about_console_webhooks_that_never_ran(store: Store, clock: Clock) -> None:
    status = collect_status(store, now=clock())
    assert status["console_webhook_backlog"] is None and status["console_webhook_failures"] is None


# -- wiring into the engine -----------------------------------------------------------------------


def _settings(zd: Sandbox, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(
        zendesk_url=zd.url,
        zendesk_email=zd.agent_email,
        zendesk_token=zd.agent_token,
        database_url=f"sqlite:///{tmp_path / 'casesync.db'}",
        default_assignee_email=zd.agent_email,
        **kw,
    )


@pytest.mark.parametrize("only", [{"console_webhook_url": "http://127.0.0.1:9/x"}, {"console_webhook_secret": "s"}])
def test_one_variable_without_the_other_is_a_configuration_error(
    zd: Sandbox, tmp_path: Path, only: dict[str, str]
) -> None:
    with pytest.raises(ConfigurationError, match="CONSOLE_WEBHOOK"):
        SyncEngine(_settings(zd, tmp_path, **only))


def test_a_failing_console_never_holds_up_the_zendesk_sync(zd: Sandbox, tmp_path: Path, receiver: Receiver) -> None:
    receiver.always = 500
    engine = SyncEngine(
        _settings(zd, tmp_path, console_webhook_url=receiver.url, console_webhook_secret=SECRET)
    )
    try:
        from sync.api import SupportCases

        support = SupportCases(store=engine.store)
        support.upsert_account("acme", "Acme")
        support.upsert_user("acme", "bob", "bob@acme.test", "Bob")
        case = support.submit("acme", "bob", "Printer", "It jams")
        with engine.store.transaction() as tx:
            tx.append_change("acme", case.id, ChangeKind.STATUS, "something for the console")
        report = engine.run_once()
        assert support.get("acme", case.id).ticket_id is not None  # delivered to Zendesk all the same
        assert "console_webhooks: HTTP 500 from the console webhook endpoint" in report.errors
        assert receiver.seqs  # it was tried
    finally:
        engine.close()


@pytest.mark.timeout(60)
def test_serve_loop_pushes_a_new_feed_entry_promptly(zd: Sandbox, tmp_path: Path, receiver: Receiver) -> None:
    engine = SyncEngine(
        _settings(zd, tmp_path, console_webhook_url=receiver.url, console_webhook_secret=SECRET, poll_interval_s=3600)
    )
    stop = threading.Event()
    loop = threading.Thread(target=engine.run_forever, args=(stop,))
    try:
        with engine.store.transaction() as tx:
            tx.upsert_account("acme", "Acme")
            tx.upsert_user("acme", "bob", "bob@acme.test", "Bob", False)
            tx.create_case(7, "acme", "bob", "Printer")
        loop.start()
        with engine.store.transaction() as tx:
            seq = tx.append_change("acme", 7, ChangeKind.STAFF_MESSAGE, "pushed")
        assert receiver.received.wait(50)
        assert receiver.seqs == [seq]
    finally:
        stop.set()
        loop.join(30)
        engine.close()
