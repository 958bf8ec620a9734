"""The gateway's suspended tickets: Zendesk's held-back emails (``/api/v2/suspended_tickets``)."""

from __future__ import annotations

from typing import Any

from mappings.suspended import ZSuspendedTicket
from sync.errors import MappingError
from sync.gateway._core import GatewayCore

__all__ = ["SuspendedMixin"]

_MAX_PAGES = 1000


def _suspended_from(data: Any) -> ZSuspendedTicket:
    if not isinstance(data, dict) or not isinstance(data.get("id"), int):
        raise MappingError("unexpected suspended ticket from zendesk")
    author_value = data.get("author")
    author: dict[str, Any] = author_value if isinstance(author_value, dict) else {}
    return ZSuspendedTicket(
        id=data["id"],
        ticket_id=data.get("ticket_id") if isinstance(data.get("ticket_id"), int) else None,
        author_email=str(author.get("email")) if author.get("email") else None,
        cause=str(data.get("cause") or ""),
        cause_id=data.get("cause_id") if isinstance(data.get("cause_id"), int) else None,
        created_at=data.get("created_at"),
    )


class SuspendedMixin(GatewayCore):
    def list_suspended_tickets(self) -> list[ZSuspendedTicket]:
        """Every suspended ticket, oldest first (cursor pagination, 100 a page)."""
        out: list[ZSuspendedTicket] = []
        path: str = "suspended_tickets.json"
        params: dict[str, Any] | None = {"page[size]": 100}
        for _ in range(_MAX_PAGES):
            body = self._get_json(path, params=params)
            out.extend(_suspended_from(item) for item in body.get("suspended_tickets") or ())
            meta_value, links_value = body.get("meta"), body.get("links")
            meta: dict[str, Any] = meta_value if isinstance(meta_value, dict) else {}
            links: dict[str, Any] = links_value if isinstance(links_value, dict) else {}
            following = links.get("next") if meta.get("has_more") else None
            if not following:
                break
            path, params = str(following), None
        return out
