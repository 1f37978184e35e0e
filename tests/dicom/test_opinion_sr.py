"""The signed opinion reaches the county PACS as a DICOM SR (dcmtk `storescp` as the PACS,
parsed back with highdicom), and priors merge our archive with the county PACS's C-FIND."""

from __future__ import annotations

import subprocess
import time
import uuid
from io import BytesIO
from pathlib import Path
from typing import Any

import highdicom as hd
import pydicom
from sqlmodel import Session, select

from dicom import opinion_sr, outbound
from dicom.models import OutboundJob
from telemed.core.settings import get_settings
from telemed.identity.models import Patient, User
from telemed.network.models import DicomAE
from tests.consultations.conftest import CONSENT
from tests.dicom.helpers import dcmtk
from tests.dicom.test_outbound import CountyPACS
from tests.dicom.test_reading_sr import _link, _outsider, _stow, _user
from tests.support.dicom_files import ct_series
from tests.support.ports import free_port, wait_port

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer


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
    _ok(client.post(f"{api}/{c['id']}/opinion/sign", json=SIGN, headers=spec2))
    return str(c["id"])


def test_signed_opinion_reaches_the_county_pacs_as_sr(  # type: ignore[no-untyped-def]
    session, client, login, any_archive, tmp_path: Path
) -> None:
    cd_user = _user(session, "county-doctor")
    port = free_port()
    out = tmp_path / "pacs"
    out.mkdir()
    scp = subprocess.Popen(
        [dcmtk("storescp"), "-aet", "COUNTY_PACS_SR", "-od", str(out), "+xa", str(port)],
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
        cd = login("county-doctor")
        _stow(client, cd, datasets, patient_id=str(bateer.id))  # type: ignore[union-attr]
        study_uid = str(datasets[0].StudyInstanceUID)
        cid = _signed_consultation(session, client, login, study_uid)

        # the request's studies carry the header's patient beside the request's patient
        linked = _ok(client.get(f"/api/v1/consultations/{cid}/studies", headers=cd))
        assert linked[0]["dicom"]["patient_name"] == "BATEER"
        assert linked[0]["mismatches"] == ["name"] and linked[0]["demographics_mismatch"]
        # the viewer's context: the request the reader takes part in, with its question
        ctx = _ok(client.get(f"/api/v1/studies/{study_uid}/context", headers=login("specialist2")))
        assert [(c["id"], c["question"]) for c in ctx["consultations"]] == [
            (cid, "请协助明确结节性质")
        ]
        assert ctx["consultations"][0]["link"] == f"/#/consultations/{cid}"
        outsider = login(_outsider(session).username)
        assert (
            client.get(f"/api/v1/studies/{study_uid}/context", headers=outsider).status_code == 404
        )

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
            r.ModalitiesInStudy = [ds.Modality, "SR"]  # multi-valued, as PACS answer
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
        assert (county["modalities"], county["description"]) == ("CT\\SR", "CT CHEST")
        assert [p["study_date"] for p in r["items"]] == ["2025-03-01", "2024-01-05"]
        # a reader who sees only the current study (through its link) is not shown ours
        target, spec = uuid.uuid4(), _user(session, "specialist2")
        link_participants[target] = {spec.id}
        _link(session, uid, target, _user(session, "county-doctor"))
        session.commit()
        r = _ok(client.get(f"/api/v1/studies/{uid}/priors", headers=login("specialist2")))
        hidden = {p["study_uid"]: p for p in r["items"]}[str(ours_too[0].StudyInstanceUID)]
        assert not hidden["in_archive"] and hidden["instance_count"] is None
    finally:
        pacs.stop()
    # the PACS gone: our studies are still listed
    r = _ok(client.get(f"/api/v1/studies/{uid}/priors", headers=cd))
    assert r["county_pacs"] == "unavailable"
    assert [p["study_uid"] for p in r["items"]] == [str(ours_too[0].StudyInstanceUID)]


def test_the_opinion_job_starts_after_the_commit(committed_engine, tmp_path, demo_user) -> None:  # type: ignore[no-untyped-def]
    """In the app (a session on the engine) the job runs once the signing has committed."""
    from sqlalchemy import delete

    from dicom import service
    from dicom.archive import LocalArchive, set_archive
    from telemed.core import clock
    from tests.dicom.helpers import purge_studies
    from tests.support.dicom_files import to_bytes

    archive = LocalArchive(tmp_path / "archive")
    datasets = ct_series(1, patient_id="AFTER-1")
    ds = datasets[0]
    archive.store(to_bytes(ds))
    county = demo_user("county-doctor").institution_id
    signer = demo_user("specialist2")
    uid = str(ds.StudyInstanceUID)
    set_archive(archive)
    job_id = None
    try:
        with Session(committed_engine) as s:
            service.index_instance(
                session=s,
                info=service.InstanceInfo(
                    study_uid=uid,
                    series_uid=str(ds.SeriesInstanceUID),
                    sop_uid=str(ds.SOPInstanceUID),
                    sop_class_uid=str(ds.SOPClassUID),
                    transfer_syntax_uid=str(ds.file_meta.TransferSyntaxUID),
                    size_bytes=1000,
                    modality="CT",
                ),
                institution_id=county,
                source_ae=None,
                source="stow",
                now=clock.now(),
            )
            consultation_id = uuid.uuid4()
            _link(s, uid, consultation_id, signer)
            opinion = opinion_sr.SignedOpinion(
                opinion_id=uuid.uuid4(),
                consultation_id=consultation_id,
                version=1,
                signer_name=signer.full_name,
                signer_title=None,
                signer_title_meaning=None,
                signer_organization="省医院",
                signed_at=clock.now(),
                findings="",
                impression="未见异常",
                recommendations="",
                icd10=[("Z00.0", "一般医学检查")],
                requesting_institution_id=uuid.uuid4(),  # a hospital with no PACS
            )
            (job,) = opinion_sr.opinion_signed(
                session=s,
                opinion=opinion,
                by_id=signer.id,
                settings=get_settings(),
                now=clock.now(),
            )
            job_id = job.id
            assert job.status == "queued"
            s.commit()
        done = outbound.wait_job(committed_engine, job_id, timeout=60)
        assert done.status == "done", done.error
        assert done.result["stored"] and done.result["sent"] == 0
        assert done.result["reason"] == "no county PACS registered"
        assert archive.has_instance(done.result["sr_sop_instance_uid"])
    finally:
        set_archive(None)
        purge_studies(committed_engine, uid)
        if job_id is not None:
            with Session(committed_engine) as s:
                s.execute(delete(OutboundJob).where(OutboundJob.id == job_id))  # type: ignore[arg-type]
                s.commit()
