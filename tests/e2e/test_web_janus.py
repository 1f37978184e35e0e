"""Rooms on Janus in real Chromium (fake camera and microphone): an MDT of five, more than the
browser mesh holds, where every page decodes the other four through Janus; and a live lecture
where the presenter and two viewers (one on a phone-sized screen) see it, a viewer raises a
hand, the presenter lets them speak and their microphone reaches the presenter.

The app runs with Janus configured (a Janus from the Debian package, its API on a loopback
port the browsers reach directly: the app's CSP lists that origin in connect-src)."""

from __future__ import annotations

import math
import struct
import wave
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LiveServer, login, shot
from tests.e2e.test_web_video import wait_for
from tests.support import janus
from tests.support.uvicorn import serve

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

# Janus subscriptions of the page that decode video / receive audio energy, by connection key.
JANUS_INBOUND = """async () => {
  const out = { video: 0, audio: 0 }
  for (const [key, pc] of window.__telemedPeers.entries()) {
    if (!key.startsWith('janus-') || key === 'janus-publisher') continue
    const stats = await pc.getStats()
    let v = 0, a = 0
    stats.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') v = Math.max(v, s.framesDecoded || 0)
      if (s.type === 'inbound-rtp' && s.kind === 'audio') a = Math.max(a, s.totalAudioEnergy || 0)
    })
    if (v > 10) out.video += 1
    if (a > 0) out.audio += 1
  }
  return out
}"""


WIDTHS = "() => [...document.querySelectorAll('[data-testid=remote-video]')].map(v => v.videoWidth)"
ERRORS: list[str] = []  # uncaught errors of the pages of the running test


@pytest.fixture(scope="module")
def janus_app(live_server: LiveServer) -> Iterator[LiveServer]:
    """The app again, on the same database, with Janus configured."""
    server = janus.start()
    env = {
        **live_server.env,
        "TELEMED_ENV": "test",
        "TELEMED_VIDEO__JANUS_URL": server.url,
        "TELEMED_VIDEO__JANUS_ADMIN_URL": server.admin_url,
        "TELEMED_VIDEO__JANUS_API_SECRET": server.api_secret,
        "TELEMED_VIDEO__JANUS_ADMIN_SECRET": server.admin_secret,
        "TELEMED_VIDEO__JANUS_ROOM_ADMIN_KEY": server.room_admin_key,
    }
    try:
        with (ARTIFACTS / "server-janus.log").open("w") as log, serve(env, log) as url:
            yield LiveServer(url=url, database_url=live_server.database_url, env=env)
    finally:
        server.cleanup()


@pytest.fixture(scope="module")
def speaking_browser(playwright: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium whose fake microphone plays a continuous loud tone (the default fake beeps
    too briefly for Janus's audio-level detection: 50 packets above -40 dBov on average)."""
    wav = tmp_path_factory.mktemp("tone") / "tone.wav"
    rate = 48_000
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        tone = (int(16_000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(rate * 10))
        w.writeframes(b"".join(struct.pack("<h", v) for v in tone))
    b = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={wav}",
            "--disable-features=WebRtcHideLocalIpsWithMdns",
        ],
    )
    yield b
    b.close()


def _page(media_browser: Any, app: LiveServer, pages: list[Any], *, phone: bool = False) -> Any:
    viewport = {"width": 390, "height": 844} if phone else {"width": 1280, "height": 860}
    ctx = media_browser.new_context(viewport=viewport, locale="zh-CN", base_url=app.url)
    ctx.set_default_timeout(20_000)
    ctx.add_init_script("window.__janusEvents = []")
    page = ctx.new_page()
    page.on("pageerror", lambda exc: ERRORS.append(f"page {len(pages)}: {exc}"))
    pages.append(page)
    return page


def _enter(page: Any, user: str, room: str | None = None) -> None:
    login(page, user)
    if room is not None:
        page.goto(f"/#/room/{room}")
    page.get_by_test_id("join").click()


def _close(pages: list[Any], name: str) -> None:
    for i, p in enumerate(pages):
        shot(p, f"{name}-{i}")
    for p in pages:
        p.context.close()
    errors, ERRORS[:] = list(ERRORS), []
    assert not errors, errors


def test_an_mdt_of_five_sees_each_other_through_janus(
    media_browser: Any, janus_app: LiveServer
) -> None:
    guests = ["specialist2", "county-doctor", "pathologist", "ecg-reader"]
    ids = {}
    for u in guests:
        with janus_app.api(u) as c:
            ids[u] = c.get("/auth/me").json()["id"]
    start = datetime.now(UTC) + timedelta(minutes=5)
    with janus_app.api("specialist") as host_api:
        r = host_api.post("/rooms", json={
            "title": "MDT 肺结节", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(minutes=40)).isoformat(),
            "invited_user_ids": list(ids.values()), "max_participants": 5,
        })  # fmt: skip
        assert r.status_code == 201, r.text
        room = r.json()
        assert (room["mode"], room["max_participants"]) == ("janus", 5)
    pages: list[Any] = []
    try:
        host = _page(media_browser, janus_app, pages)
        _enter(host, "specialist", room["id"])
        expect(host.get_by_test_id("topology")).to_contain_text("Janus")
        for u in guests:
            page = _page(media_browser, janus_app, pages)
            _enter(page, u, room["id"])
            expect(page.get_by_test_id("waiting")).to_be_visible()
            host.get_by_test_id(f"admit-{ids[u]}").click()
        for page in pages:
            wait_for(page, f"async () => (await ({JANUS_INBOUND})()).video >= 4", timeout=120_000)
            expect(page.get_by_test_id("remote-video")).to_have_count(4)
            sizes = page.evaluate(WIDTHS)
            assert all(w > 0 for w in sizes), sizes
        # The host sends simulcast layers where Chromium can (VP8).
        layers = host.evaluate("""async () => {
            const pc = window.__telemedPeers.get('janus-publisher')
            const stats = await pc.getStats(); let n = 0
            stats.forEach((s) => { if (s.type === 'outbound-rtp' && s.kind === 'video') n += 1 })
            return n }""")
        assert layers >= 2, layers
    finally:
        _close(pages, "janus-mdt")


def test_a_live_lecture_with_a_raised_hand_granted(
    speaking_browser: Any, janus_app: LiveServer
) -> None:
    media_browser = speaking_browser
    start = datetime.now(UTC) + timedelta(minutes=5)
    with janus_app.api("specialist") as sp:
        speaker_id = sp.get("/auth/me").json()["id"]
    with janus_app.api("admin") as admin:
        r = admin.post("/training/courses", json={
            "title": "基层胸痛中心直播课", "speaker_id": speaker_id, "specialty_code": "cardiology",
            "target_tiers": ["county", "township"], "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(), "capacity": 30,
        })  # fmt: skip
        assert r.status_code == 201, r.text
        course_id = r.json()["id"]
        assert admin.post(f"/training/courses/{course_id}/transitions",
                          json={"action": "publish"}).status_code == 200  # fmt: skip
    viewers = ["county-doctor", "family-doctor"]
    for u in viewers:
        with janus_app.api(u) as c:
            assert c.post(f"/training/courses/{course_id}/enrolment").status_code == 201
    with janus_app.api("specialist2") as other:  # not enrolled: no way in
        assert other.post(f"/training/courses/{course_id}/room").status_code == 403
    pages: list[Any] = []
    try:
        presenter = _page(media_browser, janus_app, pages)
        login(presenter, "specialist")
        presenter.goto("/#/training")
        presenter.locator(f'[data-course="{course_id}"]').get_by_test_id("go-live").click()
        presenter.get_by_test_id("join").click()
        expect(presenter.get_by_test_id("lecture")).to_be_visible()
        vpages = []
        for i, u in enumerate(viewers):
            page = _page(media_browser, janus_app, pages, phone=i == 1)
            login(page, u)
            page.goto("/#/training")
            page.locator(f'[data-course="{course_id}"]').get_by_test_id("enter-lecture").click()
            page.get_by_test_id("join").click()
            vpages.append(page)
        for page in vpages:
            wait_for(page, f"async () => (await ({JANUS_INBOUND})()).video >= 1", timeout=90_000)
            assert page.evaluate("() => window.__telemedPeers.has('janus-publisher')") is False
        # The presenter's microphone (Chromium's fake beep) makes Janus name them the active
        # speaker: the viewers outline the presenter's tile.
        try:
            wait_for(vpages[0], "() => !!document.querySelector('[data-speaking=true]')",
                     timeout=30_000)  # fmt: skip
        except AssertionError:
            print(vpages[0].evaluate("() => JSON.stringify(window.__janusEvents)")[:3000])
            raise
        # Viewers publish nothing: the presenter has no subscription yet.
        assert presenter.evaluate(f"async () => (await ({JANUS_INBOUND})()).audio") == 0
        asker = vpages[1]  # the phone
        asker.get_by_test_id("raise-hand").click()
        hands = presenter.get_by_test_id("hands")
        expect(hands).to_contain_text("赵家庭医生")
        with janus_app.api("family-doctor") as fd:
            asker_id = fd.get("/auth/me").json()["id"]
        presenter.get_by_test_id(f"let-speak-{asker_id}").click()
        expect(asker.get_by_test_id("mic-live")).to_be_visible()
        wait_for(presenter, f"async () => (await ({JANUS_INBOUND})()).audio >= 1", timeout=60_000)
        shot(asker, "janus-lecture-phone-speaking")
        presenter.get_by_test_id(f"take-back-{asker_id}").click()
        expect(asker.get_by_test_id("mic-live")).to_have_count(0)
        expect(asker.get_by_test_id("raise-hand")).to_be_visible()
        # Attendance came from the room.
        with janus_app.api("county-doctor") as cd:
            mine = cd.get("/training/enrolments").json()
        assert any(e["course"]["id"] == course_id for e in mine)
    finally:
        _close(pages, "janus-lecture")
