"""The signed opinion reaches the county PACS as a DICOM SR (dcmtk `storescp` as the PACS,
parsed back with highdicom), and priors merge our archive with the county PACS's C-FIND."""

from __future__ import annotations

import subprocess
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import highdicom as hd
import pydicom
from sqlmodel import Session, select

from dicom import opinion_sr
from dicom.models import OutboundJob
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User
from telemed.network.models import DicomAE
from tests.consultations.conftest import CONSENT
from tests.dicom.test_outbound import CountyPACS
from tests.dicom.test_reading_sr import _stow, _user
from tests.support.dicom_files import ct_series
from tests.support.ports import free_port, wait_port


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _signed_consultation(session: Session, client: Any, login: Any, study_uid: str) -> str:
    bateer = session.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()
    assert bateer is not None
    cd, api = login("county-doctor"), "/api/v1/consultations"
    body = {
        "patient_id": str(bateer.id),
        "service_class": "imaging_diagnosis",
        "urgency": "urgent",
        "summary": "男，64岁，胸痛3小时，CT示右肺结节",
        "question": "请协助明确结节性质",
        "wanted_specialty": "radiology",
        "chosen_specialist_id": str(_user(session, "specialist2").id),
        "override_reason": "指定专家（测试）",
        "consent": CONSENT,
    }
    c = _ok(client.post(api, json=body, headers=cd), 201)
    _ok(client.post(f"{api}/{c['id']}/submit", headers=cd))
    _ok(client.post(f"{api}/{c['id']}/studies", json={"study_uid": study_uid}, headers=cd), 201)
    spec2 = login("specialist2")
    _ok(client.post(f"{api}/{c['id']}/accept", headers=spec2))
    opinion = {
        "findings": "右肺上叶见一约8mm磨玻璃结节。",
        "impression": "右肺上叶磨玻璃结节",
        "icd10": ["R91"],
        "recommendations": "3个月后复查",
    }
    _ok(client.put(f"{api}/{c['id']}/opinion", json=opinion, headers=spec2))
    _ok(client.post(f"{api}/{c['id']}/opinion/sign", headers=spec2))
    return str(c["id"])


def test_signed_opinion_reaches_the_county_pacs_as_sr(  # type: ignore[no-untyped-def]
    session, client, login, any_archive, tmp_path: Path
) -> None:
    cd_user = _user(session, "county-doctor")
    port = free_port()
    out = tmp_path / "pacs"
    out.mkdir()
    scp = subprocess.Popen(
        ["storescp", "-aet", "COUNTY_PACS_SR", "-od", str(out), "+xa", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        session.add(
            DicomAE(
                institution_id=cd_user.institution_id,
                ae_title="COUNTY_PACS_SR",
                host="127.0.0.1",
                port=port,
                kind="pacs",
            )
        )
        session.commit()
        datasets = ct_series(2, patient_name="BATEER", patient_id="SR-MRN-1")
        bateer = session.execute(select(Patient).where(Patient.name == "巴特尔")).scalars().first()
        _stow(client, login("county-doctor"), datasets, patient_id=str(bateer.id))  # type: ignore[union-attr]
        study_uid = str(datasets[0].StudyInstanceUID)
        cid = _signed_consultation(session, client, login, study_uid)

        job = session.exec(
            select(OutboundJob).where(
                OutboundJob.kind == "opinion_sr", OutboundJob.study_uid == study_uid
            )
        ).one()
        assert job.params["opinion"]["consultation_id"] == cid
        # the test's transaction is not committed, so the job runs here, as the runner would
        result = opinion_sr.work_for(get_settings())(session, job)
        assert result["sent"] == 1 and result["failed"] == 0, result
        deadline = time.monotonic() + 20
        while not list(out.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        files = list(out.iterdir())
        assert len(files) == 1
        ds = pydicom.dcmread(files[0])
        doc = hd.sr.ComprehensiveSR.from_dataset(ds)
        signer: User = _user(session, "specialist2")
        assert ds.VerificationFlag == "VERIFIED" and ds.CompletionFlag == "COMPLETE"
        verifier = ds.VerifyingObserverSequence[0]
        assert str(verifier.VerifyingObserverName).rstrip("^") == signer.full_name
        assert ds.StudyInstanceUID == study_uid and ds.PatientID == "SR-MRN-1"
        items = {i.ConceptNameCodeSequence[0].CodeValue: i for i in doc.ContentSequence}
        assert items["121073"].TextValue == "右肺上叶磨玻璃结节"  # Impression
        diagnosis = items["439401001"].ConceptCodeSequence[0]
        assert (diagnosis.CodeValue, diagnosis.CodingSchemeDesignator) == ("R91", "I10")
        observer = items["121008"].PersonName
        assert str(observer).rstrip("^") == signer.full_name
        refs = {
            r.ReferencedSOPInstanceUID
            for s in ds.CurrentRequestedProcedureEvidenceSequence
            for se in s.ReferencedSeriesSequence
            for r in se.ReferencedSOPSequence
        }
        assert refs == {str(d.SOPInstanceUID) for d in datasets}
        # and it is in our study too: a second run stores nothing new (same UID)
        raw = any_archive.instance(study_uid, str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID))
        assert pydicom.dcmread(BytesIO(raw)).SOPInstanceUID == ds.SOPInstanceUID
        again = opinion_sr.work_for(get_settings())(session, job)
        assert again["sr_sop_instance_uid"] == result["sr_sop_instance_uid"]
    finally:
        scp.terminate()
        scp.wait(timeout=10)


class EveryStudyPACS(CountyPACS):
    """The county Q/R SCP answering C-FIND with every study it holds."""

    def _find(self, event: Any) -> Any:
        for ds in self.datasets:
            r = pydicom.Dataset()
            r.QueryRetrieveLevel = "STUDY"
            r.StudyInstanceUID = ds.StudyInstanceUID
            r.PatientID = ds.PatientID
            r.PatientName = ds.PatientName
            r.StudyDate = ds.StudyDate
            r.ModalitiesInStudy = ds.Modality
            r.StudyDescription = "CT CHEST"
            yield 0xFF00, r


def test_priors_merge_ours_and_the_county_pacs(  # type: ignore[no-untyped-def]
    session, client, login, any_archive, link_participants
) -> None:
    cd = login("county-doctor")
    current = ct_series(1, patient_id="PRI-7", study_date="20261101")
    ours_too = ct_series(1, patient_id="PRI-7", study_date="20250301")  # also at the county
    county_only = ct_series(1, patient_id="PRI-7", study_date="20240105")
    _stow(client, cd, current)
    _stow(client, cd, ours_too)
    pacs = EveryStudyPACS("COUNTY_QR_P", county_only + ours_too, ("127.0.0.1", 1))
    try:
        session.add(
            DicomAE(
                institution_id=_user(session, "county-doctor").institution_id,
                ae_title="COUNTY_QR_P",
                host="127.0.0.1",
                port=pacs.port,
                kind="pacs",
            )
        )
        session.commit()
        uid = str(current[0].StudyInstanceUID)
        r = _ok(client.get(f"/api/v1/studies/{uid}/priors", headers=cd))
        assert r["county_pacs"] == "ok"
        by_uid = {p["study_uid"]: p for p in r["items"]}
        assert uid not in by_uid
        both = by_uid[str(ours_too[0].StudyInstanceUID)]
        assert both["in_archive"] and both["at_county_pacs"] and both["retrieved"]
        assert both["study_date"] == "2025-03-01" and both["instance_count"] == 1
        county = by_uid[str(county_only[0].StudyInstanceUID)]
        assert county["at_county_pacs"] and not county["in_archive"]
        assert county["instance_count"] is None
        assert [p["study_date"] for p in r["items"]] == ["2025-03-01", "2024-01-05"]
    finally:
        pacs.stop()
    # the PACS gone: our studies are still listed
    r = _ok(client.get(f"/api/v1/studies/{uid}/priors", headers=cd))
    assert r["county_pacs"] == "unavailable"
    assert [p["study_uid"] for p in r["items"]] == [str(ours_too[0].StudyInstanceUID)]
