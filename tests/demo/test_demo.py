"""The demo is the README's main command: it must play the whole process and check itself."""

from __future__ import annotations

import pytest

from sync.demo import run_demo


def test_demo_plays_the_support_process_and_every_expectation_holds(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo() == 0
    out = capsys.readouterr().out
    for status in ("New", "Open", "Pending", "Solved", "Closed"):
        assert status in out, f"the timeline names {status}"
    assert "follow-up" in out
    assert "legacy SSO" in out  # the internal note is shown on the Zendesk side of the timeline only
    assert "rich text with a screenshot" in out and "redact the password" in out
    assert "all 24 expectations held" in out
