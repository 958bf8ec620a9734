"""The reference Support page in headless Chromium: a case from submit to close, both sides in a browser.

Bob submits a case with an attachment on the Support page; Sam answers it in the agent view (a public
reply in rich text with an inline image, Pending); the Support page shows it by itself (it long-polls the
change feed); Bob replies, acknowledges the solution, closes the case and continues it in a new one;
browsing finds both.  Screenshots of each step go
to ``artifacts/support-page/`` (the path is printed).
"""

from __future__ import annotations

import os
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from sync.demo_web import WebDemo

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")

T = TypeVar("T")
CHROMIUM = "/usr/bin/chromium"


def solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour (8-bit RGB), for staff's inline image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = solid_png(120, 48, (58, 111, 216))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "support-page"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason=f"no headless browser at {CHROMIUM} "
                                "(Debian package `chromium`; .ci/run installs it)")


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def api_case(demo: WebDemo, case_id: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {demo.token}"}
    response = httpx.get(f"{demo.base_url}/api/v1/accounts/acme/cases/{case_id}", headers=headers, timeout=10)
    return dict(response.json())


def zendesk_ticket(demo: WebDemo, ticket_id: int) -> dict[str, Any]:
    """The ticket as the agent view reads it (the sandbox's Zendesk API)."""
    response = httpx.get(f"{demo.base_url}/demo/zendesk/api/v2/tickets/{ticket_id}.json", timeout=10)
    return dict(response.json()["ticket"])


def wait_for(read: Callable[[], T], done: Callable[[T], bool], attempts: int = 60) -> T:
    """``read()`` until ``done`` holds for it (the engine syncs every second), at most ``attempts`` times."""
    value = read()
    for _ in range(attempts):
        if done(value):
            break
        threading.Event().wait(0.5)
        value = read()
    return value


@pytest.mark.timeout(180)
def test_a_case_from_submit_to_close_on_the_support_page(browser: Any) -> None:
    with WebDemo() as demo:
        console = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        console.on("pageerror", lambda exc: errors.append(str(exc)))
        console.goto(demo.support_url)
        assert "#token" not in console.url  # the token leaves the address bar at once

        # 1. Bob submits a case with an attachment.
        console.click("#new-case")
        console.fill("#submit-form [name=subject]", "Cannot sign in to the portal")
        console.fill("#submit-form [name=body]", "Since this morning the login page loops.")
        console.set_input_files("#submit-form [name=files]", files=[
            {"name": "login.har", "mimeType": "application/json", "buffer": b'{"log": {"entries": []}}'}])
        console.click("#submit-form button[type=submit]")
        console.wait_for_selector("#case-title:has-text('Cannot sign in to the portal')")
        case_id = int(console.text_content("#case-title").split()[0].lstrip("#"))
        assert console.text_content("#case-status") == "New"
        assert "login.har" in console.text_content("#messages")
        shot(console, "1-submitted")

        # 2. Sam answers in the agent view: a public reply, and the ticket becomes pending.
        agent = browser.new_page(viewport={"width": 1100, "height": 800})
        agent.goto(demo.agent_url)
        row = "#tickets tr:has-text('Cannot sign in to the portal')"
        for _ in range(30):  # the engine delivers the case to Zendesk within a pass or two
            if agent.locator(row).count():
                break
            agent.wait_for_timeout(500)
            agent.click("#refresh")
        agent.click(row)
        agent.fill("#comment-form [name=body]", "<p>Thanks Bob. Which <strong>browser</strong> do you use?</p>")
        agent.check("#comment-form [name=html]")
        agent.set_input_files("#comment-form [name=image]", files=[
            {"name": "where.png", "mimeType": "image/png", "buffer": PNG}])
        agent.select_option("#comment-form [name=status]", "pending")
        agent.click("#comment-form button[type=submit]")
        agent.wait_for_selector("#ticket-status:has-text('pending')")
        shot(agent, "2-agent-replied")

        # 3. The Support page shows the staff reply by itself (long poll of the change feed).
        console.wait_for_selector("#messages li.staff:has-text('Which browser')", timeout=60_000)
        console.wait_for_selector("#case-status:has-text('Pending')")
        staff = [m for m in api_case(demo, case_id)["messages"] if m["author"] == "staff"][-1]
        if staff.get("html"):  # staff's sanitized rich text is rendered as HTML, not as escaped text
            assert console.text_content("#messages li.staff .rich strong") == "browser"
            # The inline image is fetched through the attachments endpoint and shown from a blob: URL.
            image = console.locator("#messages li.staff .rich img")
            playwright_api.expect(image).to_have_attribute("src", re.compile(r"^blob:"))
            assert console.evaluate("img => img.naturalWidth", image.element_handle()) == 120
        else:  # a casesync without Message.html: the plain body, the image as an attachment
            assert "<strong>" not in console.text_content("#messages li.staff")
            assert "where.png" in console.text_content("#messages li.staff .files")
        shot(console, "3-staff-reply")

        # 4. Bob replies (Open again), then closes the case.
        console.fill("#reply-form [name=body]", "Firefox 131.")
        console.click("#reply-form button[type=submit]")
        console.wait_for_selector("#messages li.user:has-text('Firefox 131.')")
        assert console.text_content("#case-status") == "Open"
        console.fill("#reply-form [name=body]", "Works now, thanks!")
        console.check("#reply-form [name=ack]")
        console.click("#reply-form button[type=submit]")
        console.wait_for_selector("#messages li.user:has-text('Works now, thanks!')")
        ticket_id = api_case(demo, case_id)["ticket_id"]
        tags = wait_for(lambda: zendesk_ticket(demo, ticket_id)["tags"], lambda t: "console_ack_solved" in t)
        assert "console_ack_solved" in tags  # the acknowledgement reached Zendesk
        console.click("#close-case")
        console.wait_for_selector("#case-status:has-text('Closed')")
        assert console.is_visible("#continue-case") and not console.is_visible("#reply-form")
        shot(console, "4-closed")

        # 5. Bob continues the closed case in a new one, then finds both by searching.
        console.click("#continue-case")
        console.fill("#submit-form [name=body]", "It happens again on Safari.")
        console.click("#submit-form button[type=submit]")
        console.wait_for_selector(f"#case-links:has-text('continues case #{case_id}')")
        console.click("#case .back")
        console.fill("#query", "sign in portal")
        console.click("#filters button[type=submit]")
        expect = playwright_api.expect
        expect(console.locator("#cases tbody tr")).to_have_count(2)
        console.select_option("#status", "Closed")
        expect(console.locator("#cases tbody tr")).to_have_count(1)
        console.check("#mine")  # Bob's own cases: still this one
        expect(console.locator("#cases tbody tr")).to_have_count(1)
        console.fill("#user", "alice")
        console.click("#filters button[type=submit]")  # Alice requested none of them
        expect(console.locator("#cases tbody tr")).to_have_count(0)
        assert console.is_visible("#empty")
        console.uncheck("#mine")
        expect(console.locator("#cases tbody tr")).to_have_count(1)
        assert console.get_attribute("#cases tbody tr", "data-case-id") == str(case_id)
        shot(console, "5-browse")
        assert errors == []
        console.close()  # its long poll ends with it

        # Zendesk's side: the ticket was closed by the user's close.
        status = wait_for(lambda: zendesk_ticket(demo, ticket_id)["status"], lambda s: s == "closed")
        assert status == "closed"
