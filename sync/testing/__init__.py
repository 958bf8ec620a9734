"""casesync's own test kit: its moving parts run in child processes, as on separate machines.

``sync.testing.processes`` starts the sandbox and sync engines in their own processes and reads what they
print; ``sync.testing.proc_main`` is those children's entry point.  The scale-out tests and the workers
benchmark share them, so the benchmark runs exactly what the tests check.  The agent who works in the
sandbox's Zendesk is :class:`sync.sandbox.staff.Staff`.
"""
