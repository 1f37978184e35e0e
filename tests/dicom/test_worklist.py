"""Patient identity from the order: the modality worklist, accession matching, reconciliation.

Real peers: dcmtk `findscu -W` and `storescu` against our gateway, pynetdicom as a
worklist SCU, STOW-RS through the API.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import ModalityWorklistInformationFind  # type: ignore[attr-defined]
from sqlalchemy import delete
from sqlmodel import Session, select

from dicom.models import OrderStatus, Study, StudyLink, WorklistItem
from telemed.core.audit import AuditEvent
from telemed.identity.models import Patient, User
from tests.dicom.helpers import dcmtk, purge_studies, storescu
from tests.support.dicom_files import ct_series, to_bytes, write_series

ORDER = {
    "service_class": "imaging_diagnosis",
    "urgency": "urgent",
    "summary": "男，64岁，咳嗽2周。",
    "question": "请阅胸部CT。",
    "wanted_specialty": "radiology",
    "imaging_order": {"modality": "CT", "procedure": "CT CHEST"},
}


def _county_and_patient(s: Session) -> tuple[User, Patient]:
    county = s.exec(select(User).where(User.username == "county-doctor")).one()
    pu = s.exec(select(User).where(User.username == "patient")).one()
    patient = s.get(Patient, pu.patient_id)
    assert patient is not None
    return county, patient


@pytest.fixture
def committed_order(committed_engine) -> Iterator[tuple[uuid.UUID, WorklistItem]]:  # type: ignore[no-untyped-def]
    """The county doctor's imaging request with its worklist entry, committed."""
    from telemed.consultations import service as consultations_service
    from telemed.consultations.schemas import ConsultationCreate
    from telemed.core import clock

    with Session(committed_engine) as s:
        county, patient = _county_and_patient(s)
        c = consultations_service.create(
            session=s,
            by=county,
            data=ConsultationCreate.model_validate({**ORDER, "patient_id": str(patient.id)}),
            now=clock.now(),
        )
        s.commit()
        cid = c.id
        item = s.exec(select(WorklistItem).where(WorklistItem.target_id == cid)).one()
        s.expunge(item)
    try:
        yield cid, item
    finally:
        # Transitions are append-only: the request is withdrawn (its order cancelled).
        with Session(committed_engine) as s:
            s.execute(delete(StudyLink).where(StudyLink.target_id == cid))  # type: ignore[arg-type]
            county, _ = _county_and_patient(s)
            consultations_service.cancel(
                session=s, consultation_id=cid, by=county, reason="test over", now=clock.now()
            )
            s.commit()


def _findscu(port: int, calling: str, out: Path, *keys: str) -> subprocess.CompletedProcess[str]:
    out.mkdir(parents=True, exist_ok=True)
    args = [dcmtk("findscu"), "-v", "-W", "-aet", calling, "-aec", "TELEMED", "-X", "-od"]
    args += [str(out)]
    for k in keys:
        args += ["-k", k]
    return subprocess.run(
        [*args, "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        env={**os.environ, "TCP_NODELAY": "1"},
        timeout=60,
    )


WORKLIST_KEYS = (
    "AccessionNumber",
    "PatientName",
    "PatientID",
    "IssuerOfPatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "ScheduledProcedureStepSequence[0].Modality=CT",
    "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime",
    "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStatus",
)


def _responses(out: Path) -> list[Dataset]:
    return [pydicom.dcmread(p) for p in sorted(out.glob("rsp*.dcm"))]


def test_findscu_worklist_shows_the_county_order_to_its_modality_only(
    gateway, committed_order, other_hospital_ae, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    gw, _ = gateway
    cid, item = committed_order
    r = _findscu(gw.port, "DEMO_COUNTY", tmp_path / "county", *WORKLIST_KEYS)
    assert r.returncode == 0, r.stdout + r.stderr
    mine = [
        d for d in _responses(tmp_path / "county") if d.AccessionNumber == item.accession_number
    ]
    assert len(mine) == 1, r.stdout + r.stderr
    ds = mine[0]
    assert str(ds.PatientName) == "巴特尔"
    assert ds.PatientID == item.dicom_patient_id and ds.PatientID != str(item.patient_id)
    assert ds.IssuerOfPatientID == item.issuer_of_patient_id
    assert (ds.PatientBirthDate, ds.PatientSex) == ("19620314", "M")
    assert ds.StudyInstanceUID == item.study_uid
    sps = ds.ScheduledProcedureStepSequence[0]
    assert sps.Modality == "CT" and sps.ScheduledStationAETitle == "DEMO_COUNTY"
    assert sps.ScheduledProcedureStepStatus == "SCHEDULED"
    assert len(sps.ScheduledProcedureStepStartDate) == 8
    # Keys not asked for are not returned.
    assert "ReferringPhysicianName" not in ds

    # A registered modality of another hospital sees none of the county's entries.
    r = _findscu(gw.port, other_hospital_ae, tmp_path / "other", *WORKLIST_KEYS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert item.accession_number not in {d.AccessionNumber for d in _responses(tmp_path / "other")}

    # An unregistered AE is rejected at association.
    r = _findscu(gw.port, "STRANGER", tmp_path / "stranger", *WORKLIST_KEYS)
    assert r.returncode != 0
    assert "Association Rejected" in r.stdout + r.stderr, r.stdout + r.stderr
    assert not _responses(tmp_path / "stranger")


def test_pynetdicom_worklist_matching_keys(gateway, committed_order) -> None:  # type: ignore[no-untyped-def]
    gw, _ = gateway
    _, item = committed_order

    def query(**keys: Any) -> list[Dataset]:
        q = Dataset()
        q.AccessionNumber = keys.pop("AccessionNumber", "")
        q.PatientName = keys.pop("PatientName", "")
        q.PatientID = ""
        sps = Dataset()
        sps.Modality = keys.pop("Modality", "")
        sps.ScheduledProcedureStepStartDate = keys.pop("Date", "")
        sps.ScheduledStationAETitle = ""
        q.ScheduledProcedureStepSequence = [sps]
        ae = AE(ae_title="DEMO_COUNTY")
        ae.add_requested_context(ModalityWorklistInformationFind)
        assoc = ae.associate("127.0.0.1", gw.port, ae_title="TELEMED")
        assert assoc.is_established
        try:
            return [
                ident
                for status, ident in assoc.send_c_find(q, ModalityWorklistInformationFind)
                if status and status.Status == 0xFF00
            ]
        finally:
            assoc.release()

    def accessions(found: list[Dataset]) -> set[str]:
        return {str(d.AccessionNumber) for d in found}

    date = item.scheduled_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    day = date.strftime("%Y%m%d")
    assert item.accession_number in accessions(query(AccessionNumber=item.accession_number))
    assert item.accession_number in accessions(query(PatientName="巴*", Modality="CT"))
    assert item.accession_number in accessions(query(Date=f"{day}-{day}"))
    assert item.accession_number not in accessions(query(Modality="MR"))
    assert item.accession_number not in accessions(query(Date="19900101-19900102"))
    assert query(AccessionNumber="NO-SUCH") == []


def test_storescu_with_the_accession_number_lands_on_the_request(
    gateway, committed_order, committed_engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    cid, item = committed_order
    datasets = ct_series(
        2, patient_id="CT-LOCAL-77", patient_name="BATEER", accession=item.accession_number
    )
    uid = str(datasets[0].StudyInstanceUID)
    try:
        r = storescu(write_series(datasets, tmp_path / "s"), port=gw.port, calling="DEMO_COUNTY")
        assert r.returncode == 0, r.stderr
        assert forwarder.wait_idle(60)
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == uid)).one()
            assert study.patient_id == item.patient_id
            assert (
                s.exec(select(StudyLink).where(StudyLink.study_uid == uid)).one().target_id == cid
            )
            order = s.get(WorklistItem, item.id)
            assert order is not None
            assert (order.status, order.matched_study_uid) == (OrderStatus.COMPLETED, uid)
    finally:
        purge_studies(committed_engine, uid)


def _create_order(client: Any, headers: dict[str, str], patient_id: str) -> dict[str, Any]:
    r = client.post(
        "/api/v1/consultations", headers=headers, json={**ORDER, "patient_id": patient_id}
    )
    assert r.status_code == 201, r.text
    c = r.json()
    w = client.get("/api/v1/dicom/worklist", headers=headers, params={"target_id": c["id"]})
    assert w.status_code == 200, w.text
    assert len(w.json()) == 1
    return {"consultation": c, "order": w.json()[0]}


def test_stow_with_the_accession_number_is_matched_and_attached(
    any_archive, client, login, stow, session
) -> None:  # type: ignore[no-untyped-def]
    county, other = login("county-doctor"), login("specialist")
    _, patient = _county_and_patient(session)
    made = _create_order(client, county, str(patient.id))
    cid, acc = made["consultation"]["id"], made["order"]["accession_number"]
    assert made["order"]["scheduled_station_aes"] == ["DEMO_COUNTY"]
    assert made["order"]["dicom_patient_id"] != str(patient.id)

    # Another hospital sending the same accession number matches nothing.
    foreign = ct_series(1, accession=acc)
    assert stow([to_bytes(foreign[0])], other).status_code == 200
    fstudy = session.exec(
        select(Study).where(Study.study_uid == str(foreign[0].StudyInstanceUID))
    ).one()
    assert fstudy.patient_id is None

    datasets = ct_series(2, accession=acc, patient_id="H-123")
    uid = str(datasets[0].StudyInstanceUID)
    assert stow([to_bytes(d) for d in datasets], county).status_code == 200
    studies = client.get(f"/api/v1/consultations/{cid}/studies", headers=county).json()
    assert [s["study_uid"] for s in studies] == [uid]
    assert client.get(f"/api/v1/studies/{uid}", headers=county).json()["patient_id"] == str(
        patient.id
    )
    # The patient sees their matched study.
    assert uid in {
        s["study_uid"]
        for s in client.get("/api/v1/studies", headers=login("patient")).json()["items"]
    }
    w = client.get("/api/v1/dicom/worklist", headers=county, params={"target_id": cid}).json()
    assert (w[0]["status"], w[0]["matched_study_uid"]) == ("completed", uid)
    assert session.exec(
        select(AuditEvent).where(AuditEvent.object_id == uid, AuditEvent.action == "update")
    ).first()


def test_cancelled_request_leaves_the_worklist(client, login, session) -> None:  # type: ignore[no-untyped-def]
    from dicom import mwl

    county = login("county-doctor")
    county_user, patient = _county_and_patient(session)
    made = _create_order(client, county, str(patient.id))
    acc = made["order"]["accession_number"]
    listed = {
        i.accession_number
        for i, _ in mwl.worklist_for(session=session, institution_id=county_user.institution_id)
    }
    assert acc in listed
    r = client.post(
        f"/api/v1/consultations/{made['consultation']['id']}/cancel",
        headers=county,
        json={"reason": "患者转院"},
    )
    assert r.status_code == 200, r.text
    listed = {
        i.accession_number
        for i, _ in mwl.worklist_for(session=session, institution_id=county_user.institution_id)
    }
    assert acc not in listed


def test_imaging_order_on_another_service_class_is_422(client, login, session) -> None:  # type: ignore[no-untyped-def]
    _, patient = _county_and_patient(session)
    r = client.post(
        "/api/v1/consultations",
        headers=login("county-doctor"),
        json={**ORDER, "service_class": "ecg_diagnosis", "patient_id": str(patient.id)},
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"


def test_reconciliation_list_compare_and_assign(any_archive, client, login, stow, session) -> None:  # type: ignore[no-untyped-def]
    county, other = login("county-doctor"), login("specialist")
    _, patient = _county_and_patient(session)
    made = _create_order(client, county, str(patient.id))
    cid = made["consultation"]["id"]
    datasets = ct_series(
        2,
        patient_id="H-9",
        patient_name="WANG^FANG",
        patient_sex="F",
        patient_birth_date="19700101",
    )
    uid = str(datasets[0].StudyInstanceUID)
    assert stow([to_bytes(d) for d in datasets], county).status_code == 200

    page = client.get("/api/v1/dicom/reconciliation", headers=county)
    assert page.status_code == 200
    row = next(i for i in page.json()["items"] if i["study"]["study_uid"] == uid)
    assert row["dicom"] == {
        "patient_name": "WANG^FANG",
        "patient_sex": "F",
        "patient_birth_date": "19700101",
        "dicom_patient_id": "H-9",
    }
    # Other hospitals' doctors see nothing of it; non-doctors may not reconcile.
    assert uid not in {
        i["study"]["study_uid"]
        for i in client.get("/api/v1/dicom/reconciliation", headers=other).json()["items"]
    }
    r = client.get("/api/v1/dicom/reconciliation", headers=login("coordinator"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert client.get("/api/v1/dicom/reconciliation", headers=login("patient")).status_code == 403
    r = client.post(
        f"/api/v1/dicom/reconciliation/{uid}/assign",
        headers=other,
        json={"patient_id": str(patient.id), "confirm_mismatch": True},
    )
    assert r.status_code == 404

    cmp = client.get(
        f"/api/v1/dicom/reconciliation/{uid}/compare",
        headers=county,
        params={"patient_id": str(patient.id)},
    )
    assert cmp.status_code == 200
    assert cmp.json()["mismatches"] == ["name", "sex", "birth_date"]
    assert cmp.json()["patient"]["name"] == patient.name

    r = client.post(
        f"/api/v1/dicom/reconciliation/{uid}/assign",
        headers=county,
        json={"patient_id": str(patient.id), "consultation_id": cid},
    )
    assert r.status_code == 409 and r.json()["code"] == "demographics_mismatch"
    assert "name, sex, birth_date" in r.json()["detail"]
    # A consultation that is not this hospital's, for this patient: 404, nothing changes.
    r = client.post(
        f"/api/v1/dicom/reconciliation/{uid}/assign",
        headers=county,
        json={
            "patient_id": str(patient.id),
            "consultation_id": str(uuid.uuid4()),
            "confirm_mismatch": True,
        },
    )
    assert r.status_code == 404
    assert client.get(f"/api/v1/studies/{uid}", headers=county).json()["patient_id"] is None

    r = client.post(
        f"/api/v1/dicom/reconciliation/{uid}/assign",
        headers=county,
        json={"patient_id": str(patient.id), "consultation_id": cid, "confirm_mismatch": True},
    )
    assert r.status_code == 200, r.text
    assert r.json()["mismatches"] == ["name", "sex", "birth_date"]
    assert r.json()["study"]["patient_id"] == str(patient.id)
    studies = client.get(f"/api/v1/consultations/{cid}/studies", headers=county).json()
    assert uid in [s["study_uid"] for s in studies]
    assert uid not in {
        i["study"]["study_uid"]
        for i in client.get("/api/v1/dicom/reconciliation", headers=county).json()["items"]
    }
    r = client.post(
        f"/api/v1/dicom/reconciliation/{uid}/assign",
        headers=county,
        json={"patient_id": str(patient.id), "confirm_mismatch": True},
    )
    assert r.status_code == 409 and r.json()["code"] == "already_assigned"
    audit = session.exec(
        select(AuditEvent).where(AuditEvent.object_id == uid, AuditEvent.action == "update")
    ).all()
    assert [a.detail["what"] for a in audit] == ["reconcile"]


def test_matching_demographics_need_no_confirmation(
    any_archive, client, login, stow, session
) -> None:  # type: ignore[no-untyped-def]
    county = login("county-doctor")
    _, patient = _county_and_patient(session)
    ds = ct_series(
        1,
        patient_id="H-10",
        patient_name="BATEER=巴特尔",
        patient_sex="M",
        patient_birth_date="19620314",
    )[0]
    uid = str(ds.StudyInstanceUID)
    assert stow([to_bytes(ds)], county).status_code == 200
    r = client.post(
        f"/api/v1/dicom/reconciliation/{uid}/assign",
        headers=county,
        json={"patient_id": str(patient.id)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["mismatches"] == []
