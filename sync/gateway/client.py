"""The Zendesk gateway: the only code of casesync that talks to Zendesk (through zenpy and requests).

It takes drafts from :mod:`mappings.zendesk` and returns snapshots, never zenpy objects.  Every call runs
under :class:`~sync.retry.RetryPolicy` with zenpy and requests errors translated by
:mod:`sync.gateway.errors`; every attempt builds its zenpy objects afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from zenpy.lib.api_objects import Identity, Organization, OrganizationMembership, User
from zenpy.lib.api_objects import TicketField as ZenpyTicketField

from mappings.zendesk import ZCustomStatus, ZOrganization, ZUser
from sync.errors import MappingError, RecordNotFound, ZendeskRejected
from sync.gateway._core import batches
from sync.gateway.convert import (
    comment_events_from,
    organization_from,
    privacy_changes_from,
    status_events_from,
    ticket_from,
    user_from,
)
from sync.gateway.models import EventPage, TicketField, TicketPage, Webhook
from sync.gateway.session import parse_http_date
from sync.gateway.suspended import SuspendedMixin
from sync.gateway.tickets import TicketsMixin

__all__ = ["ZendeskGateway"]

_ALREADY = ("already", "duplicatevalue", "taken")

T = TypeVar("T")


class ZendeskGateway(TicketsMixin, SuspendedMixin):
    """Typed access to the part of Zendesk casesync uses.  Thread-safe: one zenpy client per thread.

    ``ZendeskGateway(settings)`` or ``ZendeskGateway(url=…, email=…, token=…)`` /
    ``ZendeskGateway(url=…, oauth_token=…)``; inject ``session`` (a
    :class:`~sync.gateway.session.GatewaySession`) and ``policy`` in tests.
    """

    # -- users and organizations ---------------------------------------------------------------------

    def me(self) -> ZUser:
        """The authenticated user (the agent paired with the token)."""
        return self._call(lambda: user_from(self._zenpy().users.me().to_dict()))

    def upsert_organization(self, external_id: str, name: str) -> ZOrganization:
        """Create or update the organization with this ``external_id`` (create_or_update: replay-safe)."""
        return self._call(
            lambda: organization_from(
                self._zenpy().organizations.create_or_update(Organization(external_id=external_id, name=name)).to_dict()
            ),
            method="POST",
            replay_safe=True,
        )

    def rename_organization(self, organization_id: int, name: str) -> ZOrganization:
        """Rename an organization."""
        return self._call(
            lambda: organization_from(
                self._zenpy().organizations.update(Organization(id=organization_id, name=name)).to_dict()
            ),
            method="PUT",
            replay_safe=True,
        )

    def get_users(self, ids: Sequence[int]) -> list[ZUser]:
        """The users among ``ids`` that exist, fetched 100 at a time (``show_many``)."""
        return self._show_many_json("users", ids, user_from)

    def get_organizations(self, ids: Sequence[int]) -> list[ZOrganization]:
        """The organizations among ``ids`` that exist, fetched 100 at a time (``show_many``)."""
        return self._show_many_json("organizations", ids, organization_from)

    def _show_many_json(self, resource: str, ids: Sequence[int], convert: Callable[[Mapping[str, Any]], T]) -> list[T]:
        """The ``resource`` records among ``ids``, converted, through ``{resource}/show_many.json``."""
        out: list[T] = []
        for chunk in batches(ids):
            body = self._get_json(f"{resource}/show_many.json", params={"ids": ",".join(str(i) for i in chunk)})
            out.extend(convert(r) for r in body.get(resource) or () if isinstance(r, Mapping))
        return out

    def find_user_by_email(self, email: str) -> ZUser | None:
        """The user whose primary email is ``email`` (case-insensitive), or the only user the search finds."""

        def search() -> ZUser | None:
            found = [user_from(u.to_dict()) for u in self._zenpy().users.search(query=f"email:{email}")]
            exact = [u for u in found if (u.email or "").lower() == email.lower()]
            if exact:
                return exact[0]
            return found[0] if len(found) == 1 else None

        return self._call(search)

    def upsert_end_user(
        self,
        email: str,
        name: str,
        organization_id: int | None,
        verified: bool = True,
        *,
        guard_staff: bool = True,
    ) -> ZUser:
        """Make sure an end user with ``email`` exists and belongs to ``organization_id``.

        With ``guard_staff`` (the default) the email is looked up first and a user whose role is not
        ``end-user`` is returned **untouched**: casesync never renames an agent or adds one to a customer's
        organization; the caller sees ``role`` and refuses it.  A new user is created verified (no
        verification email); an existing end user is renamed if needed and added to the organization as a
        further membership (setting ``organization_id`` would change its default organization instead).
        """
        existing = self.find_user_by_email(email) if guard_staff else None
        if existing is not None and existing.role != "end-user":
            return existing
        fields: dict[str, Any] = {"email": email, "name": name, "verified": verified}
        if verified:
            fields["skip_verify_email"] = True
        if existing is None and organization_id is not None:
            fields["organization_id"] = organization_id
        if existing is not None and existing.name == name and (existing.verified or not verified):
            user = existing  # nothing to change: no write
        else:
            user = self._call(
                lambda: user_from(self._zenpy().users.create_or_update(User(**fields)).to_dict()),
                method="POST",
                replay_safe=True,
            )
        if existing is not None and organization_id is not None and user.organization_id != organization_id:
            self.add_membership(user.id, organization_id)
        return user

    def add_membership(self, user_id: int, organization_id: int) -> bool:
        """Add the user to the organization; ``False`` when it already was a member (not an error)."""
        try:
            self._call(
                lambda: self._zenpy().organization_memberships.create(
                    OrganizationMembership(user_id=user_id, organization_id=organization_id)
                ),
                method="POST",
                replay_safe=True,
            )
        except ZendeskRejected as exc:
            if exc.status == 422 and any(word in exc.body.lower() for word in _ALREADY):
                return False
            raise
        return True

    def change_user_email(self, user_id: int, old_email: str, new_email: str) -> None:
        """Replace a user's email through identities: add the new one, make it primary, delete the old.

        Each attempt starts from the current identities, so a retry after any failure is safe.
        """

        def change() -> None:
            identities = [i.to_dict() for i in self._zenpy().users.identities(id=user_id)]
            emails = {str(i.get("value", "")).lower(): i for i in identities if i.get("type") == "email"}
            new = emails.get(new_email.lower())
            if new is None:
                created = self._zenpy().users.identities.create(
                    user_id, Identity(type="email", value=new_email, verified=True)
                )
                new = created.to_dict()
            if not new.get("primary"):
                self._raw("PUT", f"users/{user_id}/identities/{new['id']}/make_primary")
            old = emails.get(old_email.lower())
            if old is not None and old_email.lower() != new_email.lower():
                self._raw("DELETE", f"users/{user_id}/identities/{old['id']}.json")

        self._call(change, method="PUT", replay_safe=True)

    def delete_user(self, user_id: int) -> None:
        """``DELETE /api/v2/users/{id}``: Zendesk's (soft) deletion; ``RecordNotFound`` once it is deleted.

        Sending it twice is harmless: the second answer is 404.
        """
        self._call(lambda: self._raw("DELETE", f"users/{user_id}.json"), method="DELETE", replay_safe=True)

    def permanently_delete_user(self, user_id: int) -> None:
        """``DELETE /api/v2/deleted_users/{id}``: the permanent deletion of a deleted user (GDPR).

        Zendesk requires the user to be deleted first; ``RecordNotFound`` when it is not (or no longer) in
        the deleted users.  Limited to 700 users every 10 minutes (429 with ``Retry-After``).
        """
        self._call(lambda: self._raw("DELETE", f"deleted_users/{user_id}.json"), method="DELETE", replay_safe=True)

    # -- exports -------------------------------------------------------------------------------------

    def export_tickets(
        self, *, start_time: int | None = None, cursor: str | None = None, per_page: int | None = None
    ) -> TicketPage:
        """One page of the cursor-based incremental ticket export (exactly one of start_time / cursor).

        A 429 is raised at once, never waited for: the poller skips the poll (export budget: 10/min).
        """
        if (start_time is None) == (cursor is None):
            raise ValueError("pass exactly one of start_time and cursor")
        params: dict[str, Any] = {"cursor": cursor} if cursor is not None else {"start_time": start_time}
        if per_page is not None:
            params["per_page"] = per_page

        def fetch() -> TicketPage:
            response = self._raw("GET", "incremental/tickets/cursor.json", params=params)
            body = self._json(response)
            return TicketPage(
                tickets=[ticket_from(t) for t in body.get("tickets") or () if isinstance(t, Mapping)],
                after_cursor=body.get("after_cursor"),
                end_of_stream=bool(body.get("end_of_stream", True)),
                server_date=parse_http_date(response.headers.get("Date")),
            )

        return self._call(fetch, retry_rate_limited=False)

    def export_ticket_events(self, start_time: int) -> EventPage:
        """One page of the ticket-event export with ``comment_events``: the comments, with ticket ids.

        The next page starts at ``end_time``.  A 429 is raised at once, as for :meth:`export_tickets`.
        """

        def fetch() -> EventPage:
            response = self._raw(
                "GET",
                "incremental/ticket_events.json",
                params={"start_time": start_time, "include": "comment_events"},
            )
            body = self._json(response)
            end_time = body.get("end_time")
            return EventPage(
                comment_events=comment_events_from(body.get("ticket_events")),
                end_time=int(end_time) if isinstance(end_time, int | float) else None,
                end_of_stream=bool(body.get("end_of_stream", True)),
                count=int(body.get("count") or 0),
                server_date=parse_http_date(response.headers.get("Date")),
                ticket_event_times=_event_times(body.get("ticket_events")),
                privacy_changes=privacy_changes_from(body.get("ticket_events")),
                status_events=status_events_from(body.get("ticket_events")),
            )

        return self._call(fetch, retry_rate_limited=False)

    # -- setup ---------------------------------------------------------------------------------------

    def ticket_fields(self) -> list[TicketField]:
        """The account's ticket fields."""
        return self._call(
            lambda: [TicketField.model_validate(_present(f.to_dict())) for f in self._zenpy().ticket_fields()]
        )

    def custom_statuses(self) -> list[ZCustomStatus]:
        """The account's custom ticket statuses (one unpaginated list); empty when the feature is off (404)."""
        try:
            body = self._get_json("custom_statuses.json")
        except RecordNotFound:
            return []
        return [_build_custom_status(s) for s in body.get("custom_statuses") or () if isinstance(s, Mapping)]

    def create_ticket_field(self, title: str, *, type: str = "text", description: str = "") -> TicketField:
        """Create a ticket field (``setup-zendesk`` creates "Console case" this way)."""
        fields: dict[str, Any] = {"type": type, "title": title}
        if description:
            fields["description"] = description
        return self._call(
            lambda: TicketField.model_validate(
                _present(self._zenpy().ticket_fields.create(ZenpyTicketField(**fields)).to_dict())
            ),
            method="POST",
            replay_safe=False,
        )

    def webhooks(self) -> list[Webhook]:
        """Every webhook of the account (following cursor pages)."""

        def fetch() -> list[Webhook]:
            out: list[Webhook] = []
            url: str | None = "webhooks.json"
            while url:
                body = self._json(self._raw("GET", url))
                out.extend(Webhook.model_validate(_present(w)) for w in body.get("webhooks") or ())
                meta, links = body.get("meta") or {}, body.get("links") or {}
                url = links.get("next") if meta.get("has_more") else None
            return out

        return self._call(fetch)

    def create_webhook(
        self,
        name: str,
        endpoint: str,
        *,
        subscriptions: Sequence[str] = ("conditional_ticket_events",),
        extra: Mapping[str, Any] | None = None,
    ) -> Webhook:
        """Create an active JSON POST webhook (connected to triggers by default)."""
        webhook: dict[str, Any] = {
            "name": name,
            "endpoint": endpoint,
            "http_method": "POST",
            "request_format": "json",
            "status": "active",
            "subscriptions": list(subscriptions),
            **dict(extra or {}),
        }
        body = self._call(
            lambda: self._json(self._raw("POST", "webhooks.json", json={"webhook": webhook})),
            method="POST",
            replay_safe=False,
        )
        return Webhook.model_validate(_present(body.get("webhook") or {}))

    def signing_secret(self, webhook_id: str) -> str:
        """The webhook's signing secret (used to verify deliveries)."""
        body = self._get_json(f"webhooks/{webhook_id}/signing_secret.json")
        secret = (body.get("signing_secret") or {}).get("secret")
        if not isinstance(secret, str):
            raise ZendeskRejected(f"webhook {webhook_id} has no readable signing secret")
        return secret

    def account_settings(self) -> dict[str, Any]:
        """The account's settings object (``GET /api/v2/account/settings``)."""
        settings = self._get_json("account/settings.json").get("settings")
        return dict(settings) if isinstance(settings, dict) else {}


def _event_times(events: Any) -> dict[int, int]:
    """Ticket id → the epoch time of its latest event in an export page (``timestamp``, else ``created_at``)."""
    out: dict[int, int] = {}
    for event in events or ():
        if not isinstance(event, Mapping) or not isinstance(event.get("ticket_id"), int):
            continue
        when = event.get("timestamp")
        if not isinstance(when, int | float) and isinstance(event.get("created_at"), str):
            try:
                when = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp()
            except ValueError:
                when = None
        if isinstance(when, int | float):
            ticket_id = event["ticket_id"]
            out[ticket_id] = max(out.get(ticket_id, 0), int(when))
    return out


def _present(data: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _build_custom_status(data: Mapping[str, Any]) -> ZCustomStatus:
    try:
        return ZCustomStatus.model_validate(_present(data))
    except ValueError as exc:
        raise MappingError(f"unexpected custom status from zendesk: {exc}") from exc
