"""Ingest on Orthanc's own C-STORE SCP with our checks in its Python plugin
(`dicom/orthanc_plugin/filter.py`), fed by the change feed, against a real Orthanc 1.10 +
Debian orthanc-python 4.0 and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE
from sqlmodel import Session, select

from dicom.archive import OrthancArchive
from dicom.models import OrderStatus, Study, WorklistItem
from dicom.orthanc_feed import ChangeFeed
from dicom.orthanc_plugin.filter import Filter
from dicom.orthanc_view import write_view
from tests.dicom.helpers import purge_studies, storescu
from tests.dicom.test_worklist import committed_order  # noqa: F401  (fixture)
from tests.support import orthanc
from tests.support.dicom_files import ct_series, write_series

LIMIT = 50 * 1024**2


@pytest.fixture(scope="module")
def view_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("view") / "orthanc-view.json"


@pytest.fixture(scope="module")
def filtered(view_file: Path) -> Iterator[orthanc.OrthancServer]:
    """Orthanc with the filter plugin; it lets every AE associate, so the plugin's own
    allow-list is what refuses (deployed, `sync_modalities` also refuses at association)."""
    assert orthanc.filter_available(), (
        "Orthanc or orthanc-python is not installed (scripts/test.sh installs them)"
    )
    server = orthanc.start(always_allow_store=True, filter_view=view_file)
    yield server
    server.cleanup()


@pytest.fixture
def feed(filtered, committed_engine, view_file) -> ChangeFeed:  # type: ignore[no-untyped-def]
    """A feed after what earlier tests left in Orthanc's log, writing the plugin's view."""
    archive = OrthancArchive(filtered.url, filtered.username, filtered.password)

    def refresh() -> None:
        write_view(committed_engine, view_file, max_study_bytes=LIMIT)

    refresh()
    f = ChangeFeed(engine=committed_engine, archive=archive, on_indexed=refresh)
    f.seq = int(archive.client.get(f"{archive.url}/changes", params={"last": ""}).json()["Last"])
    return f


def _send(server: orthanc.OrthancServer, calling: str, datasets: list[Dataset]) -> list[int]:
    """C-STORE each dataset from `calling` (pynetdicom); the DIMSE statuses Orthanc sent."""
    ae = AE(ae_title=calling)
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    assoc = ae.associate("127.0.0.1", server.dicom_port, ae_title=server.aet)
    assert assoc.is_established
    try:
        return [int(assoc.send_c_store(ds).Status) for ds in datasets]
    finally:
        assoc.release()


def _in_orthanc(server: orthanc.OrthancServer, sop_uids: set[str]) -> set[str]:
    with server.client() as c:
        return {
            uid
            for uid in sop_uids
            if any(h["Type"] == "Instance" for h in c.post("/tools/lookup", content=uid).json())
        }


def test_registered_ae_is_stored_indexed_and_enters_the_view(
    filtered, feed, committed_engine, view_file, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    files = write_series(ct_series(3, accession="FILTER-1"), tmp_path / "s")
    uid = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    try:
        r = storescu(files, port=filtered.dicom_port, calling="DEMO_COUNTY", called="ORTHANC")
        assert r.returncode == 0 and "Status" not in r.stderr, r.stderr
        while feed.poll_once():
            pass
        feed.poll_once()
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == uid)).one()
            assert (study.instance_count, study.source_ae) == (3, "DEMO_COUNTY")
            owner = str(study.source_institution_id)
        assert json.loads(view_file.read_text())["studies"][uid][0] == owner
    finally:
        purge_studies(committed_engine, uid)


def test_unknown_calling_ae_is_refused_and_nothing_is_stored(filtered, feed) -> None:  # type: ignore[no-untyped-def]
    datasets = ct_series(2)
    assert _send(filtered, "STRANGER", datasets) == [0x0124, 0x0124]
    assert _in_orthanc(filtered, {str(d.SOPInstanceUID) for d in datasets}) == set()


def test_another_hospitals_study_is_refused_with_0124(
    filtered, feed, committed_engine, other_hospital_ae, view_file
) -> None:  # type: ignore[no-untyped-def]
    owned = ct_series(2, accession="OWN-F")
    study_uid = str(owned[0].StudyInstanceUID)
    intruder = ct_series(1, study_uid=study_uid, accession="FOREIGN-F")
    try:
        assert _send(filtered, "DEMO_COUNTY", owned) == [0, 0]
        # Before the feed has indexed it: the plugin's claim holds the study for the county.
        write_view(committed_engine, view_file, max_study_bytes=LIMIT)  # + REGIONAL_CT
        assert _send(filtered, other_hospital_ae, intruder) == [0x0124]
        feed.poll_once()
        # After: the view (from the index) says who owns it.
        late = ct_series(1, study_uid=study_uid)
        assert _send(filtered, other_hospital_ae, late) == [0x0124]
        assert (
            _in_orthanc(filtered, {str(intruder[0].SOPInstanceUID), str(late[0].SOPInstanceUID)})
            == set()
        )
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == study_uid)).one()
            assert (study.instance_count, study.accession_number) == (2, "OWN-F")
        # The owner still adds to its study.
        assert _send(filtered, "DEMO_COUNTY", ct_series(1, study_uid=study_uid)) == [0]
    finally:
        purge_studies(committed_engine, study_uid)


def test_worklist_accession_is_matched(
    filtered,
    feed,
    committed_order,  # noqa: F811
    committed_engine,
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    cid, item = committed_order
    datasets = ct_series(
        2, patient_id="CT-F-9", patient_name="BATEER", accession=item.accession_number
    )
    uid = str(datasets[0].StudyInstanceUID)
    try:
        assert _send(filtered, "DEMO_COUNTY", datasets) == [0, 0]
        while feed.poll_once():
            pass
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == uid)).one()
            assert study.patient_id == item.patient_id
            order = s.get(WorklistItem, item.id)
            assert order is not None
            assert (order.status, order.matched_study_uid) == (OrderStatus.COMPLETED, uid)
    finally:
        purge_studies(committed_engine, uid)


def test_filter_rules_on_their_own(tmp_path: Path) -> None:
    """The decision without Orthanc: view reload, claims, the size limit."""
    view = tmp_path / "view.json"
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    view.write_text(
        json.dumps({"aes": {"A": a}, "studies": {"S1": [b, 0]}, "max_study_bytes": 100})
    )
    f = Filter(str(view))
    assert f.check("X", "S2", 1) == (0x0124, "unknown_ae")
    assert f.check("A", "S1", 1) == (0x0124, "foreign_study")
    assert f.check("A", "S2", 60) == (0, "")
    assert f.check("A", "S2", 60) == (0xA700, "study_too_large")
    # A newly registered AE appears with the next view; the claim on S2 stays A's.
    view.write_text(json.dumps({"aes": {"A": a, "B": b}, "studies": {"S1": [b, 0]}}))
    import os

    os.utime(view, ns=(1, 1))  # a different mtime even within the clock's resolution
    assert f.check("B", "S2", 1) == (0x0124, "foreign_study")
    assert f.check("B", "S1", 1) == (0, "")


def test_the_deployed_feed_command_keeps_the_view_and_indexes(
    filtered, committed_engine, database_url, view_file, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """`telemed dicom orthanc-feed` with TELEMED_DICOM__INGEST=orthanc-filter, as deployed:
    it writes the view the plugin reads (at the configured path) and indexes what arrives."""
    import os
    import signal
    import subprocess
    import sys
    import time

    # The file the plugin of `filtered` reads: written here by the deployed command alone
    # (not by another test's feed, which may have run on another worker or not at all).
    view = view_file
    view.unlink(missing_ok=True)
    env = {
        **os.environ,
        "TELEMED_ENV": "development",
        "TELEMED_DATABASE_URL": database_url,
        "TELEMED_ORTHANC_URL": filtered.url,
        "TELEMED_ORTHANC_USERNAME": filtered.username,
        "TELEMED_ORTHANC_PASSWORD": filtered.password,
        "TELEMED_DICOM__INGEST": "orthanc-filter",
        "TELEMED_DICOM__FILTER_VIEW_FILE": str(view),
    }
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from telemed.cli import main; main()", "dicom", "orthanc-feed"]
        + ["--state-file", str(tmp_path / "seq")],
        cwd=root,
        env={**env, "PYTHONPATH": str(root)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    files = write_series(ct_series(2, accession="DEPLOYED-1"), tmp_path / "s")
    uid = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    try:
        deadline = time.monotonic() + 60
        while not view.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert view.exists(), proc.stdout.read().decode() if proc.stdout else ""
        assert "DEMO_COUNTY" in json.loads(view.read_text())["aes"]
        r = storescu(files, port=filtered.dicom_port, calling="DEMO_COUNTY", called="ORTHANC")
        assert r.returncode == 0, r.stderr
        count = 0
        while time.monotonic() < deadline and count < 2:
            with Session(committed_engine) as s:
                study = s.exec(select(Study).where(Study.study_uid == uid)).first()
                count = study.instance_count if study is not None else 0
            time.sleep(0.1)
        assert count == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        purge_studies(committed_engine, uid)
