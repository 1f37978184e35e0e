"""A coordinator edits a weekly rule of their hospital's specialists (hours, capacity, the
family-doctor reserved share) and records leave. Skipped while the scheduling API is absent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e


def test_coordinator_edits_a_rule_and_records_leave(new_page: Any, live_server: LiveServer) -> None:
    paths = httpx.get(f"{live_server.url}/openapi.json").json()["paths"]
    if "/api/v1/schedules" not in paths:
        pytest.skip("the scheduling API is not in this build")
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
