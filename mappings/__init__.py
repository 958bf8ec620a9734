"""Pure mapping core of casesync: value models and decisions, no I/O.

Modules (each imports only pure standard-library modules and pydantic):

* :mod:`mappings.models` — the console's value models (``Case``, ``CaseStatus``, …);
* :mod:`mappings.zendesk` — Zendesk snapshots and drafts;
* :mod:`mappings.errors` — the mapping errors;
* :mod:`mappings.status` — the status table, both ways;
* :mod:`mappings.lifecycle` — the console's rules as a state machine (actors user, staff, system);
* :mod:`mappings.recipients` — email syntax, recipient lists and the CC plan of a ticket;
* :mod:`mappings.references` — quoted ticket numbers → case numbers, and ``refers_to`` rules;
* :mod:`mappings.external_ids` — ``console-case:<n>`` and ``console-account:<id>``;
* :mod:`mappings.inbound` — decisions for applying a ticket to the console;
* :mod:`mappings.outbound` — decisions for outbox entries;
* :mod:`mappings.cursor` — incremental-export budget, ``start_time`` and cursors.
"""
