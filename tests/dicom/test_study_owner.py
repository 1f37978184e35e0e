"""One owner per study: every ingest path refuses an instance of another hospital's study.

C-STORE answers 0x0124 (Refused: Not Authorized), STOW-RS lists the instance in
FailedSOPSequence with FailureReason 0x0124; the owner's study keeps its instances and
the association/server keep serving. A PatientID equal to one of our patient UUIDs no
longer files the study under that patient.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE
from sqlmodel import Session, select

from dicom.ingest import STATUS_NOT_AUTHORIZED
from dicom.models import Study
from telemed.identity.models import User
from tests.dicom.helpers import dcmtk, purge_studies, storescu
from tests.support.dicom_files import ct_series, to_bytes, write_series


def _orthanc_sops(server, study_uid: str) -> set[str]:  # type: ignore[no-untyped-def]
    with server.client() as c:
        hits = c.post("/tools/lookup", content=study_uid).json()
        if not hits:
            return set()
        rows = c.get(f"/studies/{hits[0]['ID']}/instances").json()
        return {r["MainDicomTags"]["SOPInstanceUID"] for r in rows}


def test_cstore_into_another_hospitals_study_is_refused_and_the_owner_keeps_it(
    gateway,
    orthanc_server,
    orthanc_archive,
    committed_engine,
    other_hospital_ae,
    tmp_path,
    client,
    login,
) -> None:  # type: ignore[no-untyped-def]
    from dicom.archive import set_archive

    gw, forwarder = gateway
    owned = ct_series(2)
    study_uid = str(owned[0].StudyInstanceUID)
    own_files = write_series(owned, tmp_path / "own")
    intruder = ct_series(1, study_uid=study_uid)
    intruder_file = write_series(intruder, tmp_path / "intruder")[0]
    county_own = write_series(ct_series(1), tmp_path / "county")[0]
    county_uid = str(pydicom.dcmread(county_own).StudyInstanceUID)
    set_archive(orthanc_archive)
    try:
        r = storescu(own_files, port=gw.port, calling=other_hospital_ae)
        assert r.returncode == 0, r.stderr
        assert forwarder.wait_idle(60)
        original = {str(d.SOPInstanceUID) for d in owned}
        assert _orthanc_sops(orthanc_server, study_uid) == original

        # dcmtk storescu from the county AE: refused with the documented status.
        r = subprocess.run(
            [dcmtk("storescu"), "-v", "-aet", "DEMO_COUNTY", "-aec", "TELEMED"]
            + ["127.0.0.1", str(gw.port), str(intruder_file)],
            capture_output=True,
            text=True,
            env={**os.environ, "TCP_NODELAY": "1"},
            timeout=120,
        )
        out = r.stdout + r.stderr
        # DCMTK 3.6.7 prints the general status 0x0124 as "Unknown Status: 0x124".
        assert r.returncode != 0 and re.search(r"Store Response \(.*0x0?124\)", out), out
        # pynetdicom: refused inside an association that keeps serving.
        ae = AE(ae_title="DEMO_COUNTY")
        ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
        assoc = ae.associate("127.0.0.1", gw.port, ae_title="TELEMED")
        assert assoc.is_established
        try:
            assert assoc.send_c_store(intruder_file).Status == STATUS_NOT_AUTHORIZED
            assert assoc.send_c_store(county_own).Status == 0x0000  # its own study: stored
        finally:
            assoc.release()
        assert forwarder.wait_idle(60)

        assert _orthanc_sops(orthanc_server, study_uid) == original
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == study_uid)).one()
            spec = s.exec(select(User).where(User.username == "specialist")).one()
            assert study.instance_count == 2
            assert study.source_institution_id == spec.institution_id
            assert s.exec(select(Study).where(Study.study_uid == county_uid)).one()
        # The owner's study still answers with its original instances only.
        owner = login("specialist")
        meta = client.get(f"/dicom-web/studies/{study_uid}/metadata", headers=owner)
        assert meta.status_code == 200
        assert {m["00080018"]["Value"][0] for m in meta.json()} == original
        got = client.get(
            f"/dicom-web/studies/{study_uid}",
            headers={**owner, "Accept": 'multipart/related; type="application/dicom"'},
        )
        assert got.status_code == 200
        assert got.content.count(b"DICM") == 2
        # ...and the county cannot see it.
        county = login("county-doctor")
        assert (
            client.get(f"/dicom-web/studies/{study_uid}/metadata", headers=county).status_code
            == 404
        )
    finally:
        set_archive(None)
        purge_studies(committed_engine, study_uid, county_uid)


def test_stow_into_another_hospitals_study_lists_a_failure_and_keeps_the_owners(
    any_archive, client, login, stow
) -> None:  # type: ignore[no-untyped-def]
    owner, county = login("specialist"), login("county-doctor")
    owned = ct_series(2)
    study_uid = str(owned[0].StudyInstanceUID)
    assert stow([to_bytes(d) for d in owned], owner).status_code == 200
    intruder = ct_series(1, study_uid=study_uid)[0]
    r = stow([to_bytes(intruder)], county)
    assert r.status_code == 409
    failed = r.json()["00081198"]["Value"]
    assert len(failed) == 1
    assert failed[0]["00081197"]["Value"] == [STATUS_NOT_AUTHORIZED]
    assert failed[0]["00081155"]["Value"] == [str(intruder.SOPInstanceUID)]
    # Mixed request: its own new study is stored, the foreign instance is not (202).
    mine = ct_series(1)[0]
    r = stow([to_bytes(mine), to_bytes(intruder)], county)
    assert r.status_code == 202
    assert [f["00081197"]["Value"] for f in r.json()["00081198"]["Value"]] == [
        [STATUS_NOT_AUTHORIZED]
    ]
    # STOW to the study's own URL is refused the same way.
    r = client.post(
        f"/dicom-web/studies/{study_uid}",
        content=to_bytes(intruder),
        headers={**county, "Content-Type": "application/dicom"},
    )
    assert r.status_code == 409
    meta = client.get(f"/dicom-web/studies/{study_uid}/metadata", headers=owner)
    assert meta.status_code == 200
    assert {m["00080018"]["Value"][0] for m in meta.json()} == {
        str(d.SOPInstanceUID) for d in owned
    }
    summary = client.get(f"/api/v1/studies/{study_uid}", headers=owner).json()
    assert summary["instance_count"] == 2


def test_a_patient_uuid_in_patient_id_does_not_file_the_study_under_that_patient(
    any_archive, client, login, stow, session
) -> None:  # type: ignore[no-untyped-def]
    patient_user = session.exec(select(User).where(User.username == "patient")).one()
    pid = str(patient_user.patient_id)
    datasets = ct_series(1, patient_id=pid)
    study_uid = str(datasets[0].StudyInstanceUID)
    # Sent by another hospital, and by the patient's own hospital: neither matches by uuid.
    for sender in ("specialist", "county-doctor"):
        ds = ct_series(1, patient_id=pid)[0] if sender == "county-doctor" else datasets[0]
        assert stow([to_bytes(ds)], login(sender)).status_code == 200
        uid = str(ds.StudyInstanceUID)
        study = session.exec(select(Study).where(Study.study_uid == uid)).one()
        assert study.patient_id is None
        listed = client.get("/api/v1/studies", headers=login("patient")).json()["items"]
        assert uid not in {s["study_uid"] for s in listed}
    assert (
        client.get(f"/dicom-web/studies/{study_uid}/metadata", headers=login("patient")).status_code
        == 404
    )
    assert uuid.UUID(pid)


def test_forwarder_refuses_a_spooled_instance_of_a_foreign_study(
    session, committed_engine, tmp_path: Path, indexed_study, demo_user
) -> None:  # type: ignore[no-untyped-def]
    """The second check (at ingest, against the index) catches what the gateway let by."""
    from dicom.archive import LocalArchive
    from dicom.ingest import Rejected, ingest
    from telemed.core import clock

    study_uid = indexed_study(sender="specialist")
    county = demo_user("county-doctor")
    archive = LocalArchive(tmp_path / "archive")
    with pytest.raises(Rejected) as info:
        ingest(
            session=session,
            archive=archive,
            data=to_bytes(ct_series(1, study_uid=study_uid)[0]),
            institution_id=county.institution_id,
            source_ae="DEMO_COUNTY",
            source="cstore",
            now=clock.now(),
            max_study_bytes=10**9,
        )
    assert info.value.code == "foreign_study" and info.value.status == STATUS_NOT_AUTHORIZED
    assert not list((tmp_path / "archive").rglob("*.dcm"))
