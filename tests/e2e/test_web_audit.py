"""The admin's audit log in real Chromium: a refused attempt and a list read, filtered."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e


def test_the_audit_log_shows_a_refused_attempt_with_its_reason(
    new_page: Any, live_server: LiveServer
) -> None:
    with live_server.api("county-doctor") as county:
        found = county.get("/patients", params={"q": "巴特尔"})
        assert found.status_code == 200, found.text
        patient_id = found.json()[0]["id"]
    # a specialist of another hospital, taking part in nothing of this patient's
    with live_server.api("specialist2") as outsider:
        assert outsider.get(f"/patients/{patient_id}").status_code == 404

    page = new_page()
    login(page, "admin")
    page.goto("/#/audit")
    page.get_by_test_id("audit-table").wait_for()
    page.get_by_test_id("audit-action").select_option("refused")
    page.locator("#audit-patient").fill(patient_id)
    page.locator("#audit-patient").press("Enter")
    row = page.locator('tr[data-action="refused"]').first
    expect(row.get_by_test_id("audit-object-cell")).to_contain_text("患者")  # not "patient"
    expect(row).to_contain_text("neither of the patient's institution")  # the reason
    expect(row.get_by_test_id("audit-object-id")).to_have_text(patient_id)  # whole
    expect(row.get_by_test_id("audit-actor-cell")).to_contain_text("刘主任 · 专家")
    # (the filtered answer replaces the first page: wait for it, not for the first row)
    expect(page.locator("tbody tr:not([data-action='refused'])")).to_have_count(0)
    shot(page, "admin-audit-refused")

    # the county doctor's search was one list row naming the patient
    page.get_by_test_id("audit-action").select_option("read")
    page.locator("#audit-patient").press("Enter")
    expect(page.locator('tr[data-action="read"]').first).to_contain_text(patient_id)
    assert page.locator("tbody tr:not([data-action='read'])").count() == 0


def test_the_audit_log_names_actors_and_filters_by_pickers(
    new_page: Any, live_server: LiveServer
) -> None:
    with live_server.api("county-doctor") as county:
        me = county.get("/auth/me").json()
        patient_id = county.get("/patients", params={"q": "巴特尔"}).json()[0]["id"]
        assert county.get(f"/patients/{patient_id}").status_code == 200
    with live_server.api("admin") as admin:
        hospital = admin.get(f"/network/institutions/{me['institution_id']}").json()

    page = new_page()
    login(page, "admin")
    page.goto("/#/audit")
    page.get_by_test_id("audit-table").wait_for()
    # the filters are pickers in Chinese, no internal names to type
    actions = page.get_by_test_id("audit-action").locator("option").all_inner_texts()
    assert "查看" in actions and "read" not in actions
    types = page.get_by_test_id("audit-type").locator("option").all_inner_texts()
    assert "患者" in types and "家庭病床" in types and "patient" not in types
    page.get_by_test_id("audit-action").select_option("read")
    page.get_by_test_id("audit-type").select_option("patient")
    page.get_by_test_id("audit-actor").fill("李医")
    with page.expect_response(lambda r: "/api/v1/audit?" in r.url and "actor=" in r.url) as resp:
        page.get_by_test_id("audit-apply").click()
    assert resp.value.ok
    others = page.get_by_test_id("audit-actor-cell").filter(has_not_text=me["full_name"])
    expect(others).to_have_count(0)
    first = page.locator('tbody tr[data-action="read"]').first
    expect(first.get_by_test_id("audit-actor-cell")).to_have_text(
        f"{me['full_name']} · 县级医生 · {hospital['name_zh']}"
    )
    expect(first.get_by_test_id("audit-action-cell")).to_have_text("查看")
    ids = page.get_by_test_id("audit-object-id").all_inner_texts()
    assert patient_id in ids  # whole ids, not 8 characters

    # a Beijing-day range: today finds the read, a day in the past nothing; reversed: refused
    today = page.evaluate(
        "() => new Intl.DateTimeFormat('en-CA', {timeZone: 'Asia/Shanghai'}).format(new Date())"
    )
    page.get_by_test_id("audit-from").fill(today)
    page.get_by_test_id("audit-until").fill(today)
    page.get_by_test_id("audit-apply").click()
    expect(page.get_by_test_id("audit-object-id").first).to_be_visible()
    page.get_by_test_id("audit-from").fill("2020-01-01")
    page.get_by_test_id("audit-until").fill("2020-01-02")
    page.get_by_test_id("audit-apply").click()
    # none of today's rows (other stories may write rows dated as their own clocks say)
    expect(page.get_by_test_id("audit-object-id").filter(has_text=patient_id)).to_have_count(0)
    page.get_by_test_id("audit-until").fill("2019-12-31")
    page.get_by_test_id("audit-apply").click()
    expect(page.locator("#audit-range-error")).to_have_text("截止日期不能早于起始日期")
    expect(page.get_by_test_id("audit-until")).to_have_attribute("aria-invalid", "true")
    shot(page, "admin-audit-filters")

    # on a phone the rows are cards, each value under its column's name, no sideways scroll
    phone = new_page(phone=True)
    login(phone, "admin")
    phone.goto("/#/audit")
    phone.get_by_test_id("audit-table").wait_for()
    cell = phone.get_by_test_id("audit-actor-cell").first
    expect(cell).to_have_attribute("data-label", "操作者")
    label = cell.evaluate("el => getComputedStyle(el, '::before').content")
    assert "操作者" in label
    assert phone.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    shot(phone, "admin-audit-phone")
