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
