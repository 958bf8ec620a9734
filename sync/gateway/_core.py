"""The gateway's plumbing: configuration, one zenpy client per thread, retried and translated calls."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import requests
from pydantic import SecretStr

from sync.errors import ConfigurationError, SyncError
from sync.gateway._zenpy import make_zenpy, split_base_url
from sync.gateway.errors import broken_answer, error_for_response, translating
from sync.gateway.session import GatewaySession, parsed_json
from sync.retry import RetryPolicy
from sync.settings import Settings

__all__ = ["BATCH", "GatewayCore", "batches"]

T = TypeVar("T")

#: Zendesk's limit for show_many and update_many.
BATCH = 100


def batches(ids: Sequence[int]) -> Iterator[list[int]]:
    """``ids`` without repeats (first occurrence kept), :data:`BATCH` at a time: one ``show_many`` call each."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), BATCH):
        yield unique[start : start + BATCH]


def _reveal(value: str | SecretStr | None) -> str | None:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value or None


class GatewayCore:
    """Configuration and the two ways of calling Zendesk (zenpy, raw requests), both retried and translated.

    Explicit arguments override ``settings``; with neither, settings come from the environment.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        url: str | None = None,
        email: str | None = None,
        token: str | SecretStr | None = None,
        oauth_token: str | SecretStr | None = None,
        session: GatewaySession | None = None,
        policy: RetryPolicy | None = None,
        timeout_s: float | None = None,
    ) -> None:
        if settings is None and url is None:
            settings = Settings()
        if settings is not None:
            url = url or settings.zendesk_url
            email = email or settings.zendesk_email
            token = token or settings.zendesk_token
            oauth_token = oauth_token or settings.zendesk_oauth_token
            timeout_s = timeout_s if timeout_s is not None else settings.request_timeout_s
        if not url:
            raise ConfigurationError("CASESYNC_ZENDESK_URL is not set (e.g. https://acme.zendesk.com)")
        split_base_url(url)
        self._token = _reveal(token)
        self._oauth_token = _reveal(oauth_token)
        if self._oauth_token is None and (self._token is None or not email):
            raise ConfigurationError(
                "Zendesk credentials are missing: set CASESYNC_ZENDESK_EMAIL and CASESYNC_ZENDESK_TOKEN, "
                "or CASESYNC_ZENDESK_OAUTH_TOKEN"
            )
        self.base_url = url.rstrip("/")
        self.email = email
        self.timeout_s = timeout_s if timeout_s is not None else 30.0
        self.session = session if session is not None else GatewaySession()
        self.policy = policy if policy is not None else RetryPolicy()
        # Authenticate the session ourselves so raw requests do not depend on a zenpy client existing.
        if self._oauth_token:
            self.session.headers["Authorization"] = f"Bearer {self._oauth_token}"
        else:
            self.session.auth = (f"{email}/token", self._token or "")
        self._local = threading.local()
        #: Told every call's outcome (``None`` for success, else the typed error raised): the connection
        #: guard (:mod:`sync.connection`) watches for refused credentials and an unreachable Zendesk.
        self.observer: Callable[[BaseException | None], None] | None = None
        self._scopes: list[str] | None = None
        self._scopes_known = False

    @property
    def uses_oauth(self) -> bool:
        """True when the gateway authenticates with an OAuth token."""
        return self._oauth_token is not None

    # -- zenpy ---------------------------------------------------------------------------------------

    def _zenpy(self) -> Any:
        # zenpy keeps per-API mutable state (the "dirty object", call bookkeeping): one client per thread.
        client = getattr(self._local, "zenpy", None)
        if client is None:
            client = make_zenpy(
                self.base_url,
                session=self.session,
                email=self.email,
                token=self._token,
                oauth_token=self._oauth_token,
                timeout_s=self.timeout_s,
            )
            self._local.zenpy = client
        return client

    # -- calls ---------------------------------------------------------------------------------------

    def _call(
        self,
        fn: Callable[[], T],
        *,
        method: str = "GET",
        replay_safe: bool | None = None,
        retry_rate_limited: bool = True,
    ) -> T:
        """Run ``fn`` under the retry policy with errors translated.

        ``fn`` builds every zenpy object it sends itself (fresh for each attempt).  ``replay_safe`` says
        whether sending the request twice is harmless (reads, create-or-update, adding tags); an ambiguous
        failure of a call that is not replay-safe is raised, never retried (see :mod:`sync.retry`).
        """
        safe = method.upper() == "GET" if replay_safe is None else replay_safe

        def attempt() -> T:
            with translating(method):
                return fn()

        observer = self.observer
        if observer is None:
            return self.policy.call(attempt, write=not safe, retry_rate_limited=retry_rate_limited)
        try:
            result = self.policy.call(attempt, write=not safe, retry_rate_limited=retry_rate_limited)
        except SyncError as exc:
            observer(exc)
            raise
        observer(None)
        return result

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/api/v2/{path.lstrip('/')}"

    def _raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One raw request on the shared session; a non-2xx answer raises its typed error.

        Call it inside :meth:`_call` so that network errors are translated and retried.
        """
        response = self.session.request(
            method,
            self._url(path),
            params=params,
            json=json,
            data=data,
            headers=dict(headers or {}),
            timeout=self.timeout_s,
        )
        if not 200 <= response.status_code < 300:
            raise error_for_response(response, method)
        return response

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        try:
            body = parsed_json(response)
        except ValueError as exc:
            raise broken_answer(response) from exc
        if not isinstance(body, dict):
            raise broken_answer(response)
        return body

    def _get_json(self, path: str, *, params: Mapping[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        return self._call(lambda: self._json(self._raw("GET", path, params=params)), **kw)

    # -- clock and credentials -----------------------------------------------------------------------

    def zendesk_now(self) -> datetime:
        """Zendesk's current time: the last ``Date`` header plus local monotonic time elapsed since.

        Before any response was seen, the local UTC clock.
        """
        return self.session.zendesk_clock.now() or datetime.now(UTC)

    def token_scopes(self) -> list[str] | None:
        """The OAuth token's scopes (``GET /api/v2/oauth/tokens/current``); ``None`` for an API token."""
        if not self.uses_oauth:
            return None
        if not self._scopes_known:
            body = self._get_json("oauth/tokens/current.json")
            token = body.get("token") if isinstance(body.get("token"), dict) else {}
            scopes = token.get("scopes") if isinstance(token, dict) else None
            self._scopes = [str(s) for s in scopes] if isinstance(scopes, list) else []
            self._scopes_known = True
        return self._scopes

    @property
    def can_impersonate(self) -> bool:
        """True when replies may go through the Requests API on behalf of users (``impersonate`` scope).

        Reads the token's scopes once (one request) and remembers them.
        """
        scopes = self.token_scopes()
        return scopes is not None and "impersonate" in scopes
