"""casesync's settings: environment variables ``CASESYNC_<FIELD>`` and a ``.env`` file.

Commands that only read or migrate the store need nothing but ``database_url``; the Zendesk fields are
checked by :meth:`Settings.require_zendesk` when a command is about to talk to Zendesk, so a missing
token is a one-line :class:`~sync.errors.ConfigurationError` naming the variable, never a traceback.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mappings.fields import FieldRefused, parse_field_map
from sync.errors import ConfigurationError

__all__ = ["LogSettings", "Settings", "load_log_settings", "load_settings"]

ENV_PREFIX = "CASESYNC_"


class Settings(BaseSettings):
    """Every knob of casesync; see the README's configuration reference."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # Zendesk
    zendesk_url: str | None = None
    zendesk_email: str | None = None
    zendesk_token: SecretStr | None = None
    zendesk_oauth_token: SecretStr | None = None
    default_assignee_email: str | None = None
    console_case_field_id: int | None = None
    #: Console field name → Zendesk ticket field id, as JSON (README "Mapped fields").
    field_map: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    request_timeout_s: float = Field(default=30.0, gt=0)

    # store
    database_url: str = "sqlite:///casesync.db"

    # webhooks and the HTTP server
    webhook_secret: SecretStr | None = None
    public_url: str | None = None
    webhook_tolerance_s: float = Field(default=300.0, gt=0)
    webhook_max_body_bytes: int = Field(default=1_048_576, gt=0)
    http_host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    #: Unlocks replay and discard on the status page (login form); without it the page is read-only.
    operator_token: SecretStr | None = None

    api_token: SecretStr | None = None  # the console HTTP API's bearer token; unset: the API is off

    # console webhooks (both set: serve and sync --once POST the change feed to the console)
    console_webhook_url: str | None = None
    console_webhook_secret: SecretStr | None = None
    console_webhook_timeout_s: float = Field(default=10.0, gt=0)

    # workers
    poll_interval_s: float = Field(default=30.0, ge=0)
    outbox_max_backoff_s: float = Field(default=300.0, gt=0)
    outbox_batch_size: int = Field(default=100, gt=0)
    retry_window_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    lease_s: float = Field(default=30.0, gt=0)
    inbound_max_attempts: int = Field(default=5, gt=0)
    poll_start: datetime | None = None
    reconcile_interval_s: float = Field(default=3600.0, gt=0)

    # presentation
    staff_name: Literal["first_name", "full_name", "team"] = "first_name"
    staff_team_name: str = "Support team"
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return _upper_level(value)

    @field_validator(
        "zendesk_email",
        "zendesk_token",
        "zendesk_oauth_token",
        "webhook_secret",
        "default_assignee_email",
        "public_url",
        "operator_token",
        "api_token",
        "console_webhook_url",
        "console_webhook_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `CASESYNC_ZENDESK_TOKEN=` in an env file means "not set", never an empty credential.
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("field_map", mode="before")
    @classmethod
    def _check_field_map(cls, value: object, info: ValidationInfo) -> dict[str, int]:
        reserved = info.data.get("console_case_field_id")
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as exc:
                raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
        try:
            return parse_field_map(value, reserved_ids=[reserved] if isinstance(reserved, int) else [])
        except FieldRefused as exc:
            raise ValueError(str(exc)) from None

    @field_validator("zendesk_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://acme.zendesk.com")
        host = parts.hostname or ""
        if "." not in host:
            # zenpy splits the host at its first dot into subdomain and domain.
            raise ValueError("the host must contain a dot (use 127.0.0.1, not localhost)")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        if not (value.startswith("sqlite:///") or value.startswith(("postgresql://", "postgresql+psycopg://"))):
            raise ValueError("must be sqlite:///path.db, sqlite:////abs/path.db or postgresql://…")
        return value

    def require_zendesk(self) -> None:
        """Raise :class:`ConfigurationError` naming the first missing Zendesk variable."""
        if not self.zendesk_url:
            raise ConfigurationError(f"{ENV_PREFIX}ZENDESK_URL is not set (e.g. https://acme.zendesk.com)")
        if self.zendesk_oauth_token is None:
            if self.zendesk_token is None:
                raise ConfigurationError(
                    f"{ENV_PREFIX}ZENDESK_TOKEN (or {ENV_PREFIX}ZENDESK_OAUTH_TOKEN) is not set"
                )
            if not self.zendesk_email:
                raise ConfigurationError(f"{ENV_PREFIX}ZENDESK_EMAIL is not set (the agent paired with the token)")


def _upper_level(value: object) -> object:
    # `CASESYNC_LOG_LEVEL=debug` is as good as `DEBUG`; anything else is refused by the Literal.
    return value.strip().upper() if isinstance(value, str) else value


class LogSettings(BaseSettings):
    """The logging knobs alone, read before any command runs (a command may need nothing else)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_any_case(cls, value: object) -> object:
        return _upper_level(value)


def load_log_settings() -> LogSettings:
    """:class:`LogSettings` from the environment; a bad value is a one-line ConfigurationError."""
    try:
        return LogSettings()
    except ValidationError as exc:
        raise _configuration_error(exc) from None


def _configuration_error(exc: ValidationError) -> ConfigurationError:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    return ConfigurationError(f"{ENV_PREFIX}{field.upper()}: {first['msg']}")


def load_settings(**overrides: object) -> Settings:
    """Build :class:`Settings`, turning validation errors into a one-line ConfigurationError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise _configuration_error(exc) from None
