"""The load benchmark's delivery mix is what it claims: valid events verify, forgeries never do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from benchmarks.webhook_load import _SECRET, build_mix
from sync.web.signature import BadSignature, verify_signature


def test_the_mix_holds_valid_events_duplicates_and_forgeries() -> None:
    mix, valid, forged = build_mix(100)
    assert len(mix) == 100
    assert len(valid) == 60 and forged == 20
    assert len(set(mix)) == 80  # 20 rows repeat an earlier delivery byte for byte
    now = datetime.now(UTC)
    accepted = 0
    for body, timestamp, signature in mix:
        if b"forged-" in body:
            with pytest.raises(BadSignature):
                verify_signature(_SECRET, timestamp, body, signature, now=now, tolerance_s=3600)
        else:
            verify_signature(_SECRET, timestamp, body, signature, now=now, tolerance_s=3600)
            accepted += 1
    assert accepted == 80
