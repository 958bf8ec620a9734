"""Consistency: the reconciler, the backfill and ``setup-zendesk`` (docs/design.md §3 Recipients and References).

The CLI calls :func:`reconcile_command`, :func:`backfill_command` and :func:`setup_zendesk_command`;
``serve`` runs :class:`Reconciler` on its schedule.
"""

from __future__ import annotations

from sync.consistency.backfill import Backfiller, BackfillResult
from sync.consistency.commands import backfill_command, reconcile_command, setup_zendesk_command
from sync.consistency.drift import Drift, DriftKind, DriftReport, render_report
from sync.consistency.reconcile import Reconciler
from sync.consistency.setup import SetupOutcome, ZendeskSetup

__all__ = [
    "BackfillResult",
    "Backfiller",
    "Drift",
    "DriftKind",
    "DriftReport",
    "Reconciler",
    "SetupOutcome",
    "ZendeskSetup",
    "backfill_command",
    "reconcile_command",
    "render_report",
    "setup_zendesk_command",
]
