"""Building a zenpy client that talks to any base URL, with casesync's session.

zenpy 2.0.57 builds URLs as ``{protocol}://{subdomain}.{domain}/api/v2`` with ``protocol`` hard-coded to
``https`` on each of its ~85 API objects.  To reach the sandbox's ``http://127.0.0.1:PORT`` the host is split
at its first dot into subdomain and domain, and every API object reachable from the client gets the URL's
scheme.  Environment variables (``ZENPY_FORCE_SCHEME``) would do it too, but for the whole process.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from zenpy import Zenpy
from zenpy.lib.api import BaseApi

from sync.errors import ConfigurationError
from sync.gateway.session import GatewaySession

__all__ = ["make_zenpy", "split_base_url"]


def split_base_url(base_url: str) -> tuple[str, str, str]:
    """``(scheme, subdomain, domain)`` of ``https://acme.zendesk.com`` or ``http://127.0.0.1:8080``."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"not an absolute http(s) URL: {base_url!r}")
    subdomain, _, domain = parts.netloc.partition(".")
    if not domain:
        raise ConfigurationError(f"the Zendesk URL's host needs a dot (127.0.0.1, not localhost): {base_url!r}")
    return parts.scheme, subdomain, domain


def _apis(root: object, seen: set[int]) -> Iterator[Any]:
    for value in list(vars(root).values()):
        if isinstance(value, BaseApi) and id(value) not in seen:
            seen.add(id(value))
            yield value
            yield from _apis(value, seen)


def make_zenpy(
    base_url: str,
    *,
    session: GatewaySession,
    email: str | None,
    token: str | None,
    oauth_token: str | None,
    timeout_s: float,
) -> Any:
    """A fresh zenpy client on ``session`` with the cache off (stale, shared, not thread-safe objects)."""
    scheme, subdomain, domain = split_base_url(base_url)
    credentials: dict[str, Any] = {"oauth_token": oauth_token} if oauth_token else {"email": email, "token": token}
    client = Zenpy(
        subdomain=subdomain,
        domain=domain,
        session=session,
        timeout=timeout_s,
        disable_cache=True,
        **credentials,
    )
    if scheme != "https":
        for api in _apis(client, set()):
            api.protocol = scheme
    return client
