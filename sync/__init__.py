"""casesync: keeps a management console's support cases and Zendesk tickets in sync.

The console backend uses :class:`SupportCases`; operators run :class:`SyncEngine` (or the ``casesync``
command).  Names are loaded on first use so that ``import sync.sandbox`` pulls in nothing else.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mappings.models import Attachment, CaseStatus
    from sync.api import SupportCases
    from sync.browse import CasePage
    from sync.engine import SyncEngine
    from sync.settings import Settings

__all__ = ["Attachment", "CasePage", "CaseStatus", "Settings", "SupportCases", "SyncEngine"]

_WHERE = {
    "Attachment": "mappings.models",
    "CasePage": "sync.browse",
    "CaseStatus": "mappings.models",
    "Settings": "sync.settings",
    "SupportCases": "sync.api",
    "SyncEngine": "sync.engine",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'sync' has no attribute {name!r}")
