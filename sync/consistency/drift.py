"""What the reconciler finds: drift items, the report of one run, and its rich rendering.

A :class:`Drift` names one disagreement between the store and Zendesk about one linked case, and how it is
repaired (``repair``): through the outbox (``outbox:<kind>``), through an inbox hint (``inbox``: the inbox
worker re-reads the ticket and applies it), in the store alone (``store``: console-side references that
Zendesk states unambiguously), or not at all (``none``: e.g. a CC conflict an operator must resolve).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from rich.console import Console

__all__ = ["Drift", "DriftKind", "DriftReport", "Skipped", "render_report"]


class DriftKind(StrEnum):
    """The kinds of drift the reconciler detects."""

    STATUS = "status"  # the case's status does not map from the ticket's
    CCS = "ccs"  # console addresses missing from the ticket's CCs (or over the 48-CC limit)
    CC_DISPLAY = "cc_display"  # Case.cc does not show what the ticket's CCs are
    COMMENTS = "comments"  # public comments not imported, or imported comments made private since
    FOLLOW_UP = "follow_up"  # a follow-up ticket without its case, or a case missing its refers_to
    MERGED = "merged"  # a ticket merged away whose case does not name the target
    VANISHED = "vanished"  # the ticket was deleted (or no longer exists) but its case is not Closed
    REDACTED = "redacted"  # staff redacted a comment or attachment that the console still shows


@dataclass(frozen=True)
class Drift:
    """One disagreement about one case."""

    kind: DriftKind
    account_id: str
    case_id: int | None
    ticket_id: int
    detail: str
    repair: str = "none"


@dataclass(frozen=True)
class Skipped:
    """A linked case the run did not judge, and why (it is in flight, not drifted)."""

    account_id: str
    case_id: int
    ticket_id: int
    reason: str


@dataclass
class DriftReport:
    """The outcome of one reconcile run.

    ``repaired`` counts the drift items whose repair was queued (or, for ``store`` repairs, applied).
    ``errors`` holds what could not be checked (e.g. the export budget was exhausted): a run with errors
    still reports the drift it found.
    """

    at: datetime
    checked: int = 0
    drifts: list[Drift] = field(default_factory=list)
    repaired: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def drift(self) -> int:
        return len(self.drifts)

    def by_kind(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.drifts:
            out[item.kind.value] = out.get(item.kind.value, 0) + 1
        return out

    def as_json(self, *, repair: bool) -> dict[str, Any]:
        """The whole report as JSON-compatible values (``casesync reconcile --json``)."""
        return {
            "at": self.at.isoformat(),
            "checked": self.checked,
            "repair": repair,
            "drift": self.drift,
            "by_kind": self.by_kind(),
            "repaired": self.repaired,
            "drifts": [
                {"kind": d.kind.value, "account_id": d.account_id, "case_id": d.case_id, "ticket_id": d.ticket_id,
                 "detail": d.detail, "repair": d.repair}
                for d in self.drifts
            ],
            "skipped": [
                {"account_id": k.account_id, "case_id": k.case_id, "ticket_id": k.ticket_id, "reason": k.reason}
                for k in self.skipped
            ],
            "errors": list(self.errors),
        }

    def summary(self) -> dict[str, Any]:
        """What the run found, in a line's worth of JSON."""
        return {"at": self.at.isoformat(), "drift": self.drift, "repaired": self.repaired}


def render_report(report: DriftReport, console: Console, *, repair: bool, limit: int = 200) -> None:
    """Print the drift table (at most ``limit`` rows), the cases not judged and why, and a summary."""
    from rich.markup import escape

    from sync.tables import print_table

    if report.drifts:
        rows = [
            [
                item.kind.value,
                escape(item.account_id),
                f"#{item.case_id}" if item.case_id is not None else "-",
                f"#{item.ticket_id}",
                escape(item.detail),
                item.repair if repair else f"({item.repair})",
            ]
            for item in report.drifts[:limit]
        ]
        columns = ["kind", "account", "case", "ticket", "detail", "repair"]
        print_table(console, f"Drift found ({report.drift})", columns, rows)
        if report.drift > limit:
            console.print(f"... and {report.drift - limit} more")
    for error in report.errors:
        console.print(f"[yellow]not checked:[/yellow] {escape(error)}")
    for item in report.skipped[:limit]:
        console.print(f"not judged: case #{item.case_id} (ticket #{item.ticket_id}): {escape(item.reason)}")
    if len(report.skipped) > limit:
        console.print(f"... and {len(report.skipped) - limit} more not judged")
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(report.by_kind().items())) or "none"
    skipped = f"; {len(report.skipped)} not judged (in flight, see above)" if report.skipped else ""
    console.print(f"Checked {report.checked} linked case(s); drift: {report.drift} ({kinds}){skipped}.")
    if report.drift and repair:
        console.print(f"Repairs queued: {report.repaired} (delivered by the outbox and inbox workers).")
    elif report.drift:
        console.print("Run `casesync reconcile --repair` to queue the repairs.")
