"""The main story in two browsers: the county doctor requests an imaging diagnosis through
the wizard, the proposed specialist accepts it from the worklist, writes and signs the
opinion, and the county doctor reads it (signature verified) and acknowledges it.
Skipped while the consultations API is absent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e


@pytest.fixture
def consultations(live_server: LiveServer) -> None:
    paths = httpx.get(f"{live_server.url}/openapi.json").json()["paths"]
    if "/api/v1/consultations" not in paths:
        pytest.skip("the consultations API is not in this build")


def test_county_doctor_requests_and_specialist_signs_an_opinion(
    new_page: Any, live_server: LiveServer, consultations: None
) -> None:
    county = new_page()
    login(county, "county-doctor")
    county.get_by_test_id("nav-consultations").click()
    county.get_by_test_id("new-consultation").click()

    # Step 1: an existing patient of the county hospital.
    with live_server.api("county-doctor") as api:
        patient = api.get("/patients").json()[0]
    county.locator("#search-q").fill(patient["name"])
    county.get_by_test_id("search-submit").click()
    county.get_by_test_id("patient-results").get_by_role("button").first.click()
    county.get_by_test_id("chosen-patient").wait_for()

    # Submitting without consent is refused next to the checkbox, nothing typed is lost.
    county.locator("#c-class").select_option("imaging_diagnosis")
    county.locator("#c-specialty").select_option("radiology")
    county.get_by_label("加急").check()
    county.locator("#c-question").fill("请协助判断右肺上叶结节性质。")
    county.locator("#c-summary").fill("男，64岁，咳嗽伴胸痛2周。胸部CT示右肺上叶结节。")
    county.get_by_test_id("submit-consultation").click()
    expect(county.get_by_text("请先取得并确认患者的知情同意")).to_be_visible()
    assert county.locator("#c-question").input_value() == "请协助判断右肺上叶结节性质。"

    county.get_by_test_id("find-specialists").click()
    county.get_by_test_id("proposals").locator("li").nth(1).wait_for()
    shot(county, "county_doctor-consultation-wizard")
    county.get_by_test_id("consent").check()
    county.get_by_test_id("submit-consultation").click()
    county.wait_for_url("**/#/consultations/*")
    expect(county.get_by_test_id("consult-state")).to_have_text("待接收")
    consultation_id = county.url.rsplit("/", 1)[1]
    shot(county, "county_doctor-consultation-submitted")

    with live_server.api("county-doctor") as api:
        proposed = api.get(f"/consultations/{consultation_id}").json()["proposed_specialist_id"]
    specialist = None
    for name in ("specialist", "specialist2"):
        with live_server.api(name) as api:
            if api.get("/auth/me").json()["id"] == proposed:
                specialist = name
    assert specialist, "the proposal went to a specialist without a demo login"

    spec = new_page()
    login(spec, specialist)
    spec.get_by_test_id("nav-consultations").click()
    spec.get_by_test_id(f"open-{consultation_id}").click()
    shot(spec, "specialist-consultation-submitted")
    spec.get_by_test_id("action-accept").click()
    expect(spec.get_by_test_id("consult-state")).to_have_text("已接收")

    form = spec.get_by_test_id("opinion-form")
    form.locator("#op-findings").fill("右肺上叶尖段见一约8mm磨玻璃密度结节，边界清。")
    form.locator("#op-impression").fill("右肺上叶磨玻璃结节，良性可能性大")
    form.locator("#op-icd10").fill("R91, 12")
    spec.get_by_test_id("save-opinion").click()
    expect(form.locator("#op-icd10-error")).to_contain_text("12")
    form.locator("#op-icd10").fill("R91")
    form.locator("#op-rec").fill("建议3个月后复查低剂量胸部CT。")
    spec.get_by_test_id("save-opinion").click()
    expect(form.get_by_role("status")).to_be_visible()
    spec.on("dialog", lambda d: d.accept())
    spec.get_by_test_id("sign-opinion").click()
    spec.get_by_test_id("signed-opinion").wait_for()
    expect(spec.get_by_test_id("consult-state")).to_have_text("已出报告")
    shot(spec, "specialist-opinion-signed")

    county.reload()
    county.get_by_test_id("signed-opinion").wait_for()
    expect(county.get_by_test_id("verify")).to_have_text("签名验证通过")
    assert "R91" in county.get_by_test_id("signed-opinion").inner_text()
    county.get_by_test_id("action-close").click()
    expect(county.get_by_test_id("consult-state")).to_have_text("已完成")
    shot(county, "county_doctor-opinion-acknowledged")
