"""Remote training in real Chromium on a phone-sized screen: a county doctor finds a published
course in the catalogue, enrols, and sees it among their courses with one place fewer; once
the lecture finished, they watch its recording and the position reached counts as watched."""

from __future__ import annotations

import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, create_engine

from telemed.training.models import Course, CourseStatus
from telemed.video.models import Recording, RecordingStatus
from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e


def _published(
    live_server: LiveServer, title: str, length: timedelta, **fields: Any
) -> tuple[str, str]:
    """A course of the coordinator's hospital by 张主任, in 3 days, published: (id, speaker)."""
    with live_server.api("coordinator") as coord:
        me = coord.get("/auth/me").json()
        staff = coord.get("/users", params={"institution_id": me["institution_id"]}).json()
        speaker_id = next(u["id"] for u in staff if u["full_name"] == "张主任")
        start = datetime.now(UTC) + timedelta(days=3)
        r = coord.post("/training/courses", json={
            "title": title, "speaker_id": speaker_id, "specialty_code": "cardiology",
            "starts_at": start.isoformat(), "ends_at": (start + length).isoformat(),
            "capacity": 30, **fields,
        })  # fmt: skip
        assert r.status_code == 201, r.text
        course_id = r.json()["id"]
        assert coord.post(f"/training/courses/{course_id}/transitions",
                          json={"action": "publish"}).status_code == 200  # fmt: skip
    return course_id, speaker_id


def test_a_county_doctor_enrols_in_a_published_course(
    new_page: Any, live_server: LiveServer
) -> None:
    course_id, _ = _published(live_server, "急性胸痛的基层识别", timedelta(hours=1),
                              target_tiers=["county", "township"], credits=1)  # fmt: skip

    page = new_page(phone=True)
    login(page, "county-doctor")
    page.goto("/#/training")
    item = page.locator(f'[data-course="{course_id}"]')
    expect(item).to_contain_text("急性胸痛的基层识别")
    expect(item).to_contain_text("余位 30/30")
    item.get_by_test_id("enrol").click()
    expect(item.get_by_test_id("enrolled")).to_be_visible()
    expect(item).to_contain_text("余位 29/30")
    expect(page.get_by_test_id("training-mine")).to_contain_text("急性胸痛的基层识别")
    shot(page, "training-enrolled-phone")
    with live_server.api("county-doctor") as doctor:
        mine = doctor.get("/training/enrolments").json()
        assert course_id in [e["course"]["id"] for e in mine]


def test_an_enrolled_doctor_watches_the_lecture_recording_and_the_watched_share_counts(
    new_page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    # A finished lecture whose room has a recording (a 12 s VP8 + Opus WebM made by ffmpeg;
    # recording one through Janus is tests/video/test_janus_lecture_recording.py).
    course_id, speaker_id = _published(live_server, "慢阻肺的基层随访（录像）",
                                       timedelta(minutes=1), target_tiers=["county"])  # fmt: skip
    with live_server.api("county-doctor") as doctor:
        assert doctor.post(f"/training/courses/{course_id}/enrolment").status_code == 201
    with live_server.api("coordinator") as coord:
        room_id = coord.post(f"/training/courses/{course_id}/room").json()["room_id"]
    video = tmp_path / "lecture.webm"
    made = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "12",
         "-c:v", "libvpx", "-b:v", "300k", "-c:a", "libopus", str(video)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    engine = create_engine(live_server.database_url)
    now = datetime.now(UTC)
    with Session(engine) as s:
        s.add(Recording(
            room_id=uuid.UUID(room_id), path=str(video), media_type="video/webm",
            status=RecordingStatus.FINISHED, started_by_id=uuid.UUID(speaker_id),
            started_at=now - timedelta(minutes=2), ended_at=now, duration_seconds=12.0,
            size_bytes=video.stat().st_size, retention_until=now + timedelta(days=30),
            check_status="ok",
        ))  # fmt: skip
        course = s.get(Course, uuid.UUID(course_id))
        assert course is not None
        course.status = CourseStatus.FINISHED
        s.add(course)
        s.commit()
    engine.dispose()

    page = new_page(phone=True)
    login(page, "county-doctor")
    page.goto("/#/training")
    item = page.locator(f'[data-enrolment="{course_id}"]')
    item.get_by_test_id("watch-recording").click()
    player = item.get_by_test_id("lecture-video")
    expect(player).to_be_visible()
    page.wait_for_function(
        "el => el.readyState >= 1 && el.duration > 11", arg=player.element_handle()
    )
    # Seek to 11 s and play (muted, as autoplay rules allow): the position is reported.
    player.evaluate("el => { el.muted = true; el.currentTime = 11; return el.play() }")
    expect(item).to_contain_text("已出席或观看 18%", timeout=15_000)  # 11 s of 60 s
    shot(page, "training-recording-phone")
    with live_server.api("county-doctor") as doctor:
        mine = doctor.get("/training/enrolments").json()
        watched = next(e for e in mine if e["course"]["id"] == course_id)["watched_seconds"]
        assert watched >= 11
