"""Tickets, comments and attachments.

Uploads, bulk jobs and the rarer reads go through zenpy.  The two reads of every webhook hint (the ticket,
its comments) and the two writes on the delivery path — creating a ticket and
updating one — are sent as JSON on the same session: creating needs an ``Idempotency-Key`` header, which
zenpy cannot set per request, and both answers are wanted as plain data (the audit's ``metadata.custom`` and
comment events), which zenpy would first build into objects that casesync would turn back into dicts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

from zenpy.lib.api_objects import Comment, Ticket

from mappings.zendesk import CommentDraft, TicketDraft, TicketUpdateDraft, ZComment, ZTicket
from sync.errors import InvalidInput, MappingError, RetriableError, ZendeskRejected
from sync.gateway._core import BATCH, GatewayCore, batches
from sync.gateway.convert import comment_from, comments_from_audit, ticket_from
from sync.gateway.models import JobResult

__all__ = ["TicketsMixin"]


def _comment_fields(draft: CommentDraft) -> dict[str, Any]:
    # ``public`` is always explicit: Zendesk otherwise reuses the first comment's visibility.
    fields: dict[str, Any] = {"body": draft.body, "public": draft.public}
    if draft.author_id is not None:
        fields["author_id"] = draft.author_id
    if draft.uploads:
        fields["uploads"] = list(draft.uploads)
    return fields


def _update_fields(draft: TicketUpdateDraft) -> dict[str, Any]:
    """The sparse JSON fields of an update; tags only through ``additional_tags``/``remove_tags``."""
    fields: dict[str, Any] = {}
    if draft.comment is not None:
        fields["comment"] = _comment_fields(draft.comment)
    for name in ("status", "assignee_id", "organization_id"):
        value = getattr(draft, name)
        if value is not None:
            fields[name] = value
    if draft.additional_tags:
        fields["additional_tags"] = list(draft.additional_tags)
    if draft.remove_tags:
        fields["remove_tags"] = list(draft.remove_tags)
    if draft.email_ccs:
        fields["email_ccs"] = [{"user_email": c.email, "action": c.action} for c in draft.email_ccs]
    if draft.metadata:
        # Zendesk keeps it as the audit's ``metadata.custom``: casesync's message marker rides here.
        fields["metadata"] = dict(draft.metadata)
    return fields


def _new_ticket_fields(draft: TicketDraft) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "subject": draft.subject,
        "requester_id": draft.requester_id,
        "organization_id": draft.organization_id,
        "external_id": draft.external_id,
        "comment": _comment_fields(draft.comment),
    }
    if draft.tags:
        fields["tags"] = list(draft.tags)
    if draft.custom_fields:
        fields["custom_fields"] = [dict(f) for f in draft.custom_fields]
    if draft.email_ccs:
        fields["email_ccs"] = [{"user_email": c.email, "action": c.action} for c in draft.email_ccs]
    if draft.via_followup_source_id is not None:
        fields["via_followup_source_id"] = draft.via_followup_source_id
    if draft.priority is not None:
        fields["priority"] = draft.priority
    return fields


def _audit_answer(body: Mapping[str, Any]) -> tuple[ZTicket, list[ZComment]]:
    """The ticket and the comments of a create or update answer (``{"ticket": …, "audit": …}``)."""
    ticket_json = body.get("ticket")
    if not isinstance(ticket_json, Mapping):
        raise MappingError("zendesk answered a ticket write without the ticket")
    ticket = ticket_from(ticket_json)
    audit = body.get("audit")
    return ticket, comments_from_audit(audit if isinstance(audit, Mapping) else {}, fallback_time=ticket.updated_at)


def _zenpy_ticket(ticket_id: int, fields: dict[str, Any]) -> Ticket:
    if "comment" in fields:
        fields = {**fields, "comment": Comment(**fields["comment"])}
    return Ticket(id=ticket_id, **fields)


class TicketsMixin(GatewayCore):
    """Ticket reads and writes."""

    def create_ticket(self, draft: TicketDraft, idempotency_key: str) -> tuple[ZTicket, ZComment | None]:
        """Create a ticket with its first comment, sent with ``Idempotency-Key``.

        An ambiguous failure is raised (not retried): look the ticket up by ``external_id`` first.
        """

        def send() -> tuple[ZTicket, ZComment | None]:
            response = self._raw(
                "POST",
                "tickets.json",
                json={"ticket": _new_ticket_fields(draft)},
                headers={"Idempotency-Key": idempotency_key},
            )
            ticket, comments = _audit_answer(self._json(response))
            return ticket, (comments[0] if comments else None)

        return self._call(send, method="POST", replay_safe=False)

    def find_tickets_by_external_id(self, external_id: str) -> list[ZTicket]:
        """Every ticket with that ``external_id`` (Zendesk does not enforce uniqueness).

        zenpy puts the value in the query string without encoding it: casesync's own ids
        (``console-case:<number>``) need none.
        """
        return self._call(lambda: [ticket_from(t.to_dict()) for t in self._zenpy().tickets(external_id=external_id)])

    def get_ticket(self, ticket_id: int) -> ZTicket:
        """One ticket; :class:`~sync.errors.RecordNotFound` when it does not exist (or was deleted)."""
        # Plain JSON, as the export reads tickets: each webhook hint reads one, and zenpy's objects would be
        # built only to be turned back into a dict.
        ticket = self._get_json(f"tickets/{ticket_id}.json").get("ticket")
        if not isinstance(ticket, Mapping):
            raise MappingError("zendesk answered a ticket read without the ticket")
        return ticket_from(ticket)

    def get_tickets(self, ids: Sequence[int]) -> list[ZTicket]:
        """The tickets among ``ids`` that exist, fetched 100 at a time (``show_many``)."""
        out: list[ZTicket] = []
        for chunk in batches(ids):
            out.extend(self._call(partial(self._show_many, chunk)))
        return out

    def _show_many(self, ids: list[int]) -> list[ZTicket]:
        return [ticket_from(t.to_dict()) for t in self._zenpy().tickets(ids=ids)]

    def update_ticket(
        self, ticket_id: int, draft: TicketUpdateDraft, *, updated_stamp: str | None = None
    ) -> tuple[ZTicket, list[ZComment]]:
        """Apply a sparse update; with ``updated_stamp`` as a safe update (409 → UpdateConflict).

        Returns the ticket and the comments the update added (with the update's ``metadata.custom``).
        An update carrying a comment is not replay-safe: an ambiguous failure is raised.
        """

        def send() -> tuple[ZTicket, list[ZComment]]:
            fields = _update_fields(draft)
            if updated_stamp is not None:
                fields.update(safe_update=True, updated_stamp=updated_stamp)
            return _audit_answer(self._json(self._raw("PUT", f"tickets/{ticket_id}.json", json={"ticket": fields})))

        return self._call(send, method="PUT", replay_safe=draft.comment is None)

    def reply_on_behalf(self, ticket_id: int, user_email: str, comment: CommentDraft) -> ZComment | None:
        """Post ``comment`` as the end user (Requests API with ``X-On-Behalf-Of``; needs ``impersonate``).

        Zendesk reopens the ticket itself.  The Requests API answers with the request, not an audit, so
        the comment is returned only when the answer includes one; otherwise ``None``.
        """
        payload: dict[str, Any] = {"body": comment.body}
        if comment.uploads:
            payload["uploads"] = list(comment.uploads)

        def send() -> ZComment | None:
            response = self._raw(
                "PUT",
                f"requests/{ticket_id}.json",
                json={"request": {"comment": payload}},
                headers={"X-On-Behalf-Of": user_email},
            )
            body = self._json(response)
            audit = body.get("audit")
            comments = comments_from_audit(audit) if isinstance(audit, dict) else []
            return comments[0] if comments else None

        return self._call(send, method="PUT", replay_safe=False)

    def add_tags(self, ticket_id: int, tags: Sequence[str]) -> list[str]:
        """Add tags through the tags endpoint (never replacing staff's); returns the ticket's tags."""
        body = self._call(
            lambda: self._json(self._raw("PUT", f"tickets/{ticket_id}/tags.json", json={"tags": list(tags)})),
            method="PUT",
            replay_safe=True,
        )
        return [str(t) for t in body.get("tags") or ()]

    def list_comments(self, ticket_id: int) -> list[ZComment]:
        """Every comment of the ticket, oldest first (cursor pagination); ``custom`` = ``metadata.custom``.

        Inline images are listed too (``include_inline_images=true``): without it Zendesk leaves them out."""
        # Plain JSON pages, for the reason get_ticket gives (zenpy built every comment twice over).

        def fetch() -> list[ZComment]:
            out: list[ZComment] = []
            url: str | None = f"tickets/{ticket_id}/comments.json"
            params: dict[str, Any] | None = {"include_inline_images": "true", "page[size]": BATCH}
            while url is not None:
                body = self._json(self._raw("GET", url, params=params))
                out.extend(comment_from(c) for c in body.get("comments") or () if isinstance(c, Mapping))
                meta, links = body.get("meta"), body.get("links")
                more = isinstance(meta, Mapping) and bool(meta.get("has_more"))
                # The next page as Zendesk links it (the query kept), as zenpy followed it; else by its cursor.
                link = links.get("next") if more and isinstance(links, Mapping) else None
                cursor = meta.get("after_cursor") if more and isinstance(meta, Mapping) else None
                if isinstance(link, str) and link:
                    url, params = link, None
                elif isinstance(cursor, str) and cursor:
                    url = f"tickets/{ticket_id}/comments.json"
                    params = {"include_inline_images": "true", "page[size]": BATCH, "page[after]": cursor}
                else:
                    url = None
            return out

        return self._call(fetch)

    def upload(self, filename: str, content_type: str, data: bytes) -> str:
        """Upload a file; returns the token to list in a comment's ``uploads`` (valid 60 minutes)."""

        def send() -> str:
            upload = self._zenpy().attachments.upload(data, target_name=filename, content_type=content_type)
            return str(upload.token)

        # A duplicate upload is only an unused token that expires: safe to replay.
        return self._call(send, method="POST", replay_safe=True)

    def download(self, content_url: str) -> bytes:
        """The bytes of an attachment's ``content_url`` (following Zendesk's redirect)."""
        return self._call(lambda: self._raw("GET", content_url).content)

    def update_many(self, items: Sequence[tuple[int, TicketUpdateDraft]]) -> str:
        """Queue one background job updating up to 100 tickets; returns the job id (see :meth:`wait_job`)."""
        if not items:
            raise InvalidInput("update_many needs at least one ticket")
        if len(items) > BATCH:
            raise InvalidInput(f"update_many takes at most {BATCH} tickets, got {len(items)}")

        def send() -> str:
            tickets = [_zenpy_ticket(ticket_id, _update_fields(draft)) for ticket_id, draft in items]
            return str(self._zenpy().tickets.update(tickets).id)

        replay_safe = all(draft.comment is None for _, draft in items)
        return self._call(send, method="PUT", replay_safe=replay_safe)

    def wait_job(
        self,
        job_id: str,
        *,
        sleep: Callable[[float], None] = time.sleep,
        interval_s: float = 1.0,
        timeout_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> list[JobResult]:
        """Poll the job until it completes; its per-item results (``success`` false for failed items).

        A failed job raises :class:`~sync.errors.ZendeskRejected`; one still running after ``timeout_s``
        raises :class:`~sync.errors.RetriableError` (retry later).
        """
        deadline = clock() + timeout_s
        while True:
            job = self._get_json(f"job_statuses/{job_id}.json").get("job_status") or {}
            status = job.get("status")
            if status == "completed":
                return [JobResult.model_validate(_job_item(r)) for r in job.get("results") or ()]
            if status == "failed":
                raise ZendeskRejected(f"job {job_id} failed: {job.get('message') or 'no message'}")
            if clock() >= deadline:
                raise RetriableError(f"job {job_id} still {status} after {timeout_s:.0f}s")
            sleep(interval_s)


def _job_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        return {}
    out = {k: v for k, v in item.items() if v is not None}
    for key in ("error", "details"):
        if key in out and not isinstance(out[key], str):
            out[key] = str(out[key])
    return out
