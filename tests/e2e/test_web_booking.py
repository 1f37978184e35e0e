"""A patient books a slot in the browser: search earliest first, hold, confirm, see it in
my appointments, fetch the .ics, cancel."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _shanghai_day(*, days_ahead: int) -> str:
    return (datetime.now(SHANGHAI) + timedelta(days=days_ahead)).strftime("%Y-%m-%d")


@pytest.fixture
def scheduling(live_server: LiveServer) -> None:
    paths = live_server.paths()
    if "/api/v1/slots" not in paths:
        pytest.fail("the scheduling API is not in this build")


# Each group as the page shows it: doctor line, where line, day, and its time buttons.
GROUPS = """() => [...document.querySelectorAll('[data-testid=slot-group]')].map((g) => ({
  doctor: g.querySelector('.group-doctor').innerText,
  where: g.querySelector('.group-where').innerText,
  day: g.querySelector('.slot-day').innerText,
  times: [...g.querySelectorAll('.times button')].map((b) => b.innerText.trim()),
  ids: [...g.querySelectorAll('.times button')].map((b) => b.dataset.testid.slice(5)),
}))"""

# The page scrolls sideways when its content is wider than the screen.
OVERFLOW = """() => ({
  doc: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  wide: [...document.querySelectorAll('main *')]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
    .map((e) => e.tagName + '.' + e.className).slice(0, 5),
})"""


def _in_viewport(page: Any, test_id: str) -> bool:
    return bool(
        page.evaluate(
            """(id) => {
            const r = document.querySelector(`[data-testid=${id}]`).getBoundingClientRect()
            return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0 }""",
            test_id,
        )
    )


def _assert_no_sideways_scroll(page: Any) -> None:
    found = page.evaluate(OVERFLOW)
    assert found["doc"] <= 0, found


def test_patient_books_a_slot_on_a_phone_and_manages_it(
    new_page: Any, live_server: LiveServer, scheduling: None
) -> None:
    page = new_page(phone=True)
    login(page, "patient")
    page.goto("/#/book")
    groups = page.get_by_test_id("slot-group")
    groups.first.wait_for()
    # Far enough ahead that a patient may still cancel online.
    page.locator("#f-date").fill(_shanghai_day(days_ahead=2))
    with page.expect_response(lambda r: "/api/v1/slots?" in r.url) as answer:
        page.get_by_test_id("slot-search").click()
    found = answer.value.json()
    expect(groups.first).to_be_visible()
    shown = page.evaluate(GROUPS)
    days = [g["day"] for g in shown]
    assert all(d >= _shanghai_day(days_ahead=2) for d in days), days
    assert days == sorted(days), "groups are earliest first"
    # Grouped by doctor and day: every slot of the answer once, in its doctor's group of its
    # day, with the doctor's name and title and the hospital and fee above the times.
    by_id = {s["id"]: s for s in found}
    assert sorted(i for g in shown for i in g["ids"]) == sorted(by_id)
    for g in shown:
        members = [by_id[i] for i in g["ids"]]
        assert len({(m["specialist_id"], m["service_class"]) for m in members}) == 1, g
        first = members[0]
        assert first["specialist_name"] in g["doctor"]
        assert first["institution_name"] in g["where"]
        if first.get("fee_cents"):
            assert f"挂号费 {first['fee_cents'] // 100}" in g["where"], g
        starts = [datetime.fromisoformat(m["start_at"]).astimezone(SHANGHAI) for m in members]
        assert {d.strftime("%Y-%m-%d") for d in starts} == {g["day"]}
        assert g["times"] == [d.strftime("%H:%M") for d in starts]
    assert len(shown) < len(found), "a doctor's times of one day share one card"
    assert any("医师" in g["doctor"] for g in shown), "the doctor's title is shown"
    _assert_no_sideways_scroll(page)
    shot(page, "patient-book-search")

    # The first doctor-day whose first time this patient can hold: other tests of the run
    # book as the same patient, and a time they already have is refused (person_overlap).
    held = page.get_by_test_id("held")
    for group in shown[:6]:
        page.get_by_test_id(f"hold-{group['ids'][0]}").click()
        try:
            held.wait_for(timeout=10_000)
            break
        except PlaywrightTimeoutError:
            continue
    else:
        raise AssertionError("no time of the search could be held")
    when = f"{group['day']} {group['times'][0]}"
    assert when in held.inner_text()
    shot(page, "patient-book-held")
    page.get_by_test_id("confirm-booking").click()
    page.get_by_test_id("booked").wait_for()
    assert when in page.get_by_test_id("booked").inner_text()

    page.get_by_test_id("booked").get_by_role("link").click()
    items = page.get_by_test_id("appointments").locator("li[data-status='booked']")
    items.first.wait_for()
    # On the first render, not after a later fill-in: doctor, department, fee and hospital.
    first_render = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=appointments] li')].map((li) =>
          ['hospital', 'doctor', 'department', 'fee'].map((k) =>
            li.querySelector(`[data-testid=appointment-${k}]`)?.innerText ?? ''))"""
    )
    assert first_render and all(all(part.strip() for part in row) for row in first_render), (
        first_render
    )
    item = items.filter(has_text=when)
    expect(item).to_have_count(1)
    slot = by_id[group["ids"][0]]
    expect(item.get_by_test_id("appointment-hospital")).to_have_text(slot["institution_name"])
    expect(item.get_by_test_id("appointment-doctor")).to_contain_text(slot["specialist_name"])
    expect(item.get_by_test_id("appointment-department")).to_contain_text("科室：")
    expect(item.get_by_test_id("appointment-fee")).to_contain_text(
        f"{slot['fee_cents'] // 100} 元" if slot.get("fee_cents") else "未定价"
    )
    _assert_no_sideways_scroll(page)
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


def test_a_hold_far_down_a_long_list_is_confirmed_where_the_patient_is_on_a_phone(
    new_page: Any, live_server: LiveServer, scheduling: None
) -> None:
    page = new_page(phone=True)
    login(page, "patient")
    page.goto("/#/book")
    buttons = page.get_by_test_id("slots").locator(".times button")
    buttons.first.wait_for()
    for _ in range(3):  # a long list: four pages of slots
        more = page.get_by_role("button", name="更多号源")
        if not more.count():
            break
        n = buttons.count()
        more.click()
        expect(buttons).not_to_have_count(n)
    last = buttons.last
    last.scroll_into_view_if_needed()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 1500, f"the list is long enough to test: scrolled {scrolled} px"
    last.click()
    held = page.get_by_test_id("held")
    held.wait_for()
    # The confirm card is on screen where the patient is, the list not scrolled away.
    assert _in_viewport(page, "held"), held.bounding_box()
    assert _in_viewport(page, "confirm-booking")
    assert abs(page.evaluate("window.scrollY") - scrolled) < 200
    countdown = page.get_by_test_id("hold-countdown")
    expect(countdown).to_have_text(re.compile(r"剩余 \d+:\d\d"))
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=5_000)  # it counts down
    _assert_no_sideways_scroll(page)
    shot(page, "patient-book-held-far-down")
    page.get_by_test_id("confirm-booking").click()
    expect(page.get_by_test_id("booked")).to_be_in_viewport()


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
    slot_id = (
        slots.first.get_by_role("button").first.get_attribute("data-testid").removeprefix("hold-")
    )
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
