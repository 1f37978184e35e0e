"""The C-STORE gateway: registered AEs only, spool before ack, never loses an instance."""

from __future__ import annotations

from pathlib import Path

from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE
from sqlmodel import Session, select

from dicom.models import Study
from tests.dicom.helpers import dcmtk, purge_studies, storescu
from tests.support.dicom_files import ct_series, write_series

DATA = Path("/work/main/.venv/lib/python3.11/site-packages/pydicom/data/test_files")


def _orthanc_instances(server, study_uid: str) -> int:  # type: ignore[no-untyped-def]
    with server.client() as c:
        hits = c.post("/tools/lookup", content=study_uid).json()
        if not hits:
            return 0
        return len(c.get(f"/studies/{hits[0]['ID']}/instances").json())


def test_storescu_from_registered_ae_lands_in_archive_and_index(
    gateway, orthanc_server, committed_engine, ct_files
) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    files = ct_files(5)
    study_uid = str(__import__("pydicom").dcmread(files[0]).StudyInstanceUID)
    try:
        r = storescu(files, port=gw.port, calling="DEMO_COUNTY")
        assert r.returncode == 0, r.stderr
        assert forwarder.wait_idle(60)
        assert _orthanc_instances(orthanc_server, study_uid) == 5
        r = storescu(files, port=gw.port, calling="DEMO_COUNTY")  # same instances again
        assert r.returncode == 0, r.stderr
        assert forwarder.wait_idle(60)
        assert _orthanc_instances(orthanc_server, study_uid) == 5
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == study_uid)).one()
            assert (study.instance_count, study.series_count) == (5, 1)
            assert study.source_ae == "DEMO_COUNTY" and study.source == "cstore"
            assert study.source_institution_id is not None
    finally:
        purge_studies(committed_engine, study_uid)


def test_unregistered_calling_ae_is_rejected_and_gateway_keeps_serving(gateway, ct_files) -> None:  # type: ignore[no-untyped-def]
    gw, _ = gateway
    r = storescu(ct_files(1), port=gw.port, calling="STRANGER")
    assert r.returncode != 0
    assert (
        "Calling AE Title Not Recognized" in (r.stderr + r.stdout)
        or "reject" in (r.stderr + r.stdout).lower()
    )
    ae = AE(ae_title="STRANGER")
    ae.add_requested_context("1.2.840.10008.1.1")
    assoc = ae.associate("127.0.0.1", gw.port, ae_title="TELEMED")
    assert assoc.is_rejected
    ae2 = AE(ae_title="DEMO_COUNTY")
    ae2.add_requested_context("1.2.840.10008.1.1")
    assoc2 = ae2.associate("127.0.0.1", gw.port, ae_title="TELEMED")
    assert assoc2.is_established
    assert assoc2.send_c_echo().Status == 0
    assoc2.release()
    assert gw.refused >= 2


def test_bad_instances_get_a_dicom_status_and_nothing_accepted_is_lost(
    gateway, tmp_path, committed_engine
) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    good = write_series(ct_series(2), tmp_path / "good")
    truncated = tmp_path / "truncated.dcm"
    truncated.write_bytes((DATA / "MR_truncated.dcm").read_bytes())
    ae = AE(ae_title="DEMO_COUNTY")
    ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.4", ExplicitVRLittleEndian)  # MR
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.481.2", ExplicitVRLittleEndian)  # RT dose
    assoc = ae.associate("127.0.0.1", gw.port, ae_title="TELEMED")
    assert assoc.is_established
    try:
        assert assoc.send_c_store(good[0]).Status == 0
        status = assoc.send_c_store(truncated).Status
        assert status == 0xC000, hex(status)
        path = DATA / "badVR.dcm"  # NumberOfFrames "1A" is not an IS
        assert assoc.send_c_store(path).Status == 0xA900
        assert assoc.send_c_store(good[1]).Status == 0  # still serving after refusals
    finally:
        assoc.release()
    study_uid = str(__import__("pydicom").dcmread(good[0]).StudyInstanceUID)
    try:
        assert forwarder.wait_idle(60)
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == study_uid)).one()
            assert study.instance_count == 2
    finally:
        purge_studies(committed_engine, study_uid)


def test_stopped_orthanc_delays_but_never_loses(
    gateway, orthanc_server, committed_engine, ct_files
) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    files = ct_files(4)
    study_uid = str(__import__("pydicom").dcmread(files[0]).StudyInstanceUID)
    orthanc_server.stop()
    try:
        r = storescu(files, port=gw.port, calling="DEMO_COUNTY")
        assert r.returncode == 0, r.stderr  # acknowledged: durably spooled
        assert len(list(gw.spool.pending())) + len(forwarder._inflight) >= 1
        assert not forwarder.wait_idle(1.0)  # cannot drain while the archive is down
    finally:
        orthanc_server.restart()
    try:
        assert forwarder.wait_idle(60)
        assert _orthanc_instances(orthanc_server, study_uid) == 4
        assert forwarder.retries >= 1
        assert gw.spool.pending() == []
    finally:
        purge_studies(committed_engine, study_uid)


def test_echoscu_from_dcmtk(gateway) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess

    gw, _ = gateway
    r = subprocess.run(
        [dcmtk("echoscu"), "-aet", "DEMO_COUNTY", "-aec", "TELEMED", "127.0.0.1", str(gw.port)],
        capture_output=True,
        text=True,
        env={**os.environ, "TCP_NODELAY": "1"},
        timeout=30,
    )
    assert r.returncode == 0, r.stderr
