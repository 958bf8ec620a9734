"""The invariant checker: compares casesync's store with Zendesk's state and lists every docs/design.md §4
violation.  The chaos run, the soak and the tests share it.

``check(store, state)`` takes an opened store and the sandbox's ``GET /__sandbox/state`` (optionally its
``/__sandbox/emails`` log) once both sides are quiet, and returns a :class:`Report`.  It uses the store's
public transaction API plus a read of the account ids, and nothing of casesync's sync code: a bug in the
engine cannot hide itself from it.

Console messages written by the chaos run carry a unique token ``«c<n>»`` and internal notes ``«n<n>»``;
with the tokens, "exactly once" is checked by content (a comment holding two console messages is caught
too); without them it falls back to the comment ids the store recorded.

The checker is three modules: :mod:`.model` (the report and Zendesk's state, indexed), :mod:`.checker`
(:func:`check`, which walks the store) and :mod:`.rules` (one function a rule).
"""

from .checker import blocked_entries, check, held_keys
from .model import Report, Violation, expected_status, is_transient_reason

__all__ = ["Report", "Violation", "blocked_entries", "check", "expected_status", "held_keys", "is_transient_reason"]
