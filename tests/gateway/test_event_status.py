"""The ticket-event export tells who set a ticket's status: the update's ``updater_id`` and channel."""

from __future__ import annotations

import responses

from sync.gateway import ZendeskGateway
from tests.gateway.gateway_fakes import BASE


def _status(event_id: int, value: str, previous: str | None, via: object) -> dict[str, object]:
    child: dict[str, object] = {
        "id": event_id,
        "type": "Change",
        "event_type": "Change",
        "field_name": "status",
        "value": value,
        "status": value,
        "via": via,
    }
    if previous is not None:
        child["previous_value"] = previous
    return child


AUTOMATION = {
    "channel": "rule",
    "source": {
        "from": {"id": 80001, "title": "Close ticket 4 days after status is set to solved"},
        "to": {},
        "rel": "automation",
    },
}


def test_export_ticket_events_reports_status_changes_with_their_updater(
    gw: ZendeskGateway, rsps: responses.RequestsMock
) -> None:
    rsps.get(
        BASE + "incremental/ticket_events.json",
        json={
            "ticket_events": [
                {
                    "id": 1,
                    "ticket_id": 42,
                    "timestamp": 150,
                    "updater_id": 8,
                    "via": "api",
                    "event_type": "Audit",
                    "child_events": [
                        _status(2, "solved", "open", {"channel": "api"}),
                        {"id": 3, "event_type": "Change", "field_name": "assignee_id", "value": 8},
                    ],
                },
                {
                    "id": 4,
                    "ticket_id": 42,
                    "timestamp": 160,
                    "updater_id": 8,
                    "via": "web",
                    "event_type": "Audit",
                    "child_events": [_status(5, "closed", "solved", {"channel": "web"})],
                },
                {
                    "id": 6,
                    "ticket_id": 43,
                    "timestamp": 170,
                    "updater_id": -1,
                    "via": "rule",
                    "event_type": "Audit",
                    "child_events": [_status(7, "closed", "solved", AUTOMATION)],
                },
                # The shape without ``field_name``: the changed field is the key, ``via`` a plain string.
                {
                    "id": 8,
                    "ticket_id": 44,
                    "created_at": "2026-01-01T10:00:00Z",
                    "updater_id": 9,
                    "event_type": "Audit",
                    "child_events": [
                        {
                            "id": 9,
                            "event_type": "Change",
                            "status": "pending",
                            "previous_value": "open",
                            "via": "Web form",
                        }
                    ],
                },
            ],
            "end_time": 171,
            "end_of_stream": True,
            "count": 4,
        },
    )
    page = gw.export_ticket_events(100)
    assert [(e.ticket_id, e.status, e.at, e.updater_id, e.via_channel) for e in page.status_events] == [
        (42, "solved", 150, 8, "api"),
        (42, "closed", 160, 8, "web"),
        (43, "closed", 170, -1, "rule"),
        (44, "pending", 1767261600, 9, "Web form"),
    ]
    assert page.comment_events == [] and page.privacy_changes == {}
