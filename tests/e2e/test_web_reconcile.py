"""The reconciliation page: a doctor of the sending hospital assigns an unmatched study to a
patient, with the DICOM demographics beside ours and a warning where they disagree."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.dicom.conftest import multipart_related
from tests.e2e.conftest import LiveServer, login, shot
from tests.support.dicom_files import ct_series, to_bytes

pytestmark = pytest.mark.e2e


def _stow_unmatched(live_server: LiveServer, **attrs: str) -> str:
    datasets = ct_series(2, size=16, **attrs)
    body, ctype = multipart_related([to_bytes(d) for d in datasets])
    r = httpx.post(
        f"{live_server.url}/dicom-web/studies",
        content=body,
        headers={
            "Authorization": f"Bearer {live_server.token('county-doctor')}",
            "Content-Type": ctype,
            "Accept": "application/dicom+json",
        },
        timeout=60,
    )
    assert r.status_code == 200, r.text
    return str(datasets[0].StudyInstanceUID)


def _assign_on_page(page: Any, study_uid: str, patient_name: str) -> None:
    page.get_by_test_id(f"choose-{study_uid}").click()
    panel = page.get_by_test_id("assign-panel")
    panel.locator("#search-q").fill(patient_name)
    panel.get_by_test_id("search-submit").click()
    panel.get_by_test_id("patient-results").get_by_role("button").first.click()
    panel.get_by_test_id("compare").wait_for()


def test_county_doctor_assigns_an_unmatched_study_and_sees_the_mismatch(
    new_page: Any, live_server: LiveServer
) -> None:
    paths = live_server.paths()
    assert "/api/v1/dicom/reconciliation" in paths, "the reconciliation API is missing"
    with live_server.api("county-doctor") as api:
        patient = api.get("/patients").json()[0]
    tag = uuid.uuid4().hex[:6].upper()
    uid = _stow_unmatched(
        live_server,
        patient_name=f"WANG^FANG{tag}",
        patient_id=f"CT-{tag}",
        patient_sex="F",
        patient_birth_date="19700101",
    )

    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-reconcile").click()
    row = page.get_by_test_id(f"unmatched-{uid}")
    expect(row).to_contain_text(f"WANG^FANG{tag}")
    expect(row).to_contain_text("1970-01-01")
    _assign_on_page(page, uid, patient["name"])
    warning = page.get_by_test_id("mismatch-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("姓名")
    expect(warning).to_contain_text("性别")
    expect(warning).to_contain_text("出生日期")
    expect(page.get_by_test_id("compare-name")).to_contain_text(patient["name"])
    expect(page.get_by_test_id("assign-submit")).to_be_disabled()  # must confirm first
    shot(page, "county_doctor-reconcile-mismatch")
    page.get_by_test_id("confirm-mismatch").check()
    page.get_by_test_id("assign-submit").click()
    expect(page.get_by_test_id("assigned")).to_be_visible()
    expect(page.get_by_test_id(f"unmatched-{uid}")).to_have_count(0)
    with live_server.api("county-doctor") as api:
        assert api.get(f"/studies/{uid}").json()["patient_id"] == patient["id"]


def test_reconciliation_on_a_phone_in_english(new_page: Any, live_server: LiveServer) -> None:
    with live_server.language_restored("county-doctor"):
        _reconcile_on_a_phone_in_english(new_page, live_server)


def _reconcile_on_a_phone_in_english(new_page: Any, live_server: LiveServer) -> None:
    paths = live_server.paths()
    assert "/api/v1/dicom/reconciliation" in paths, "the reconciliation API is missing"
    with live_server.api("county-doctor") as api:
        patient = api.get("/patients").json()[0]
    tag = uuid.uuid4().hex[:6].upper()
    uid = _stow_unmatched(live_server, patient_name=f"LI^MING{tag}", patient_id=f"PH-{tag}")
    page = new_page(phone=True)
    login(page, "county-doctor")
    page.evaluate("localStorage.setItem('telemed.locale', 'en')")
    page.goto("/#/reconcile")
    page.reload()
    _assign_on_page(page, uid, patient["name"])
    warning = page.get_by_test_id("mismatch-warning")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text("name")
    box = page.get_by_test_id("assign-panel").bounding_box()
    assert box is not None and box["width"] <= 390
    shot(page, "county_doctor-reconcile-phone-en")
