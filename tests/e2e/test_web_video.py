"""A two-browser video call: the specialist hosts, the county doctor waits and is admitted,
and each side's getStats() shows decoded remote video frames. Skipped without the video API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e

FRAMES_DECODED = """async () => {
  let frames = 0
  for (const pc of window.__telemedPeers.values()) {
    const stats = await pc.getStats()
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0
    })
  }
  return frames
}"""


@pytest.fixture
def video(live_server: LiveServer) -> None:
    paths = httpx.get(f"{live_server.url}/openapi.json").json()["paths"]
    if "/api/v1/rooms/{room_id}" not in paths:
        pytest.skip("the video API is not in this build")


def test_two_browsers_see_each_other(
    media_browser: Any, live_server: LiveServer, video: None
) -> None:
    with live_server.api("county-doctor") as county_api, live_server.api("specialist") as spec_api:
        county_id = county_api.get("/auth/me").json()["id"]
        now = datetime.now(UTC)
        room = spec_api.post(
            "/rooms",
            json={
                "title": "e2e call",
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
                "invited_user_ids": [county_id],
            },
        )
        assert room.status_code == 201, room.text
        room_id = room.json()["id"]

    pages = []
    for username in ("specialist", "county-doctor"):
        ctx = media_browser.new_context(
            base_url=live_server.url, viewport={"width": 1100, "height": 900}
        )
        ctx.set_default_timeout(20_000)
        page = ctx.new_page()
        login(page, username)
        page.goto(f"/#/room/{room_id}")
        page.get_by_test_id("join").click()
        pages.append(page)
    host, guest = pages
    try:
        guest.get_by_test_id("waiting").wait_for()
        host.get_by_test_id(f"admit-{county_id}").click()
        for page in pages:
            expect(page.get_by_test_id("remote-video")).to_have_count(1)
            page.wait_for_function(
                FRAMES_DECODED.replace("async () =>", "async () => (await (async () =>")
                + ")()) > 0",
                polling=500,
            )
        for name, page in zip(("host", "guest"), pages, strict=True):
            assert page.evaluate(FRAMES_DECODED) > 0, name
            shot(page, f"video-{name}")
        guest.locator("#chat-input").fill("能看到影像吗？")
        guest.locator("#chat-input").press("Enter")
        expect(host.get_by_test_id("chat")).to_contain_text("能看到影像吗？")
    except Exception:
        for i, page in enumerate(pages):
            shot(page, f"FAILED-video-{i}")
        raise
    finally:
        for page in pages:
            page.context.close()
