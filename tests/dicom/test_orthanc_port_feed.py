"""The alternative path: Orthanc's own DICOM port fed from the registry + its change feed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pydicom
import pytest
from sqlmodel import Session, select

from dicom.archive import OrthancArchive
from dicom.models import Study
from dicom.orthanc_feed import ChangeFeed, sync_modalities
from tests.dicom.helpers import purge_studies, storescu
from tests.support import orthanc


@pytest.fixture(scope="module")
def strict_orthanc() -> Iterator[orthanc.OrthancServer]:
    """An Orthanc that accepts C-STORE only from its declared modalities."""
    if not orthanc.available():
        pytest.skip("Orthanc not installed")
    server = orthanc.start(always_allow_store=False)
    yield server
    server.cleanup()


def test_registered_ae_lands_and_is_indexed_unregistered_is_refused(
    strict_orthanc, committed_engine, ct_files, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    archive = OrthancArchive(strict_orthanc.url, strict_orthanc.username, strict_orthanc.password)
    assert sync_modalities(engine=committed_engine, archive=archive) >= 1
    feed = ChangeFeed(engine=committed_engine, archive=archive, state_file=tmp_path / "seq")
    feed.start()
    files = ct_files(3)
    uid = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    try:
        refused = storescu(
            files, port=strict_orthanc.dicom_port, calling="STRANGER", called="ORTHANC"
        )
        assert refused.returncode != 0
        r = storescu(files, port=strict_orthanc.dicom_port, calling="DEMO_COUNTY", called="ORTHANC")
        assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 30
        study = None
        while time.monotonic() < deadline:
            with Session(committed_engine) as s:
                study = s.exec(select(Study).where(Study.study_uid == uid)).first()
                if study is not None and study.instance_count == 3:
                    break
            time.sleep(0.1)
        assert study is not None and study.instance_count == 3
        assert study.source_ae == "DEMO_COUNTY" and study.source_institution_id is not None
        assert int((tmp_path / "seq").read_text()) > 0
    finally:
        feed.stop()
        purge_studies(committed_engine, uid)


def test_feed_records_the_study_attributes(
    strict_orthanc, committed_engine, ct_files, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    archive = OrthancArchive(strict_orthanc.url, strict_orthanc.username, strict_orthanc.password)
    sync_modalities(engine=committed_engine, archive=archive)
    feed = ChangeFeed(engine=committed_engine, archive=archive)
    while feed.poll_once():
        pass
    files = ct_files(2, patient_id="FEED-7", accession="ACC-FEED")
    uid = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    try:
        r = storescu(files, port=strict_orthanc.dicom_port, calling="DEMO_COUNTY", called="ORTHANC")
        assert r.returncode == 0, r.stderr
        feed.poll_once()
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == uid)).one()
            assert (study.dicom_patient_id, study.accession_number) == ("FEED-7", "ACC-FEED")
            assert (study.modality, study.instance_count, study.series_count) == ("CT", 2, 1)
            assert study.size_bytes > 0 and study.study_date is not None
    finally:
        purge_studies(committed_engine, uid)


def _wait(predicate, timeout: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return bool(predicate())


def _fresh_feed(engine, archive: OrthancArchive) -> ChangeFeed:  # type: ignore[no-untyped-def]
    """A feed that starts after what earlier tests left in Orthanc's change log."""
    feed = ChangeFeed(engine=engine, archive=archive)
    last = archive.client.get(f"{archive.url}/changes", params={"last": ""}).json()
    feed.seq = int(last.get("Last", 0))
    return feed


def _orthanc_study_sops(server: orthanc.OrthancServer, study_uid: str) -> set[str]:
    """SOP Instance UIDs Orthanc holds under a Study Instance UID (every resource of it)."""
    with server.client() as c:
        hits = [
            h for h in c.post("/tools/lookup", content=study_uid).json() if h["Type"] == "Study"
        ]
        sops: set[str] = set()
        for hit in hits:
            for row in c.get(f"/studies/{hit['ID']}/instances").json():
                sops.add(row["MainDicomTags"]["SOPInstanceUID"])
        return sops


def test_feed_deletes_an_instance_sent_to_orthancs_port_into_another_hospitals_study(
    strict_orthanc, committed_engine, other_hospital_ae, tmp_path, client, login
) -> None:  # type: ignore[no-untyped-def]
    """One owner per study on Orthanc's own port: Orthanc acknowledges the intruder (it
    cannot ask us first), the change feed refuses it and deletes it; the owner's study
    keeps its metadata, instances and counters."""
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
    from pynetdicom import AE

    from dicom.archive import set_archive
    from dicom.models import Instance
    from telemed.identity.models import User
    from tests.support.dicom_files import ct_series, write_series

    archive = OrthancArchive(strict_orthanc.url, strict_orthanc.username, strict_orthanc.password)
    assert sync_modalities(engine=committed_engine, archive=archive) >= 2  # + REGIONAL_CT
    feed = _fresh_feed(committed_engine, archive)
    feed.start()
    owned = ct_series(2, patient_name="OWNER^PATIENT", accession="OWN-1")
    study_uid = str(owned[0].StudyInstanceUID)
    original = {str(d.SOPInstanceUID) for d in owned}
    # The same StudyInstanceUID (and PatientID: the same Orthanc study resource), one slice
    # in the owner's series and one in a new series, from the county's registered AE.
    same_series = ct_series(
        1,
        study_uid=study_uid,
        series_uid=str(owned[0].SeriesInstanceUID),
        patient_name="INTRUDER^X",
        accession="FOREIGN-1",
    )
    new_series = ct_series(1, study_uid=study_uid, patient_name="INTRUDER^X")
    intruders = {str(d.SOPInstanceUID) for d in same_series + new_series}
    county_own = ct_series(1)
    county_uid = str(county_own[0].StudyInstanceUID)
    try:
        r = storescu(
            write_series(owned, tmp_path / "own"),
            port=strict_orthanc.dicom_port,
            calling=other_hospital_ae,
            called="ORTHANC",
        )
        assert r.returncode == 0, r.stderr
        assert _wait(lambda: feed.indexed >= 2)
        assert _orthanc_study_sops(strict_orthanc, study_uid) == original

        # dcmtk storescu: Orthanc acknowledges (it stored the file before the feed saw it).
        r = storescu(
            write_series(same_series, tmp_path / "intruder"),
            port=strict_orthanc.dicom_port,
            calling="DEMO_COUNTY",
            called="ORTHANC",
        )
        assert r.returncode == 0, r.stderr
        # pynetdicom: the foreign instance and the county's own study in one association.
        ae = AE(ae_title="DEMO_COUNTY")
        ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
        assoc = ae.associate("127.0.0.1", strict_orthanc.dicom_port, ae_title="ORTHANC")
        assert assoc.is_established
        try:
            assert assoc.send_c_store(new_series[0]).Status == 0x0000
            assert assoc.send_c_store(county_own[0]).Status == 0x0000
        finally:
            assoc.release()

        assert _wait(lambda: feed.refused == 2), (feed.refused, feed.indexed)
        # Deleted from Orthanc: neither under the study nor anywhere else.
        assert _wait(lambda: _orthanc_study_sops(strict_orthanc, study_uid) == original), (
            _orthanc_study_sops(strict_orthanc, study_uid) - original,
            original - _orthanc_study_sops(strict_orthanc, study_uid),
            intruders,
        )
        with strict_orthanc.client() as c:
            for sop in intruders:
                assert c.post("/tools/lookup", content=sop).json() == []
        # The county's own new study on the same association was indexed as usual.
        assert _wait(lambda: _indexed_count(committed_engine, county_uid) == 1)
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == study_uid)).one()
            spec = s.exec(select(User).where(User.username == "specialist")).one()
            assert (study.instance_count, study.series_count) == (2, 1)
            assert study.source_institution_id == spec.institution_id
            assert (study.source_ae, study.patient_name) == (other_hospital_ae, "OWNER^PATIENT")
            assert study.accession_number == "OWN-1"
            indexed = set(s.exec(select(Instance.sop_uid).where(Instance.study_uid == study_uid)))
            assert indexed == original

        # Through our DICOMweb the owner reads exactly its study; the county still cannot.
        set_archive(archive)
        owner = login("specialist")
        meta = client.get(f"/dicom-web/studies/{study_uid}/metadata", headers=owner)
        assert meta.status_code == 200, meta.text
        assert {m["00080018"]["Value"][0] for m in meta.json()} == original
        assert {m["00100010"]["Value"][0]["Alphabetic"] for m in meta.json()} == {"OWNER^PATIENT"}
        assert {m["00080050"]["Value"][0] for m in meta.json()} == {"OWN-1"}
        got = client.get(
            f"/dicom-web/studies/{study_uid}",
            headers={**owner, "Accept": 'multipart/related; type="application/dicom"'},
        )
        assert got.status_code == 200 and got.content.count(b"DICM") == 2
        summary = client.get(f"/api/v1/studies/{study_uid}", headers=owner).json()
        assert summary["instance_count"] == 2
        county = login("county-doctor")
        assert (
            client.get(f"/dicom-web/studies/{study_uid}/metadata", headers=county).status_code
            == 404
        )
    finally:
        set_archive(None)
        feed.stop()
        purge_studies(committed_engine, study_uid, county_uid)


def _indexed_count(engine, study_uid: str) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        study = s.exec(select(Study).where(Study.study_uid == study_uid)).first()
        return study.instance_count if study is not None else 0


def test_feed_retries_deleting_a_refused_instance_until_orthanc_has_removed_it(
    strict_orthanc, committed_engine, other_hospital_ae, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A DELETE that fails (Orthanc busy or restarting) is not forgotten: the next poll
    deletes the refused instance."""
    import httpx

    from tests.support.dicom_files import ct_series, write_series

    archive = OrthancArchive(strict_orthanc.url, strict_orthanc.username, strict_orthanc.password)
    sync_modalities(engine=committed_engine, archive=archive)
    feed = _fresh_feed(committed_engine, archive)
    owned = ct_series(1)
    study_uid = str(owned[0].StudyInstanceUID)
    intruder = ct_series(1, study_uid=study_uid)
    real_delete = archive.client.delete
    failures = []

    def flaky_delete(url, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not failures:
            failures.append(url)
            raise httpx.ConnectError("Orthanc restarting")
        return real_delete(url, *args, **kwargs)

    try:
        r = storescu(
            write_series(owned, tmp_path / "own"),
            port=strict_orthanc.dicom_port,
            calling=other_hospital_ae,
            called="ORTHANC",
        )
        assert r.returncode == 0, r.stderr
        feed.poll_once()
        assert feed.indexed == 1
        r = storescu(
            write_series(intruder, tmp_path / "in"),
            port=strict_orthanc.dicom_port,
            calling="DEMO_COUNTY",
            called="ORTHANC",
        )
        assert r.returncode == 0, r.stderr
        monkeypatch.setattr(archive.client, "delete", flaky_delete)
        feed.poll_once()
        assert len(failures) == 1 and feed.refused == 0
        sop = str(intruder[0].SOPInstanceUID)
        with strict_orthanc.client() as c:
            assert c.post("/tools/lookup", content=sop).json() != []  # still there
        feed.poll_once()  # no new change: the pending delete is retried
        assert feed.refused == 1
        with strict_orthanc.client() as c:
            assert c.post("/tools/lookup", content=sop).json() == []
        assert _orthanc_study_sops(strict_orthanc, study_uid) == {str(owned[0].SOPInstanceUID)}
    finally:
        purge_studies(committed_engine, study_uid)
