"""Watching Zendesk's suspended tickets for console users' emails (docs/design.md §8, ``mappings.suspended``).

A suspended email changes nothing on its ticket, so neither the export nor a webhook tells: the list of
suspended tickets is read, at most once per ``interval_s``.  What was surfaced is kept in the kv store
(``sync.store.kv_keys.SUSPENDED``: suspended id → case, user and cause) until Zendesk no longer lists it —
recovered (its comment is then imported as any other) or deleted; ``casesync status`` counts what is still held.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from mappings.models import ChangeKind
from mappings.suspended import notice_detail, notice_for
from sync.clock import utc_now
from sync.errors import CaseSyncError
from sync.gateway import ZendeskGateway
from sync.report import SyncReport
from sync.store import Store
from sync.store.kv_keys import SUSPENDED, SUSPENDED_CHECKED_AT

__all__ = ["SuspendedWatcher", "held_suspended"]


def held_suspended(store: Store) -> dict[str, Any]:
    """The console users' emails Zendesk still holds suspended (see ``sync.store.kv_keys.SUSPENDED``)."""
    with store.read() as tx:
        return SUSPENDED.get(tx) or {}


class SuspendedWatcher:
    """Surfaces suspended emails of console users on their cases; ``run_once`` reads the list when it is due."""

    def __init__(
        self,
        store: Store,
        gateway: ZendeskGateway,
        *,
        clock: Callable[[], datetime] = utc_now,
        interval_s: float = 60.0,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.clock = clock
        self.interval_s = interval_s

    def _due(self) -> bool:
        with self.store.read() as tx:
            last = SUSPENDED_CHECKED_AT.get(tx)
        if last is None:
            return True
        return self.clock() - last >= timedelta(seconds=self.interval_s)

    def run_once(self, *, force: bool = False) -> SyncReport:
        """Read the suspended tickets (when due, or ``force``) and surface the new ones; never raises for Zendesk."""
        if not force and not self._due():
            return SyncReport()
        try:
            items = self.gateway.list_suspended_tickets()
        except CaseSyncError as exc:
            return SyncReport(errors=[f"suspended tickets: {type(exc).__name__}: {exc}"])
        surfaced = 0
        with self.store.transaction() as tx:
            known: dict[str, Any] = SUSPENDED.get(tx) or {}
            for item in items:
                case: tuple[str, int] | None = None
                member: str | None = None
                case_id = tx.case_of_ticket(item.ticket_id) if item.ticket_id is not None else None
                record = tx.get_case(case_id) if case_id is not None else None
                if record is not None:
                    case = (record.account_id, record.id)
                    if item.author_email:
                        same = [u for u in tx.users_by_email(item.author_email) if u.account_id == record.account_id]
                        member = same[0].user_id if same else None
                notice = notice_for(item, case=case, member_user_id=member, already_noticed=str(item.id) in known)
                if notice is None:
                    continue
                known[str(item.id)] = notice.model_dump(exclude={"suspended_id"})
                tx.append_change(notice.account_id, notice.case_id, ChangeKind.SUSPENDED_MESSAGE, notice_detail(notice))
                surfaced += 1
            listed = {str(item.id) for item in items}
            # No longer listed: recovered (its comment arrives as any other) or deleted by staff.
            known = {sid: value for sid, value in known.items() if sid in listed}
            SUSPENDED.put(tx, known)
            SUSPENDED_CHECKED_AT.put(tx, self.clock())
        return SyncReport(inbound_applied=surfaced)
