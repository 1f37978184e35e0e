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
    expect(row).to_contain_text("patient")
    expect(row).to_contain_text("neither of the patient's institution")  # the reason
    expect(row).to_contain_text(patient_id[:8])
    # (the filtered answer replaces the first page: wait for it, not for the first row)
    expect(page.locator("tbody tr:not([data-action='refused'])")).to_have_count(0)
    shot(page, "admin-audit-refused")

    # the county doctor's search was one list row naming the patient
    page.get_by_test_id("audit-action").select_option("read")
    page.locator("#audit-patient").press("Enter")
    expect(page.locator('tr[data-action="read"]').first).to_contain_text(patient_id[:8])
    assert page.locator("tbody tr:not([data-action='read'])").count() == 0
