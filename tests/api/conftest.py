"""Fixtures of the API tests: a ``SupportCases`` on each backend with two accounts set up."""

from __future__ import annotations

from typing import Any

import pytest

from sync.api import SupportCases


@pytest.fixture
def support(store: Any) -> SupportCases:
    return SupportCases(store=store)


@pytest.fixture
def world(support: SupportCases) -> SupportCases:
    """Account ``acme`` (admin ann, user bob) and account ``beta`` (user carl)."""
    support.upsert_account("acme", "Acme")
    support.upsert_user("acme", "ann", "ann@acme.test", "Ann Admin", admin=True)
    support.upsert_user("acme", "bob", "bob@acme.test", "Bob User")
    support.upsert_account("beta", "Beta")
    support.upsert_user("beta", "carl", "carl@beta.test", "Carl")
    return support
