"""casesync's own test kit, shared by the tests, the benchmarks and the demo.

* ``sync.testing.world`` — :class:`~sync.testing.world.World`: a console synced with an in-process sandbox by
  one :class:`~sync.SyncEngine`, and a support agent working in Zendesk.
* ``sync.testing.invariants`` — the invariant checker: compares the store with Zendesk's state once both are
  quiet (docs/design.md §4).
* ``sync.testing.processes`` — casesync's moving parts in child processes, as on separate machines: the
  sandbox (counting the faults it injects, ``sync.testing.fault_counts``) and sync engines;
  ``sync.testing.proc_main`` is those children's entry point.

The agent who works in the sandbox's Zendesk is :class:`sync.sandbox.staff.Staff`.
"""
