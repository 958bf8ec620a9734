"""The console backend's HTTP API under ``/api/v1/`` (docs/design.md §8): a thin layer over ``SupportCases``.

``casesync serve`` mounts :func:`create_api` when ``CASESYNC_API_TOKEN`` is set, and :func:`api_off`
(404 everywhere) otherwise.
"""

from __future__ import annotations

from sync.web.api.app import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_WAIT_S, PREFIX, create_api
from sync.web.api.transport import api_off

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_MAX_WAIT_S", "PREFIX", "api_off", "create_api"]
