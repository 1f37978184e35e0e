"""A patient books a slot in the browser: search earliest first, hold, confirm, see it in
my appointments, fetch the .ics, cancel. Skipped while the scheduling API is absent."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _shanghai_day(*, days_ahead: int) -> str:
    return (datetime.now(SHANGHAI) + timedelta(days=days_ahead)).strftime("%Y-%m-%d")


@pytest.fixture
def scheduling(live_server: LiveServer) -> None:
    paths = httpx.get(f"{live_server.url}/openapi.json").json()["paths"]
    if "/api/v1/slots" not in paths:
        pytest.skip("the scheduling API is not in this build")


def test_patient_books_a_slot_on_a_phone_and_manages_it(
    new_page: Any, live_server: LiveServer, scheduling: None
) -> None:
    page = new_page(phone=True)
    login(page, "patient")
    page.goto("/#/book")
    slots = page.get_by_test_id("slots").locator("li")
    slots.first.wait_for()
    # Far enough ahead that a patient may still cancel online.
    page.locator("#f-date").fill(_shanghai_day(days_ahead=2))
    with page.expect_response(lambda r: "/api/v1/slots?" in r.url):
        page.get_by_test_id("slot-search").click()
    times = slots.locator(".slot-time").all_inner_texts()
    assert all(t >= _shanghai_day(days_ahead=2) for t in times), times
    assert times == sorted(times), "slots are earliest first"
    shot(page, "patient-book-search")

    first = slots.first
    when = first.locator(".slot-time").inner_text()
    first.get_by_role("button").click()
    held = page.get_by_test_id("held")
    held.wait_for()
    assert when in held.inner_text()
    shot(page, "patient-book-held")
    page.get_by_test_id("confirm-booking").click()
    page.get_by_test_id("booked").wait_for()
    assert when in page.get_by_test_id("booked").inner_text()

    page.get_by_test_id("booked").get_by_role("link").click()
    items = page.get_by_test_id("appointments").locator("li[data-status='booked']")
    expect(items.filter(has_text=when)).to_have_count(1)
    item = items.filter(has_text=when)
    with page.expect_download() as dl:
        item.get_by_test_id("ics").click()
    body = open(dl.value.path(), encoding="utf-8").read()
    assert "BEGIN:VCALENDAR" in body and "BEGIN:VEVENT" in body
    shot(page, "patient-appointments")

    item.get_by_test_id("cancel").click()
    item.locator("input").fill("行程有变")
    item.get_by_test_id("cancel-confirm").click()
    expect(
        page.get_by_test_id("appointments").locator("li[data-status='cancelled']")
    ).not_to_have_count(0)
    shot(page, "patient-appointments-cancelled")


def test_a_slot_taken_meanwhile_is_refused_in_the_users_language(
    new_page: Any, live_server: LiveServer, scheduling: None
) -> None:
    page = new_page()
    login(page, "patient")
    page.goto("/#/book")
    page.locator("#f-class").select_option("outpatient")
    slots = page.get_by_test_id("slots").locator("li")
    slots.first.wait_for()
    # Someone else takes every place of the first slot shown, behind the page's back.
    slot_id = slots.first.get_by_role("button").get_attribute("data-testid").removeprefix("hold-")
    with live_server.api("family-doctor") as fd, live_server.api("county-doctor") as cd:
        taken = False
        for client in (cd, fd):
            r = client.post("/bookings", json={"slot_id": slot_id})
            taken = taken or r.status_code == 201
    if not taken:
        pytest.skip("no staff account could take the slot in this seed")
    page.get_by_test_id(f"hold-{slot_id}").click()
    banner = page.locator(".banner.error")
    banner.wait_for()
    assert "约满" in banner.inner_text()
