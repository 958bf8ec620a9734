"""The SQL store: one implementation for SQLite and PostgreSQL over SQLAlchemy Core.

The few places where the backends differ are explicit: how a write transaction starts (SQLite's
``BEGIN IMMEDIATE``, see :mod:`sync.store.engine`), how claims lock rows (PostgreSQL's
``FOR UPDATE SKIP LOCKED``), how case numbers are drawn, and who may upgrade the schema (SQLite upgrades
itself; PostgreSQL, shared by several machines, waits for ``casesync migrate``), and how an exclusive role
such as the poller's is held (SQLite: a named lease; PostgreSQL: a session-level advisory lock, see
:mod:`sync.store.locks`).  On both, the leases of a live process's claims are renewed by a heartbeat
(:mod:`sync.store.heartbeat`), so they expire when — and only when — their worker dies.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine

from sync.clock import utc_now
from sync.errors import ConfigurationError
from sync.store import schema as s
from sync.store.base import Clock, Store, StoreTx
from sync.store.engine import WRITE_OPTION, make_engine
from sync.store.feed_signal import FeedSignal
from sync.store.heartbeat import LeaseHeartbeat
from sync.store.locks import PgAdvisoryLocks
from sync.store.migrations import read_status, upgrade
from sync.store.sql_browse import BrowseMixin
from sync.store.sql_console_writes import ConsoleWritesMixin
from sync.store.sql_delivery import DeliveryMixin
from sync.store.sql_entities import EntitiesMixin
from sync.store.sql_erasure import ErasureMixin
from sync.store.sql_idempotency import IdempotencyMixin
from sync.store.sql_people import PeopleMixin
from sync.store.sql_queues import QueuesMixin
from sync.store.sql_redaction import RedactionMixin
from sync.store.sql_state import StateMixin
from sync.store.types import InboxEntry, OutboxEntry, SchemaStatus

__all__ = ["SqlStore", "SqlTx"]

E = TypeVar("E", OutboxEntry, InboxEntry)

#: The tables an erasure rewrites (vacuumed afterwards on PostgreSQL).
_ERASURE_TABLES = ("messages", "attachments", "cases", "users", "recipients", "feed", "conflicts", "inbox",
                   "outbox", "kv", "ticket_state", "idempotency_keys")


def _libpq_url(engine: Engine) -> str:
    """The engine's URL as psycopg itself takes it (for the feed listener's own connection)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class SqlTx(
    ConsoleWritesMixin,
    DeliveryMixin,
    ErasureMixin, BrowseMixin, IdempotencyMixin, PeopleMixin, EntitiesMixin, QueuesMixin, StateMixin, RedactionMixin
):
    """A transaction on the SQL store (see :class:`sync.store.base.StoreTx`)."""


class SqlStore(Store):
    """A casesync database behind a SQLAlchemy engine (SQLite file or PostgreSQL)."""

    def __init__(self, database_url: str, *, clock: Clock | None = None) -> None:
        self.clock = clock or utc_now
        self.engine: Engine = make_engine(database_url)
        self.dialect = self.engine.dialect.name
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._heartbeat = LeaseHeartbeat(lambda: self._raw_transaction(write=True), self._now)
        self._advisory = PgAdvisoryLocks(self.engine) if self.dialect == "postgresql" else None
        self.feed_signal = (
            FeedSignal(poll_s=1.0, listen_url=_libpq_url(self.engine))
            if self.dialect == "postgresql"
            else FeedSignal(poll_s=0.05)
        )

    # -- schema ------------------------------------------------------------------------------------

    def schema_status(self) -> SchemaStatus:
        with self.engine.connect() as conn:
            return read_status(conn)

    def migrate(self) -> list[int]:
        with self._raw_transaction(write=True) as conn:
            applied = upgrade(conn, self._now())
        self._schema_ready = True
        return applied

    def _ensure_schema(self) -> None:
        """On first use: create an empty database's schema; upgrade SQLite; refuse an outdated PostgreSQL."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            status = self.schema_status()
            if status.state == "newer" or (status.state == "outdated" and self.dialect == "postgresql"):
                raise ConfigurationError(status.message)
            if status.state != "current":
                self.migrate()
            self._schema_ready = True

    # -- transactions ------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return aware datetimes")
        return now.astimezone(UTC)

    @contextmanager
    def _raw_transaction(self, *, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if write:
                conn = conn.execution_options(**{WRITE_OPTION: True})
            elif self.dialect == "postgresql":
                # One snapshot for the whole read, as a SQLite read transaction gives.
                conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn

    @contextmanager
    def transaction(self) -> Iterator[StoreTx]:
        yield from self._tx(write=True)

    @contextmanager
    def read(self) -> Iterator[StoreTx]:
        yield from self._tx(write=False)

    def _tx(self, *, write: bool) -> Iterator[SqlTx]:
        self._ensure_schema()
        tx: SqlTx | None = None
        try:
            with self._raw_transaction(write=write) as conn:
                tx = SqlTx(conn, self._now(), writable=write)
                yield tx
            if tx.feed_appended:
                self.feed_signal.notify()  # committed: this process's waiters may read it now
        except BaseException:
            if tx is not None and tx.allocated_case_numbers and self.dialect != "postgresql":
                self._burn_case_numbers(max(tx.allocated_case_numbers))
            raise

    def _burn_case_numbers(self, up_to: int) -> None:
        """Keep SQLite's counter past numbers a failed transaction drew, so none is handed out twice.

        PostgreSQL's sequence needs no help: nextval is never rolled back.
        """
        c = s.counters.c
        try:
            with self._raw_transaction(write=True) as conn:
                conn.execute(s.counters.update().where(c.name == "case_number", c.value < up_to).values(value=up_to))
        except Exception:
            pass

    # -- claims ------------------------------------------------------------------------------------

    def claim_outbox(
        self, worker_id: str, now: datetime | None = None, *, limit: int = 100, lease_s: float = 30.0
    ) -> list[OutboxEntry]:
        return self._claim(SqlTx.claim_outbox_rows, worker_id, now, limit, lease_s)

    def claim_inbox(
        self, worker_id: str, now: datetime | None = None, *, limit: int = 100, lease_s: float = 30.0
    ) -> list[InboxEntry]:
        return self._claim(SqlTx.claim_inbox_rows, worker_id, now, limit, lease_s)

    def _claim(
        self,
        claim_rows: Callable[[SqlTx, str, datetime, int, float], list[E]],
        worker_id: str,
        now: datetime | None,
        limit: int,
        lease_s: float,
    ) -> list[E]:
        """Claim in one write transaction, then let the heartbeat renew the worker's leases while it lives."""
        with self.transaction() as tx:
            assert isinstance(tx, SqlTx)
            claimed = claim_rows(tx, worker_id, now or tx.now, limit, lease_s)
        if claimed:
            self._heartbeat.hold(worker_id, lease_s)
        return claimed

    def renew_held_leases(self) -> int:
        """Renew now what the heartbeat renews every third of a lease (for tests and shutdown paths)."""
        return self._heartbeat.renew()

    # -- exclusive roles ---------------------------------------------------------------------------

    def try_lock(self, name: str, owner: str, ttl_s: float) -> bool:
        if self._advisory is None:
            return super().try_lock(name, owner, ttl_s)
        return self._advisory.try_acquire(name, owner)

    def unlock(self, name: str, owner: str) -> None:
        if self._advisory is None:
            super().unlock(name, owner)
        else:
            self._advisory.release(name, owner)

    def compact(self) -> list[str]:
        """After an erasure: SQLite moves the WAL into the file and truncates it; PostgreSQL vacuums."""
        if self.dialect == "postgresql":
            with self.engine.connect() as conn:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                for table in _ERASURE_TABLES:
                    conn.exec_driver_sql(f"VACUUM {table}")
            return ["vacuum"]
        # The DB-API connection itself: it runs in autocommit mode (see sync.store.engine), as a checkpoint
        # must run outside any transaction.
        # VACUUM rebuilds the file without free space (older databases may hold text freed before
        # secure_delete was on); the checkpoint then moves the WAL into the file and truncates it.
        done: list[str] = []
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            try:
                cur.execute("VACUUM")
                done.append("vacuum")
            except sqlite3.OperationalError:  # another connection is in a transaction
                done.append("vacuum_busy")
            busy = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            done.append("wal_checkpoint" if busy is not None and busy[0] == 0 else "wal_checkpoint_busy")
        finally:
            raw.close()
        return done

    def close(self) -> None:
        self.feed_signal.close()
        self._heartbeat.stop()
        if self._advisory is not None:
            self._advisory.close()
        self.engine.dispose()
