"""Remote training in real Chromium on a phone-sized screen: a county doctor finds a published
course in the catalogue, enrols, and sees it among their courses with one place fewer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e


def test_a_county_doctor_enrols_in_a_published_course(
    new_page: Any, live_server: LiveServer
) -> None:
    with live_server.api("coordinator") as coord:
        me = coord.get("/auth/me").json()
        staff = coord.get("/users", params={"institution_id": me["institution_id"]}).json()
        speaker_id = next(u["id"] for u in staff if u["full_name"] == "张主任")
        start = datetime.now(UTC) + timedelta(days=3)
        r = coord.post("/training/courses", json={
            "title": "急性胸痛的基层识别", "speaker_id": speaker_id,
            "specialty_code": "cardiology", "target_tiers": ["county", "township"],
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "capacity": 30, "credits": 1,
        })  # fmt: skip
        assert r.status_code == 201, r.text
        course_id = r.json()["id"]
        assert coord.post(f"/training/courses/{course_id}/transitions",
                          json={"action": "publish"}).status_code == 200  # fmt: skip

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
