"""Settings from the environment, one-line configuration errors, and secrets that never reach a log."""

from __future__ import annotations

import io
import json

import pytest
from pydantic import SecretStr

from sync.errors import ConfigurationError
from sync.logging import REDACTED, configure_logging, get_logger, redact_value
from sync.settings import Settings, load_settings


def test_settings_come_from_casesync_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASESYNC_ZENDESK_URL", "https://acme.zendesk.com/")
    monkeypatch.setenv("CASESYNC_ZENDESK_EMAIL", "agent@acme.example")
    monkeypatch.setenv("CASESYNC_ZENDESK_TOKEN", "s3cret")
    monkeypatch.setenv("CASESYNC_POLL_INTERVAL_S", "5")
    settings = load_settings()
    assert settings.zendesk_url == "https://acme.zendesk.com"
    assert isinstance(settings.zendesk_token, SecretStr) and "s3cret" not in repr(settings)
    assert settings.poll_interval_s == 5
    assert settings.outbox_max_backoff_s == 300 and settings.lease_s == 30
    assert settings.database_url == "sqlite:///casesync.db"
    settings.require_zendesk()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CASESYNC_ZENDESK_URL": "acme.zendesk.com"}, "CASESYNC_ZENDESK_URL"),
        ({"CASESYNC_ZENDESK_URL": "http://localhost:8080"}, "CASESYNC_ZENDESK_URL"),
        ({"CASESYNC_DATABASE_URL": "mysql://x"}, "CASESYNC_DATABASE_URL"),
        ({"CASESYNC_POLL_INTERVAL_S": "-1"}, "CASESYNC_POLL_INTERVAL_S"),
        ({"CASESYNC_FIELD_MAP": "{plan: 1}"}, "CASESYNC_FIELD_MAP: Value error, not valid JSON"),
        ({"CASESYNC_FIELD_MAP": '{"Plan": 1}'}, "CASESYNC_FIELD_MAP"),
        ({"CASESYNC_CONSOLE_CASE_FIELD_ID": "5", "CASESYNC_FIELD_MAP": '{"plan": 5}'}, "Console case field"),
    ],
)
def test_malformed_settings_are_one_line_errors_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_field_map_is_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASESYNC_FIELD_MAP", '{"plan": 360001, "region": 360002}')
    assert load_settings().field_map == {"plan": 360001, "region": 360002}
    monkeypatch.delenv("CASESYNC_FIELD_MAP")
    assert load_settings().field_map == {}


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({}, "CASESYNC_ZENDESK_URL"),
        ({"zendesk_url": "https://a.zendesk.com"}, "CASESYNC_ZENDESK_TOKEN"),
        ({"zendesk_url": "https://a.zendesk.com", "zendesk_token": ""}, "CASESYNC_ZENDESK_TOKEN"),
        ({"zendesk_url": "https://a.zendesk.com", "zendesk_token": "t"}, "CASESYNC_ZENDESK_EMAIL"),
    ],
)
def test_require_zendesk_names_the_first_missing_variable(fields: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigurationError, match=missing):
        Settings(**fields).require_zendesk()  # type: ignore[arg-type]


def test_oauth_token_alone_is_enough() -> None:
    Settings(zendesk_url="https://a.zendesk.com", zendesk_oauth_token="tok").require_zendesk()


@pytest.mark.parametrize(
    ("value", "leak"),
    [
        ({"Authorization": "Basic YWdlbnQ6dG9rZW4="}, "YWdlbnQ6dG9rZW4="),
        ({"headers": {"authorization": "Bearer abc.def"}}, "abc.def"),
        ("auth=agent@acme.example/token:T0K3N used", "T0K3N"),
        ("sent Bearer eyJhbGciOi.x.y", "eyJhbGciOi"),
        ([{"webhook_secret": "whsec"}], "whsec"),
        (SecretStr("hidden"), "hidden"),
    ],
)
def test_redaction_removes_secrets_wherever_they_are(value: object, leak: str) -> None:
    assert leak not in str(redact_value(value))


def test_logged_events_never_carry_secrets() -> None:
    out = io.StringIO()
    configure_logging("json", "DEBUG", stream=out)
    get_logger("test").info("request_sent", token="t0ps3cret", url="https://a/x", note="Bearer zzz999")
    line = json.loads(out.getvalue().splitlines()[-1])
    assert line["token"] == REDACTED and line["url"] == "https://a/x"
    assert "zzz999" not in out.getvalue() and "t0ps3cret" not in out.getvalue()
    configure_logging("console", "WARNING")
