"""``sync.reconcile.Reconciler``: where ``serve`` finds the reconciler (it lives in :mod:`sync.consistency`)."""

from __future__ import annotations

from sync.consistency.drift import DriftReport
from sync.consistency.reconcile import RECONCILE_KEY, Reconciler

__all__ = ["RECONCILE_KEY", "DriftReport", "Reconciler"]
