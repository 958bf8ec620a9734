"""``casesync setup-zendesk``: the "Console case" ticket field, the webhook, and the CC setting check.

Everything is found before anything is created, so running it again changes nothing: the field is found by
its title, the webhook by its endpoint (``public_url`` + ``/webhooks/zendesk``).  The account must have CCs
enabled: the recipient-list promise (docs/design.md §3 Recipients) is kept through ticket CCs, which Zendesk
ignores when the setting is off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape

from sync.errors import ConfigurationError
from sync.gateway import ZendeskGateway
from sync.settings import Settings

__all__ = ["FIELD_TITLE", "WEBHOOK_NAME", "WEBHOOK_PATH", "WEBHOOK_SUBSCRIPTIONS", "SetupOutcome", "ZendeskSetup"]

FIELD_TITLE = "Console case"
WEBHOOK_NAME = "casesync"
#: Where casesync's receiver listens, below ``public_url``.
WEBHOOK_PATH = "/webhooks/zendesk"

#: The ticket events casesync reacts to (each one only hints that a ticket changed; the ticket is re-read).
WEBHOOK_SUBSCRIPTIONS = tuple(
    f"zen:event-type:ticket.{name}"
    for name in (
        "created",
        "comment_added",
        "comment_made_private",
        # Redactions change no ticket field: only these events (or reconcile) tell (docs/design.md §8).
        "comment_redacted",
        "attachment_redacted_from_comment",
        "status_changed",
        "merged",
        "soft_deleted",
        "email_ccs_changed",
        "organization_changed",
        "requester_changed",
        # What staff set besides the status (Case.priority, Case.fields) reaches the case within a cycle too.
        "priority_changed",
        "custom_field_changed",
    )
)


def _mask(secret: str) -> str:
    # Enough to tell two secrets apart, never enough to use one.
    return f"{secret[:4]}…{secret[-2:]}" if len(secret) > 8 else "…"


@dataclass
class SetupOutcome:
    """What ``setup-zendesk`` found or did."""

    field_id: int
    field_created: bool
    webhook_id: str
    webhook_created: bool
    webhook_endpoint: str
    secret_hint: str
    secret_matches: bool | None  # None: CASESYNC_WEBHOOK_SECRET is not set
    ccs_enabled: bool
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.ccs_enabled

    def render(self, console: Console) -> None:
        verb = "created" if self.field_created else "found"
        console.print(f"Ticket field {FIELD_TITLE!r}: {verb}, id [bold]{self.field_id}[/bold]")
        verb = "created" if self.webhook_created else "found"
        console.print(f"Webhook {WEBHOOK_NAME!r} → {escape(self.webhook_endpoint)}: {verb}, id {self.webhook_id}")
        console.print(f"  signing secret: {self.secret_hint} (reveal it in Admin Center > Webhooks > "
                      f"{WEBHOOK_NAME}, or GET /api/v2/webhooks/{self.webhook_id}/signing_secret)")
        for note in self.notes:
            console.print(f"  {escape(note)}")
        console.print("Set in casesync's environment:")
        console.print(f"  CASESYNC_CONSOLE_CASE_FIELD_ID={self.field_id}")
        if self.secret_matches is True:
            console.print("  CASESYNC_WEBHOOK_SECRET is set and matches the webhook's signing secret.")
        else:
            problem = "does not match" if self.secret_matches is False else "is not set"
            console.print(f"  CASESYNC_WEBHOOK_SECRET=<the webhook's signing secret>  (currently {problem})")
        if self.ccs_enabled:
            console.print("CCs and followers: enabled.")
        else:
            console.print(
                "[red]CCs and followers are DISABLED in this Zendesk account.[/red] Zendesk ignores ticket CCs"
                " then, so staff replies will not reach the accounts' recipient lists. Enable them in Admin"
                " Center > Objects and rules > Tickets > Settings > CCs and followers, then run setup-zendesk"
                " again."
            )


class ZendeskSetup:
    """Finds or creates what casesync needs in the Zendesk account."""

    def __init__(self, gateway: ZendeskGateway, settings: Settings) -> None:
        self.gateway = gateway
        self.settings = settings

    def run(self) -> SetupOutcome:
        """Find or create the field and the webhook, read the signing secret, check the CC setting."""
        if not self.settings.public_url:
            raise ConfigurationError(
                "CASESYNC_PUBLIC_URL is not set (where Zendesk reaches casesync's webhook receiver,"
                " e.g. https://casesync.example.com)"
            )
        endpoint = self.settings.public_url.rstrip("/") + WEBHOOK_PATH
        notes: list[str] = []

        fields = [f for f in self.gateway.ticket_fields() if f.title.strip().lower() == FIELD_TITLE.lower()]
        if fields:
            ticket_field, field_created = fields[0], False
        else:
            ticket_field = self.gateway.create_ticket_field(
                FIELD_TITLE, type="integer", description="The console's case number (set by casesync)"
            )
            field_created = True
        if self.settings.console_case_field_id not in (None, ticket_field.id):
            notes.append(f"CASESYNC_CONSOLE_CASE_FIELD_ID is {self.settings.console_case_field_id}: change it.")

        hooks = [w for w in self.gateway.webhooks() if w.endpoint.rstrip("/") == endpoint]
        if hooks:
            webhook, webhook_created = hooks[0], False
            missing = [s for s in WEBHOOK_SUBSCRIPTIONS if s not in webhook.subscriptions]
            if missing:
                notes.append(f"the existing webhook lacks subscriptions {missing}: add them in Admin Center.")
            if webhook.status != "active":
                notes.append("the existing webhook is inactive: activate it in Admin Center.")
        else:
            webhook = self.gateway.create_webhook(
                WEBHOOK_NAME,
                endpoint,
                subscriptions=WEBHOOK_SUBSCRIPTIONS,
                extra={"description": "casesync: ticket changes for the console"},
            )
            webhook_created = True
        secret = self.gateway.signing_secret(webhook.id)
        configured = self.settings.webhook_secret
        matches = None if configured is None else configured.get_secret_value() == secret

        return SetupOutcome(
            field_id=ticket_field.id,
            field_created=field_created,
            webhook_id=webhook.id,
            webhook_created=webhook_created,
            webhook_endpoint=endpoint,
            secret_hint=_mask(secret),
            secret_matches=matches,
            ccs_enabled=ccs_enabled(self.gateway.account_settings()),
            notes=notes,
        )


def ccs_enabled(settings: dict[str, Any]) -> bool:
    """Whether the account's "CCs and followers" setting is on (``tickets.follower_and_email_cc_collaborations``)."""
    tickets = settings.get("tickets") if isinstance(settings.get("tickets"), dict) else {}
    value = tickets.get("follower_and_email_cc_collaborations") if isinstance(tickets, dict) else None
    if value is None:
        features = settings.get("active_features")
        value = features.get("email_ccs") if isinstance(features, dict) else None
    return bool(value)
