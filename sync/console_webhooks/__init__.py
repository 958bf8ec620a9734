"""Console webhooks: the change feed pushed to the console over HTTP, signed (docs/design.md §8).

With ``CASESYNC_CONSOLE_WEBHOOK_URL`` and ``CASESYNC_CONSOLE_WEBHOOK_SECRET`` set, the sync engine runs a
:class:`ConsoleWebhookWorker`: it POSTs the feed in ``seq`` order as ``{"changes": [CaseChange, …]}`` and
moves a delivery cursor stored in the database only after the console answered 2xx, so every entry is
delivered at least once (the console dedupes by ``seq``).  A refused or failed delivery is retried with
the project's backoff (:meth:`sync.retry.RetryPolicy.backoff`) and shows in ``casesync status`` and the
metrics; it never holds up the Zendesk sync, which runs on its own.
"""

from __future__ import annotations

from sync.console_webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify
from sync.console_webhooks.state import DELIVERY_CURSOR, DeliveryState, delivery_status
from sync.console_webhooks.worker import ConsoleWebhookWorker

__all__ = [
    "DELIVERY_CURSOR",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "ConsoleWebhookWorker",
    "DeliveryState",
    "delivery_status",
    "sign",
    "verify",
]
