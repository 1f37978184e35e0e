"""The main story in two browsers: the county doctor requests an imaging diagnosis through
the wizard, the proposed specialist accepts it from the worklist, writes and signs the
opinion, and the county doctor reads it (signature verified) and acknowledges it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e


@pytest.fixture
def consultations(live_server: LiveServer) -> None:
    paths = live_server.paths()
    if "/api/v1/consultations" not in paths:
        pytest.fail("the consultations API is not in this build")


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
    # the ICD-10 combobox: a Chinese name finds the code, arrow down + Enter picks it
    icd = form.locator("#op-icd10")
    icd.fill("R91, ")
    icd.press_sequentially("高血压")
    expect(icd).to_have_attribute("aria-expanded", "true")
    listbox = spec.get_by_role("listbox")
    expect(listbox.get_by_role("option").first).to_contain_text("I10")
    expect(listbox.get_by_role("option").first).to_contain_text("特发性（原发性）高血压")
    shot(spec, "specialist-icd10-search")
    icd.press("ArrowDown")
    expect(listbox.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    icd.press("Enter")
    expect(icd).to_have_value("R91, I10")
    expect(icd).to_have_attribute("aria-expanded", "false")
    form.locator("#op-rec").fill("建议3个月后复查低剂量胸部CT。")
    spec.get_by_test_id("save-opinion").click()
    expect(form.get_by_role("status")).to_be_visible()
    spec.get_by_test_id("sign-opinion").click()
    # signing asks for the password in a dialog: a wrong one is refused there, nothing signed
    dialog = spec.get_by_test_id("sign-dialog")
    dialog.get_by_test_id("sign-password").fill("not-my-password")
    dialog.get_by_test_id("sign-confirm").click()
    expect(dialog).to_contain_text("密码不正确，未签名")
    expect(spec.get_by_test_id("consult-state")).to_have_text("已接收")
    dialog.get_by_test_id("sign-password").fill("telemed-demo")
    dialog.get_by_test_id("sign-confirm").click()
    spec.get_by_test_id("signed-opinion").wait_for()
    expect(spec.get_by_test_id("consult-state")).to_have_text("已出报告")
    shot(spec, "specialist-opinion-signed")

    county.reload()
    county.get_by_test_id("signed-opinion").wait_for()
    expect(county.get_by_test_id("verify")).to_have_text("签名验证通过")
    assert "R91" in county.get_by_test_id("signed-opinion").inner_text()
    assert "I10" in county.get_by_test_id("signed-opinion").inner_text()
    county.get_by_test_id("action-close").click()
    expect(county.get_by_test_id("consult-state")).to_have_text("已完成")
    shot(county, "county_doctor-opinion-acknowledged")


@contextmanager
def _demo_gateway(live_server: LiveServer) -> Iterator[int]:
    """Run our storage gateway (C-STORE + Modality Worklist C-FIND) beside the live server,
    on the same database, archive and spool; yields its port."""
    import subprocess
    import sys

    from tests.e2e.conftest import ARTIFACTS, ROOT
    from tests.support.ports import free_port, wait_port

    port = free_port()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "gateway.log").open("a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "telemed.cli", "dicom", "gateway", "--port", str(port)],
            env={**live_server.env, "TELEMED_ENV": "test"},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_port(port, timeout=60)
            yield port
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _send(port: int, datasets: list[Any]) -> None:
    """C-STORE from the demo county hospital's registered modality AE."""
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

    ae = AE(ae_title="DEMO_COUNTY")
    ae.add_requested_context(CTImageStorage, "1.2.840.10008.1.2.1")
    assoc = ae.associate("127.0.0.1", port, ae_title="TELEMED")
    assert assoc.is_established, "the gateway refused the demo county AE"
    try:
        for ds in datasets:
            assert assoc.send_c_store(ds).Status == 0
    finally:
        assoc.release()


def _wait_indexed(live_server: LiveServer, datasets: list[Any]) -> None:
    """Acknowledged once spooled; wait until the forwarder has indexed the study."""
    uid = str(datasets[0].StudyInstanceUID)
    deadline = time.monotonic() + 60
    with live_server.api("county-doctor") as api:
        while time.monotonic() < deadline:
            items = api.get("/studies", params={"limit": 100}).json()["items"]
            if any(s["study_uid"] == uid and s["instance_count"] == len(datasets) for s in items):
                return
            time.sleep(0.2)
    pytest.fail("the C-STORE'd study was not indexed within 60 s")


def _cstore_from_demo_county(live_server: LiveServer, datasets: list[Any]) -> None:
    """Send the datasets by C-STORE to a gateway beside the live server and wait for them."""
    with _demo_gateway(live_server) as port:
        _send(port, datasets)
        _wait_indexed(live_server, datasets)


def test_wizard_links_a_study_received_from_the_hospitals_modality(
    new_page: Any, live_server: LiveServer, consultations: None
) -> None:
    paths = live_server.paths()
    if "/api/v1/studies" not in paths:
        pytest.fail("the imaging API is not in this build")
    from tests.support.dicom_files import ct_series

    with live_server.api("county-doctor") as api:
        patient = api.get("/patients").json()[0]
    # The modality sends under the hospital's own ID: no order matches it, so the wizard
    # offers it among the hospital's unmatched studies (our patient ids are never matched).
    datasets = ct_series(3, size=32, patient_name="E2E^MODALITY", patient_id="CT-LOCAL-0042")
    study_uid = str(datasets[0].StudyInstanceUID)
    _cstore_from_demo_county(live_server, datasets)

    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-consultations").click()
    page.get_by_test_id("new-consultation").click()
    page.locator("#search-q").fill(patient["name"])
    page.get_by_test_id("search-submit").click()
    page.get_by_test_id("patient-results").get_by_role("button").first.click()
    page.get_by_test_id("chosen-patient").wait_for()

    picker = page.get_by_test_id("study-picker")
    pick = picker.get_by_test_id(f"pick-{study_uid}")
    pick.wait_for()
    # its group shows the AE that sent it (the group of the patient's own studies comes
    # first when another test assigned a study to this patient)
    group = picker.locator("fieldset").filter(has=page.get_by_test_id(f"pick-{study_uid}"))
    expect(group).to_contain_text("DEMO_COUNTY")
    pick.check()
    expect(page.get_by_test_id("studies-picked")).to_contain_text("1")

    page.locator("#c-class").select_option("imaging_diagnosis")
    page.locator("#c-specialty").select_option("radiology")
    page.locator("#c-question").fill("请阅县医院 CT 室传来的胸部 CT。")
    page.locator("#c-summary").fill("女，58岁，体检发现肺结节。")
    page.get_by_test_id("consent").check()
    shot(page, "county_doctor-wizard-pick-study")
    page.get_by_test_id("submit-consultation").click()
    page.wait_for_url(re.compile(r"#/consultations/[0-9a-f-]{36}$"))
    consultation_id = page.url.rsplit("/", 1)[1]

    with live_server.api("county-doctor") as api:
        r = api.get(f"/consultations/{consultation_id}/studies")
        assert r.status_code == 200, r.text
        assert [s["study_uid"] for s in r.json()] == [study_uid]
        links = api.get(f"/studies/{study_uid}/links").json()
        assert any(
            link["target_type"] == "consultation" and link["target_id"] == consultation_id
            for link in links
        ), links
    shot(page, "county_doctor-consultation-with-received-study")


def _mwl_find(port: int, accession: str) -> list[Any]:
    """A Modality Worklist C-FIND from the demo county modality (pynetdicom), by accession."""
    from pydicom.dataset import Dataset
    from pynetdicom import AE
    from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]

    query = Dataset()
    query.AccessionNumber = accession
    for kw in ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex"):
        setattr(query, kw, "")
    query.StudyInstanceUID = ""
    query.RequestedProcedureDescription = ""
    sps = Dataset()
    for kw in (
        "Modality",
        "ScheduledStationAETitle",
        "ScheduledProcedureStepStartDate",
        "ScheduledProcedureStepStartTime",
        "ScheduledProcedureStepStatus",
    ):
        setattr(sps, kw, "")
    query.ScheduledProcedureStepSequence = [sps]
    ae = AE(ae_title="DEMO_COUNTY")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", port, ae_title="TELEMED")
    assert assoc.is_established, "the gateway refused the demo county AE"
    try:
        found = [
            ident
            for status, ident in assoc.send_c_find(query, ModalityWorklistInformationFind)
            if status is not None and status.Status == 0xFF00 and ident is not None
        ]
    finally:
        assoc.release()
    return found


def _findscu_worklist(port: int, accession: str, out: Path) -> list[Any]:
    """dcmtk `findscu -W` from the demo county AE for one accession number."""
    import os
    import subprocess

    import pydicom

    from tests.dicom.helpers import dcmtk

    keys = [
        f"AccessionNumber={accession}",
        "PatientName",
        "PatientID",
        "ScheduledProcedureStepSequence[0].Modality",
    ]
    args = [dcmtk("findscu"), "-W", "-aet", "DEMO_COUNTY", "-aec", "TELEMED", "-X", "-od"]
    args.append(str(out))
    for k in keys:
        args += ["-k", k]
    r = subprocess.run(
        [*args, "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        env={**os.environ, "TCP_NODELAY": "1"},
        timeout=60,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def test_wizard_imaging_order_goes_to_the_worklist_and_its_study_comes_back_by_itself(
    new_page: Any, live_server: LiveServer, consultations: None, tmp_path: Path
) -> None:
    """The county doctor orders an MR in the wizard; the hospital's modality finds it by
    MWL C-FIND (patient, our accession number, issuer, time in Beijing time); the study the
    modality sends with that accession number is on the request without anyone picking it."""
    paths = live_server.paths()
    assert "/api/v1/consultations/{consultation_id}/imaging-orders" in paths
    from tests.support.dicom_files import ct_series

    with live_server.api("county-doctor") as api:
        patient = api.get("/patients").json()[0]
        me = api.get("/auth/me").json()
        hospital = api.get(f"/network/institutions/{me['institution_id']}").json()

    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-consultations").click()
    page.get_by_test_id("new-consultation").click()
    page.locator("#search-q").fill(patient["name"])
    page.get_by_test_id("search-submit").click()
    page.get_by_test_id("patient-results").get_by_role("button").first.click()
    page.get_by_test_id("chosen-patient").wait_for()

    # The order exists only for imaging diagnosis.
    expect(page.get_by_test_id("imaging-order")).to_have_count(0)
    page.locator("#c-class").select_option("imaging_diagnosis")
    page.locator("#c-specialty").select_option("radiology")
    page.locator("#c-question").fill("请远程阅片：头颅 MR，排除脑梗死。")
    page.locator("#c-summary").fill("男，67岁，突发右侧肢体无力 6 小时。")
    order = page.get_by_test_id("imaging-order")
    order.get_by_test_id("imaging-order-requested").check()
    order.locator("#io-modality").select_option("MR")
    order.locator("#io-scheduled").fill("2026-12-04T09:30")
    order.locator("#io-procedure").fill("头颅 MR 平扫+DWI")
    page.get_by_test_id("consent").check()
    shot(page, "county_doctor-wizard-imaging-order")
    page.get_by_test_id("submit-consultation").click()
    page.wait_for_url(re.compile(r"#/consultations/[0-9a-f-]{36}$"))
    consultation_id = page.url.rsplit("/", 1)[1]

    # The consultation page shows the order: our accession number, on the worklist.
    card = page.get_by_test_id("imaging-orders")
    expect(card.get_by_test_id("order-status")).to_have_text("已发布到设备工作列表")
    accession = card.get_by_test_id("order-accession").inner_text().strip()
    assert re.fullmatch(r"TM\d{6}[0-9A-Z]{8}", accession), accession
    expect(card).to_contain_text("头颅 MR 平扫+DWI")
    expect(card).to_contain_text("2026-12-04 09:30")
    shot(page, "county_doctor-consultation-imaging-order")
    with live_server.api("county-doctor") as api:
        orders = api.get(f"/consultations/{consultation_id}/imaging-orders").json()
    assert [(o["accession_number"], o["modality"], o["status"]) for o in orders] == [
        (accession, "MR", "scheduled")
    ]
    assert orders[0]["scheduled_at"].startswith("2026-12-04T01:30:00")

    with _demo_gateway(live_server) as port:
        # The modality's worklist query finds the entry, in the hospital's namespace.
        found = _mwl_find(port, accession)
        assert len(found) == 1, found
        item = found[0]
        assert str(item.PatientName) == patient["name"]
        assert item.PatientID.startswith("TM") and item.PatientID != patient["id"]
        assert item.IssuerOfPatientID == hospital["code"]
        assert item.PatientBirthDate == patient["birth_date"].replace("-", "")
        assert item.RequestedProcedureDescription == "头颅 MR 平扫+DWI"
        step = item.ScheduledProcedureStepSequence[0]
        assert (step.Modality, step.ScheduledProcedureStepStatus) == ("MR", "SCHEDULED")
        assert step.ScheduledProcedureStepStartDate == "20261204"
        assert step.ScheduledProcedureStepStartTime == "093000"
        assert _mwl_find(port, "TM000000NOTHING") == []
        # dcmtk `findscu -W`, as a modality console would ask.
        answers = _findscu_worklist(port, accession, tmp_path)
        assert [(str(a.PatientName), a.PatientID) for a in answers] == [
            (patient["name"], item.PatientID)
        ]
        assert answers[0].ScheduledProcedureStepSequence[0].Modality == "MR"

        # The modality sends the study with the worklist's identifiers.
        datasets = ct_series(
            2,
            size=16,
            patient_name=str(item.PatientName),
            patient_id=item.PatientID,
            accession=accession,
            study_uid=item.StudyInstanceUID,
        )
        _send(port, datasets)
        _wait_indexed(live_server, datasets)
        # A study whose accession number no order of this hospital has: nobody guesses.
        stray = ct_series(
            1,
            size=16,
            patient_name=str(item.PatientName),
            patient_id=item.PatientID,
            accession=accession[:-1] + ("X" if accession[-1] != "X" else "Y"),
        )
        _send(port, stray)
        _wait_indexed(live_server, stray)
    study_uid = str(datasets[0].StudyInstanceUID)
    stray_uid = str(stray[0].StudyInstanceUID)

    with live_server.api("county-doctor") as api:
        linked = api.get(f"/consultations/{consultation_id}/studies").json()
        assert [s["study_uid"] for s in linked] == [study_uid]
        summary = api.get(f"/studies/{study_uid}").json()
        assert summary["patient_id"] == patient["id"]
        assert summary["accession_number"] == accession
        orders = api.get(f"/consultations/{consultation_id}/imaging-orders").json()
        assert [(o["status"], o["matched_study_uid"]) for o in orders] == [("completed", study_uid)]
        waiting = api.get("/dicom/reconciliation", params={"limit": 100}).json()["items"]
        assert study_uid not in {w["study"]["study_uid"] for w in waiting}
        assert stray_uid in {w["study"]["study_uid"] for w in waiting}
        assert api.get(f"/studies/{stray_uid}").json()["patient_id"] is None
    page.reload()
    expect(page.get_by_test_id("imaging-orders").get_by_test_id("order-status")).to_have_text(
        "影像已到达"
    )
    expect(page.get_by_test_id(f"view-{study_uid}")).to_be_visible()
    expect(page.get_by_test_id(f"view-{stray_uid}")).to_have_count(0)
    shot(page, "county_doctor-consultation-order-fulfilled")
    # The unmatched study waits on the hospital's reconciliation page; the matched one does not.
    page.get_by_test_id("nav-reconcile").click()
    expect(page.get_by_test_id(f"unmatched-{stray_uid}")).to_be_visible()
    expect(page.get_by_test_id(f"unmatched-{study_uid}")).to_have_count(0)


def test_choosing_a_hospital_outside_the_proposal_order_asks_for_the_reason(
    new_page: Any, live_server: LiveServer, consultations: None
) -> None:
    with live_server.api("county-doctor") as api:
        patient = api.get("/patients").json()[0]
        proposals = api.post(
            "/consultations/proposals",
            json={
                "service_class": "consultation",
                "wanted_specialty": "cardiology",
                "urgency": "routine",
                "patient_id": patient["id"],
                "limit": 8,
            },
        ).json()
    first = proposals[0]
    other = next(
        i for i, p in enumerate(proposals) if p["institution_id"] != first["institution_id"]
    )

    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-consultations").click()
    page.get_by_test_id("new-consultation").click()
    page.locator("#search-q").fill(patient["name"])
    page.get_by_test_id("search-submit").click()
    page.get_by_test_id("patient-results").get_by_role("button").first.click()
    page.get_by_test_id("chosen-patient").wait_for()
    page.locator("#c-class").select_option("consultation")
    page.locator("#c-specialty").select_option("cardiology")
    page.locator("#c-question").fill("请协助评估胸痛原因。")
    page.locator("#c-summary").fill("男，70岁，活动后胸痛1月。")
    page.get_by_test_id("find-specialists").click()
    items = page.get_by_test_id("proposals").locator("li")
    items.nth(other + 1).wait_for()
    expect(page.get_by_test_id("override-reason")).to_have_count(0)  # the first: no reason

    items.nth(other + 1).locator("input[type=radio]").check()
    expect(page.get_by_test_id("override-note")).to_contain_text(first["institution_name"])
    page.get_by_test_id("consent").check()
    page.get_by_test_id("submit-consultation").click()
    expect(page.get_by_text("请说明为何不选系统首选的医院")).to_be_visible()
    assert "/consultations/new" in page.url  # nothing was sent without the reason

    page.get_by_test_id("override-reason").fill("患者子女在该市，便于陪诊")
    shot(page, "county_doctor-wizard-override-reason")
    page.get_by_test_id("submit-consultation").click()
    page.wait_for_url(re.compile(r"#/consultations/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("override-shown")).to_have_text("患者子女在该市，便于陪诊")
    consultation_id = page.url.rsplit("/", 1)[1]
    with live_server.api("county-doctor") as api:
        c = api.get(f"/consultations/{consultation_id}").json()
    assert c["override_reason"] == "患者子女在该市，便于陪诊"
    assert c["first_proposed_institution_id"] == first["institution_id"]
    assert c["receiving_institution_id"] == proposals[other]["institution_id"]
