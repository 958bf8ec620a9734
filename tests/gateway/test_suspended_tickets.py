"""The gateway reads every page of the suspended tickets, and refuses a shape it does not know."""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from sync.errors import MappingError
from sync.gateway import ZendeskGateway
from tests.gateway.gateway_fakes import BASE


def _item(i: int) -> dict[str, object]:
    return {"id": i, "ticket_id": 40 + i, "author": {"id": 7, "name": "C", "email": f"c{i}@acme.test"},
            "cause": "End user only allowed to update their own tickets", "cause_id": 6,
            "created_at": "2026-01-01T10:00:00Z", "content": "text"}


def test_suspended_tickets_follow_cursor_pages(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    page2 = BASE + "suspended_tickets.json?page%5Bsize%5D=100&page%5Bafter%5D=xyz"
    rsps.get(BASE + "suspended_tickets.json", match=[matchers.query_param_matcher({"page[size]": "100"})],
             json={"suspended_tickets": [_item(1)], "meta": {"has_more": True, "after_cursor": "xyz"},
                   "links": {"next": page2}})
    rsps.get(page2, json={"suspended_tickets": [_item(2)], "meta": {"has_more": False}, "links": {"next": None}})
    items = gw.list_suspended_tickets()
    assert [(s.id, s.ticket_id, s.author_email, s.cause_id) for s in items] == [
        (1, 41, "c1@acme.test", 6), (2, 42, "c2@acme.test", 6)]


def test_an_unknown_shape_is_a_mapping_error(gw: ZendeskGateway, rsps: responses.RequestsMock) -> None:
    rsps.get(BASE + "suspended_tickets.json", json={"suspended_tickets": [{"id": "not a number"}]})
    with pytest.raises(MappingError):
        gw.list_suspended_tickets()
