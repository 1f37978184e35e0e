"""A coordinator edits a weekly rule of their hospital's specialists (hours, capacity, the
family-doctor reserved share) and records leave."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e


def test_coordinator_edits_a_rule_and_records_leave(new_page: Any, live_server: LiveServer) -> None:
    paths = live_server.paths()
    if "/api/v1/schedules" not in paths:
        pytest.fail("the scheduling API is not in this build")
    page = new_page()
    login(page, "coordinator")
    page.goto("/#/schedules")
    rules = page.get_by_test_id("rules").locator("li[data-active='true']")
    rules.first.wait_for()
    shot(page, "coordinator-schedules")
    # The last rule: the Thursday MDT, which no other test books.
    rule = rules.last
    rule.get_by_test_id("rule-edit").click()
    rule.get_by_test_id("reserved").fill("40")
    rule.get_by_test_id("rule-save").click()
    expect(rule.get_by_test_id("saved")).to_be_visible()
    expect(rule).to_contain_text("40%")

    day = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=20)).strftime("%Y-%m-%d")
    rule.get_by_test_id("rule-leave").click()
    rule.get_by_test_id("leave-from").fill(day)
    rule.locator("input").nth(4).fill("外出会议")
    with page.expect_response(lambda r: "/schedules/exceptions" in r.url) as resp:
        rule.get_by_test_id("leave-save").click()
    assert resp.value.status == 201, resp.value.text()
    expect(rule.get_by_test_id("saved")).to_be_visible()
    shot(page, "coordinator-schedules-saved")


def test_coordinator_creates_a_rule_and_an_extra_session_whose_slots_are_bookable(
    new_page: Any, live_server: LiveServer
) -> None:
    paths = live_server.paths()
    if "/api/v1/schedules" not in paths:
        pytest.fail("the scheduling API is not in this build")
    shanghai = ZoneInfo("Asia/Shanghai")
    page = new_page()
    login(page, "coordinator")
    page.goto("/#/schedules")
    page.get_by_test_id("rules").locator("li[data-active='true']").first.wait_for()

    # Sunday evenings 18:00-20:00: no demo rule is there.
    page.get_by_test_id("rule-new").click()
    form = page.get_by_test_id("rule-form")
    form.get_by_test_id("nr-save").click()  # empty: refused in the browser, next to the fields
    expect(form.locator("#nr-specialist-error")).to_be_visible()
    expect(form.locator("#nr-weekdays-error")).to_be_visible()
    specialist = form.get_by_test_id("nr-specialist")
    specialist.locator("option").nth(1).wait_for(state="attached")
    specialist_id = specialist.locator("option").nth(1).get_attribute("value")
    assert specialist_id
    specialist.select_option(specialist_id)
    form.get_by_test_id("nr-class").select_option("consultation")
    form.get_by_test_id("nr-day-6").check()
    form.get_by_test_id("nr-start").fill("18:00")
    form.get_by_test_id("nr-end").fill("20:00")
    form.get_by_test_id("nr-minutes").fill("30")
    form.get_by_test_id("nr-capacity").fill("2")
    form.get_by_test_id("nr-reserved").fill("50")
    form.get_by_test_id("nr-release").fill("24")
    shot(page, "coordinator-schedules-new-rule")
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/schedules") and r.request.method == "POST"
    ) as resp:
        form.get_by_test_id("nr-save").click()
    assert resp.value.status == 201, resp.value.text()
    rule_id = resp.value.json()["id"]
    expect(page.get_by_test_id("rule-created")).to_be_visible()
    rule = page.get_by_test_id("rules").locator("li", has_text="18:00–20:00")
    expect(rule).to_have_count(1)
    expect(rule).to_contain_text("50%")

    # The same hours again overlap: the API's 409 is shown at the hours, input kept.
    page.get_by_test_id("rule-new").click()
    form.get_by_test_id("nr-specialist").select_option(specialist_id)
    form.get_by_test_id("nr-day-6").check()
    form.get_by_test_id("nr-start").fill("19:00")
    form.get_by_test_id("nr-end").fill("21:00")
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/schedules") and r.request.method == "POST"
    ) as resp:
        form.get_by_test_id("nr-save").click()
    assert resp.value.status == 409, resp.value.text()
    expect(form.locator("#nr-start-error")).to_contain_text("重叠")
    assert form.get_by_test_id("nr-start").input_value() == "19:00"
    shot(page, "coordinator-schedules-overlap")

    # An extra session on a day the rule does not run (not a Sunday), 12:00-13:00.
    day = datetime.now(shanghai).date() + timedelta(days=9)
    if day.weekday() == 6:
        day += timedelta(days=1)
    rule.get_by_test_id("rule-extra").click()
    rule.get_by_test_id("extra-day").fill(day.isoformat())
    rule.get_by_test_id("extra-start").fill("12:00")
    rule.get_by_test_id("extra-end").fill("13:00")
    with page.expect_response(lambda r: "/schedules/exceptions" in r.url) as resp:
        rule.get_by_test_id("extra-save").click()
    assert resp.value.status == 201, resp.value.text()
    assert resp.value.json()["kind"] == "extra"
    expect(rule.get_by_test_id("saved")).to_be_visible()
    shot(page, "coordinator-schedules-extra")

    # The new slots are in the search: the Sunday evenings and the extra session.
    with live_server.api("coordinator") as api:
        r = api.get(
            "/slots",
            params={"specialist_id": specialist_id, "service_class": "consultation", "limit": 200},
        )
        assert r.status_code == 200, r.text
        starts = [datetime.fromisoformat(s["start_at"]).astimezone(shanghai) for s in r.json()]
    sundays = [s for s in starts if s.weekday() == 6 and s.strftime("%H:%M") in ("18:00", "19:30")]
    assert sundays, starts
    extra = sorted(s.strftime("%H:%M") for s in starts if s.date() == day and s.hour == 12)
    assert extra == ["12:00", "12:30"], starts
    with live_server.api("coordinator") as api:
        assert api.get(f"/schedules/{rule_id}").json()["reserved_share"] == 0.5
