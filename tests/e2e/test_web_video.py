"""The video room in two Chromium browsers: the specialist hosts, the county doctor checks
camera and microphone, waits and is admitted; each side's getStats() shows decoded remote
video frames; mute and camera toggles, chat, recording consent and the recording indicator;
screen share swaps the sent track and the other side decodes the screen; a dropped socket
reconnects and frames flow again. Skipped without the video API.

Chromium's fake devices (`--use-fake-device-for-media-stream --use-fake-ui-for-media-stream`)
give getUserMedia a 640x480 (4:3) camera with a beeping microphone and getDisplayMedia a
1280x720 (16:9) fake screen, even headless: the aspect ratio of the decoded frames tells
which track the other side receives."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e

# Decoded video frames and the last frame size over the room's connections
# (only those not in window.__oldPeers, when set).
INBOUND = """async () => {
  let frames = 0, width = 0, height = 0
  const old = window.__oldPeers || new Set()
  for (const pc of window.__telemedPeers.values()) {
    if (old.has(pc)) continue
    const stats = await pc.getStats()
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        frames += s.framesDecoded || 0
        if (s.frameWidth) { width = s.frameWidth; height = s.frameHeight }
      }
    })
  }
  return { frames, width, height }
}"""


def until(expr: str) -> str:
    """A `wait_for` predicate: INBOUND's result `r` satisfies `expr`."""
    return f"async () => {{ const r = await ({INBOUND})(); return {expr} }}"


def wait_for(
    page: Any, js: str, arg: Any = None, *, timeout: float = 30_000, every: float = 250
) -> None:
    """Poll `js` (a function or an expression) with `page.evaluate` until it is truthy.

    Playwright's `wait_for_function` evaluates its predicate from a string inside the page,
    which the app's CSP (no 'unsafe-eval') refuses; `evaluate` runs over the DevTools
    protocol, which the CSP does not govern, so the app is tested under its real policy.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        if page.evaluate(js, arg):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout / 1000:.0f} s: {js[:200]}")
        page.wait_for_timeout(every)


# Every outgoing video sender of the room sends the given track.
SENDS = """(which) => {
  const room = window.__telemedRoom
  const track = which === 'screen' ? room.screenTrack() : room.cameraTrack()
  const pcs = [...window.__telemedPeers.values()]
  return !!track && pcs.length > 0 && pcs.every((pc) =>
    pc.getSenders().some((s) => s.track && s.track.kind === 'video' && s.track === track))
}"""


@dataclass
class Call:
    room_id: str
    county_id: str
    host: Any
    guest: Any


@pytest.fixture
def video(live_server: LiveServer) -> None:
    paths = live_server.paths()
    if "/api/v1/rooms/{room_id}" not in paths:
        pytest.fail("the video API is not in this build")


@pytest.fixture
def call(
    media_browser: Any, live_server: LiveServer, video: None, request: pytest.FixtureRequest
) -> Iterator[Call]:
    """A room with the specialist (host) and the county doctor, both in, media flowing."""
    with live_server.api("county-doctor") as county_api, live_server.api("specialist") as spec_api:
        county_id = county_api.get("/auth/me").json()["id"]
        now = datetime.now(UTC)
        room = spec_api.post(
            "/rooms",
            json={
                "title": f"e2e {request.node.name}",
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
                "invited_user_ids": [county_id],
            },
        )
        assert room.status_code == 201, room.text
        room_id = room.json()["id"]

    pages = []
    try:
        for username in ("specialist", "county-doctor"):
            ctx = media_browser.new_context(
                base_url=live_server.url, viewport={"width": 1100, "height": 900}
            )
            ctx.set_default_timeout(30_000)
            page = ctx.new_page()
            pages.append(page)
            login(page, username)
            page.goto(f"/#/room/{room_id}")
        host, guest = pages
        # The guest checks camera and microphone first: the picture shows, the beep is heard.
        guest.get_by_test_id("start-check").click()
        wait_for(
            guest, "document.querySelector('[data-testid=camera-check]')?.classList.contains('ok')"
        )
        wait_for(
            guest, "document.querySelector('[data-testid=mic-check]')?.classList.contains('ok')"
        )
        shot(guest, "video-check")
        host.get_by_test_id("join").click()
        guest.get_by_test_id("join").click()
        guest.get_by_test_id("waiting").wait_for()
        host.get_by_test_id(f"admit-{county_id}").click()
        for page in pages:
            expect(page.get_by_test_id("remote-video")).to_have_count(1)
            wait_for(page, until("r.frames > 0"), every=250)
        yield Call(room_id, county_id, host, guest)
    except Exception:
        for i, page in enumerate(pages):
            shot(page, f"FAILED-video-{request.node.name}-{i}")
        raise
    else:
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.failed:
            for i, page in enumerate(pages):
                shot(page, f"FAILED-video-{request.node.name}-{i}")
    finally:
        for page in pages:
            page.context.close()


def test_two_browsers_call_chat_toggle_and_record(call: Call, live_server: LiveServer) -> None:
    host, guest = call.host, call.guest
    for name, page in (("host", host), ("guest", guest)):
        # A connection the room replaces (a late offer, a reconnect on a loaded machine) starts
        # again from zero decoded frames: wait for the current ones to decode.
        wait_for(page, until("r.frames > 0"), every=250, timeout=60_000)
        shot(page, f"video-{name}")

    # Mute and camera off stop what the guest sends; toggled back on, they send again.
    sent_enabled = """(kind) => [...window.__telemedPeers.values()].flatMap((pc) =>
        pc.getSenders().filter((s) => s.track && s.track.kind === kind)
          .map((s) => s.track.enabled))"""
    guest.get_by_test_id("mute").click()
    guest.get_by_test_id("camera").click()
    expect(guest.get_by_test_id("mute")).to_have_attribute("aria-pressed", "true")
    assert guest.evaluate(sent_enabled, "audio") == [False]
    assert guest.evaluate(sent_enabled, "video") == [False]
    guest.get_by_test_id("mute").click()
    guest.get_by_test_id("camera").click()
    assert guest.evaluate(sent_enabled, "audio") == [True]
    assert guest.evaluate(sent_enabled, "video") == [True]

    guest.locator("#chat-input").fill("能看到影像吗？")
    guest.locator("#chat-input").press("Enter")
    expect(host.get_by_test_id("chat")).to_contain_text("能看到影像吗？")
    expect(guest.get_by_test_id("chat")).to_contain_text("能看到影像吗？")

    # Recording needs everyone's consent: refused first, then it runs and both see it.
    expect(guest.get_by_test_id("consent-prompt")).to_be_visible()
    host.get_by_test_id("record").click()
    expect(host.get_by_role("alert")).to_contain_text("尚有参会者未同意录制")
    host.get_by_test_id("consent-yes").click()
    guest.get_by_test_id("consent-yes").click()
    expect(guest.get_by_test_id("consent-given")).to_be_visible()
    expect(host.get_by_test_id("roster")).to_contain_text("同意录制")
    host.get_by_test_id("record").click()
    # The server peer's upstream offers were answered with each browser's media.
    for page in (host, guest):
        expect(page.get_by_test_id("recording")).to_be_visible(timeout=60_000)
    shot(guest, "video-recording")
    host.get_by_test_id("record").click()
    for page in (host, guest):
        expect(page.get_by_test_id("recording")).to_be_hidden(timeout=60_000)
    with live_server.api("specialist") as spec_api:
        recordings = spec_api.get(f"/rooms/{call.room_id}/recordings").json()
    assert len(recordings) == 1, recordings


def test_screen_share_and_reconnect_after_a_drop(call: Call) -> None:
    host, guest = call.host, call.guest
    # The camera is 4:3 on arrival.
    wait_for(guest, until("r.height > 0 && r.width / r.height < 1.5"), every=250)

    # Share: the host's senders carry the screen track, the guest decodes 16:9 frames.
    host.get_by_test_id("share").click()
    wait_for(host, SENDS, arg="screen", every=100)
    expect(host.get_by_test_id("share")).to_have_attribute("aria-pressed", "true")
    before = guest.evaluate(INBOUND)["frames"]
    wait_for(
        guest, until(f"r.frames > {before} && r.width / r.height > 1.7"), every=250, timeout=60_000
    )
    shot(guest, "video-screen-share")

    # Stop sharing: back to the camera on both ends.
    host.get_by_test_id("share").click()
    wait_for(host, SENDS, arg="camera", every=100)
    assert host.evaluate("window.__telemedRoom.screenTrack()") is None
    wait_for(guest, until("r.width / r.height < 1.5"), every=250, timeout=60_000)

    # Drop the guest's socket without a bye: it reconnects by itself with new connections.
    for page in (host, guest):
        page.evaluate("window.__oldPeers = new Set(window.__telemedPeers.values())")
    guest.evaluate("window.__telemedRoom.socket().close()")
    for page in (host, guest):
        wait_for(
            page,
            "[...window.__telemedPeers.values()].some((pc) => !window.__oldPeers.has(pc))",
            every=100,
        )
        wait_for(page, until("r.frames > 0"), every=250, timeout=60_000)
    expect(guest.get_by_test_id("connected")).to_be_attached()
    expect(guest.get_by_test_id("reconnecting")).to_have_count(0)
    assert guest.evaluate("window.__telemedRoom.drops") == 1
    # ... and frames keep coming on both sides.
    for page in (host, guest):
        frames = page.evaluate(INBOUND)["frames"]
        wait_for(page, until(f"r.frames > {frames}"), every=250)
    expect(host.get_by_test_id("remote-video")).to_have_count(1)
    shot(guest, "video-reconnected")


def test_rooms_are_opened_and_entered_from_the_consultation(
    new_page: Any, live_server: LiveServer, video: None
) -> None:
    with live_server.api("county-doctor") as county_api, live_server.api("specialist") as spec_api:
        specialist_id = spec_api.get("/auth/me").json()["id"]
        patient = county_api.get("/patients").json()[0]
        created = county_api.post(
            "/consultations",
            json={
                "patient_id": patient["id"],
                "service_class": "consultation",
                "urgency": "emergency",
                "summary": "男，64岁，胸痛3小时",
                "question": "请协助诊治",
                "wanted_specialty": "cardiology",
                "chosen_specialist_id": specialist_id,
                "override_reason": "指定专家（测试）",  # a named specialist: docs/routing.md
                "consent": {
                    "given_by": patient["name"],
                    "relationship": "self",
                    "method": "verbal",
                    "given_at": datetime.now(UTC).isoformat(),
                },
            },
        )
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        assert county_api.post(f"/consultations/{cid}/submit").is_success
        accepted = spec_api.post(f"/consultations/{cid}/accept")
        assert accepted.is_success, accepted.text

    spec = new_page()
    login(spec, "specialist")
    spec.goto(f"/#/consultations/{cid}")
    rooms = spec.get_by_test_id("consult-rooms")
    expect(rooms).to_contain_text("尚未开设视频会诊室")
    spec.get_by_test_id("create-room").click()
    enter = rooms.get_by_role("link", name="进入会诊室")
    expect(enter).to_have_count(1)
    shot(spec, "specialist-consultation-room")
    enter.click()
    spec.get_by_test_id("join").wait_for()

    county = new_page()
    login(county, "county-doctor")
    county.goto(f"/#/consultations/{cid}")
    expect(county.get_by_test_id("create-room")).to_have_count(0)  # it has its room already
    county.get_by_test_id("consult-rooms").get_by_role("link", name="进入会诊室").click()
    county.get_by_test_id("start-check").wait_for()


def _consultation(county_api: Any, spec_api: Any, **over: Any) -> tuple[str, dict[str, Any]]:
    """A request of the county doctor to the demo specialist, submitted and accepted."""
    specialist_id = spec_api.get("/auth/me").json()["id"]
    patient = county_api.get("/patients").json()[0]
    body = {
        "patient_id": patient["id"],
        "service_class": "consultation",
        "urgency": "emergency",
        "summary": "男，64岁，胸痛3小时",
        "question": "请协助判断是否需要急诊介入",
        "wanted_specialty": "cardiology",
        "chosen_specialist_id": specialist_id,
        "override_reason": "指定专家（测试）",
        "consent": {
            "given_by": patient["name"],
            "relationship": "self",
            "method": "verbal",
            "given_at": datetime.now(UTC).isoformat(),
        },
        **over,
    }
    created = county_api.post("/consultations", json=body)
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    assert county_api.post(f"/consultations/{cid}/submit").is_success
    accepted = spec_api.post(f"/consultations/{cid}/accept")
    assert accepted.is_success, accepted.text
    return cid, patient


def test_a_reading_request_offers_no_video_room(
    new_page: Any, live_server: LiveServer, video: None
) -> None:
    with live_server.api("county-doctor") as county_api, live_server.api("specialist") as spec_api:
        cid, _ = _consultation(
            county_api, spec_api, service_class="imaging_diagnosis", urgency="routine"
        )
        # The server refuses it too, with its own code.
        refused = spec_api.post("/rooms", json={"title": "影像", "consultation_id": cid})
        assert refused.status_code == 422 and refused.json()["code"] == "no_live_session"
    spec = new_page()
    login(spec, "specialist")
    spec.goto(f"/#/consultations/{cid}")
    spec.get_by_text("影像").first.wait_for()
    spec.get_by_text("请协助判断是否需要急诊介入").wait_for()
    expect(spec.get_by_test_id("consult-rooms")).to_have_count(0)
    expect(spec.get_by_test_id("create-room")).to_have_count(0)


def test_the_host_is_alerted_and_admits_from_the_top_with_the_consultation_in_view(
    media_browser: Any, live_server: LiveServer, video: None
) -> None:
    with live_server.api("county-doctor") as county_api, live_server.api("specialist") as spec_api:
        cid, patient = _consultation(county_api, spec_api)
        county_id = county_api.get("/auth/me").json()["id"]
        county_inst = county_api.get("/auth/me").json()["institution_id"]
        record = county_api.get(f"/patients/{patient['id']}").json()
        room = spec_api.post("/rooms", json={"title": "急诊会诊", "consultation_id": cid})
        assert room.status_code == 201, room.text
        room_id = room.json()["id"]
        hospital = county_api.get(f"/network/institutions/{county_inst}").json()["name_zh"]

    pages = []
    try:
        for username in ("specialist", "county-doctor"):
            ctx = media_browser.new_context(
                base_url=live_server.url, viewport={"width": 1366, "height": 768}
            )
            ctx.set_default_timeout(30_000)
            page = ctx.new_page()
            pages.append(page)
            login(page, username)
            page.goto(f"/#/room/{room_id}")
        host, guest = pages
        # The consultation's context: masked patient, age and sex, question, hospital, link.
        context = host.get_by_test_id("room-context")
        expect(context.get_by_test_id("room-patient")).to_contain_text(record["name"])
        expect(context.get_by_test_id("room-patient")).to_contain_text(record["resident_id_masked"])
        expect(context.get_by_test_id("room-patient")).to_contain_text(
            {"male": "男", "female": "女"}[record["sex"]]
        )
        expect(context.get_by_test_id("room-patient")).to_contain_text("岁")
        expect(context.get_by_test_id("room-question")).to_have_text("请协助判断是否需要急诊介入")
        expect(context.get_by_test_id("room-from")).to_have_text(hospital)
        assert context.get_by_test_id("room-consultation-link").get_attribute("href", timeout=5000)
        host.get_by_test_id("join").click()
        host.get_by_test_id("connected").wait_for(state="attached")
        title_before = host.title()
        host.evaluate("window.scrollTo(0, 0)")  # clicking join scrolled down to the button
        guest.get_by_test_id("join").click()
        guest.get_by_test_id("waiting").wait_for()
        # The host is told: a banner with the admit button on screen, the title, a tone.
        alert = host.get_by_test_id("waiting-list")
        expect(alert).to_be_in_viewport(ratio=1)
        expect(alert).to_contain_text("1 人在等候室")
        expect(host.get_by_test_id(f"admit-{county_id}")).to_be_in_viewport(ratio=1)
        assert host.evaluate("document.documentElement.scrollTop") == 0
        # ... and stays on screen when the host has scrolled down to the chat.
        host.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        assert host.evaluate("document.documentElement.scrollTop") > 0
        expect(host.get_by_test_id(f"admit-{county_id}")).to_be_in_viewport(ratio=1)
        host.evaluate("window.scrollTo(0, 0)")
        wait_for(host, "document.title.startsWith('(1) 有人等候进入')")
        assert title_before in host.title()
        wait_for(host, "(window.__telemedWaitingBeeps || 0) === 1")
        shot(host, "video-host-waiting-alert")
        host.get_by_test_id(f"admit-{county_id}").click()
        expect(host.get_by_test_id("waiting-list")).to_have_count(0)
        wait_for(host, f"document.title === {title_before!r}")
        host.get_by_test_id("room-consultation-link").click()
        host.wait_for_url(f"**/#/consultations/{cid}")
    finally:
        for page in pages:
            page.context.close()
