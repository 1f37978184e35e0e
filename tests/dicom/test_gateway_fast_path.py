"""The gateway's fast path: header facts spooled with the instance, owners from memory,
batched forwarding and indexing, and the guarantees it keeps.

Parallel associations, compressed transfer syntaxes made by dcmtk (JPEG-LS, JPEG
lossless), a foreign owner refused from the in-memory view, a refusal from memory checked
again against the index, and a gateway process killed between ack and forward whose spool
is forwarded by the next run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian
from pynetdicom import AE
from sqlmodel import Session, select

from dicom.ingest import STATUS_NOT_AUTHORIZED, Rejected
from dicom.models import Instance, Study
from dicom.owners import StudyOwners
from telemed.core import clock
from tests.dicom.helpers import dcmtk, purge_studies, storescu
from tests.support.dicom_files import ct_series, write_series
from tests.support.ports import free_port, wait_port

ROOT = Path(__file__).resolve().parents[2]


def _orthanc_count(server, study_uid: str) -> int:  # type: ignore[no-untyped-def]
    with server.client() as c:
        hits = c.post("/tools/lookup", content=study_uid).json()
        if not hits:
            return 0
        return len(c.get(f"/studies/{hits[0]['ID']}/instances").json())


def _indexed(engine, study_uid: str) -> tuple[int, int, set[str]]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        study = s.exec(select(Study).where(Study.study_uid == study_uid)).one()
        syntaxes = set(
            s.exec(select(Instance.transfer_syntax_uid).where(Instance.study_uid == study_uid))
        )
        return study.instance_count, study.series_count, syntaxes


def test_parallel_associations_all_land_once_in_archive_and_index(
    gateway, orthanc_server, committed_engine, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    shared = ct_series(6)  # one study sent by three associations at once, two series
    shared_uid = str(shared[0].StudyInstanceUID)
    second_series = ct_series(3, study_uid=shared_uid)
    own = [ct_series(4) for _ in range(2)]  # and two studies of their own
    batches = [shared[:3] + second_series, shared[3:], shared, *own]
    files = [write_series(b, tmp_path / f"a{i}") for i, b in enumerate(batches)]
    statuses: list[list[int]] = []
    lock = threading.Lock()

    def send(paths: list[Path]) -> None:
        ae = AE(ae_title="DEMO_COUNTY")
        ae.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
        assoc = ae.associate("127.0.0.1", gw.port, ae_title="TELEMED")
        assert assoc.is_established
        try:
            got = [assoc.send_c_store(p).Status for p in paths]
        finally:
            assoc.release()
        with lock:
            statuses.append(got)

    threads = [threading.Thread(target=send, args=(f,)) for f in files]
    uids = [shared_uid] + [str(b[0].StudyInstanceUID) for b in own]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(len(s) for s in statuses) == sorted(len(f) for f in files)
        assert {code for s in statuses for code in s} == {0x0000}
        assert forwarder.wait_idle(60)
        assert _indexed(committed_engine, shared_uid)[:2] == (9, 2)  # each SOP counted once
        assert _orthanc_count(orthanc_server, shared_uid) == 9
        for batch in own:
            uid = str(batch[0].StudyInstanceUID)
            assert _indexed(committed_engine, uid)[:2] == (4, 1)
            assert _orthanc_count(orthanc_server, uid) == 4
        assert gw.spool.pending() == [] and forwarder.rejected == 0
    finally:
        purge_studies(committed_engine, *uids)


@pytest.mark.parametrize(
    ("tool", "args", "propose", "syntax"),
    [
        ("dcmcjpls", [], "-xt", "1.2.840.10008.1.2.4.80"),  # JPEG-LS lossless
        ("dcmcjpeg", ["+e1"], "-xs", "1.2.840.10008.1.2.4.70"),  # JPEG lossless, SV1
    ],
)
def test_compressed_transfer_syntax_from_dcmtk_is_stored_and_indexed(
    gateway, orthanc_server, committed_engine, tmp_path, tool, args, propose, syntax
) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    plain = write_series(ct_series(3, size=64), tmp_path / "plain")
    packed = []
    for i, path in enumerate(plain):
        out = tmp_path / f"c{i}.dcm"
        r = subprocess.run([dcmtk(tool), *args, str(path), str(out)], capture_output=True)
        assert r.returncode == 0, r.stderr
        packed.append(out)
    assert str(pydicom.dcmread(packed[0]).file_meta.TransferSyntaxUID) == syntax
    study_uid = str(pydicom.dcmread(packed[0]).StudyInstanceUID)
    try:
        r = subprocess.run(  # the modality proposes the compressed transfer syntax only
            [dcmtk("storescu"), propose, "-aet", "DEMO_COUNTY", "-aec", "TELEMED", "127.0.0.1"]
            + [str(gw.port), *map(str, packed)],
            capture_output=True,
            text=True,
            env={**os.environ, "TCP_NODELAY": "1"},
            timeout=120,
        )
        assert r.returncode == 0 and "E: " not in r.stderr, r.stderr
        assert forwarder.wait_idle(60)
        assert _indexed(committed_engine, study_uid) == (3, 1, {syntax})
        assert _orthanc_count(orthanc_server, study_uid) == 3
    finally:
        purge_studies(committed_engine, study_uid)


def test_a_study_claimed_in_memory_by_another_hospital_is_refused_on_the_fast_path(
    gateway, committed_engine, other_hospital_ae, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """Two hospitals send the same new study at once: the first claims it (before the
    forwarder has indexed anything), the second gets 0x0124 from the in-memory view."""
    gw, forwarder = gateway
    study = ct_series(3)
    uid = str(study[0].StudyInstanceUID)
    files = write_series(study, tmp_path / "s")
    first = AE(ae_title=other_hospital_ae)
    first.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    second = AE(ae_title="DEMO_COUNTY")
    second.add_requested_context(CTImageStorage, ExplicitVRLittleEndian)
    a = first.associate("127.0.0.1", gw.port, ae_title="TELEMED")
    b = second.associate("127.0.0.1", gw.port, ae_title="TELEMED")
    try:
        assert a.send_c_store(files[0]).Status == 0x0000
        assert b.send_c_store(files[1]).Status == STATUS_NOT_AUTHORIZED
        assert a.send_c_store(files[2]).Status == 0x0000
        assert b.send_c_store(files[1]).Status == STATUS_NOT_AUTHORIZED  # still, after indexing
    finally:
        a.release()
        b.release()
    try:
        assert forwarder.wait_idle(60)
        assert _indexed(committed_engine, uid)[0] == 2
        assert gw.refused_instances == 2
    finally:
        purge_studies(committed_engine, uid)


def test_a_refusal_from_memory_is_checked_against_the_index(committed_engine, demo_user) -> None:  # type: ignore[no-untyped-def]
    """The view refuses only what the index confirms: once the owner's study is gone
    (deleted), the same UID is free for the next sender."""
    owner = demo_user("specialist").institution_id
    county = demo_user("county-doctor").institution_id
    with Session(committed_engine) as s:  # a committed study of the specialist's hospital
        uid = f"2.25.{uuid.uuid4().int}"
        now = clock.now()
        s.add(
            Study(
                study_uid=uid,
                source_institution_id=owner,
                source="cstore",
                size_bytes=10,
                created_at=now,
                updated_at=now,
            )
        )
        s.commit()
    owners = StudyOwners(committed_engine)
    try:
        owners.admit(uid, owner, 100)
        with pytest.raises(Rejected) as refused:
            owners.admit(uid, county, 100)
        assert refused.value.status == STATUS_NOT_AUTHORIZED
        reads = owners.index_reads
        owners.admit(uid, owner, 100)  # the owner again: from memory
        assert owners.index_reads == reads
        with pytest.raises(Rejected) as too_large:
            owners.admit(uid, owner, 10**6, max_bytes=1000)
        assert too_large.value.code == "study_too_large"
    finally:
        purge_studies(committed_engine, uid)
    owners.admit(uid, county, 100)  # the study is gone: the index says it is free
    assert owners.index_reads == reads + 1


def _gateway_process(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from telemed.cli import main; main()"]
        + ["dicom", "gateway", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_a_gateway_killed_between_ack_and_forward_loses_nothing(
    orthanc_server, orthanc_archive, committed_engine, database_url, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    """The gateway process acknowledges while its archive is unreachable, is killed
    (SIGKILL), and the next run's forwarder stores and indexes every acknowledged file."""
    from dicom.forwarder import Forwarder
    from dicom.spool import Spool

    spool_dir = tmp_path / "spool"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEMED_DATABASE_URL": database_url,
        "TELEMED_DICOM__SPOOL_DIR": str(spool_dir),
        "TELEMED_ORTHANC_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens
        "TELEMED_ORTHANC_USERNAME": orthanc_server.username,
        "TELEMED_ORTHANC_PASSWORD": orthanc_server.password,
        "TELEMED_LOG_LEVEL": "WARNING",
    }
    port = free_port()
    proc = _gateway_process(env, port)
    files = write_series(ct_series(5), tmp_path / "s")
    uid = str(pydicom.dcmread(files[0]).StudyInstanceUID)
    try:
        wait_port(port, timeout=60)
        r = storescu(files, port=port, calling="DEMO_COUNTY")
        assert r.returncode == 0, r.stderr  # all five acknowledged
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    spool = Spool(spool_dir)
    assert len(spool.pending()) == 5  # durable: every acknowledged file survived the kill
    assert _orthanc_count(orthanc_server, uid) == 0
    forwarder = Forwarder(
        spool=spool, archive=orthanc_archive, engine=committed_engine, max_study_bytes=10**9
    ).start()
    try:
        assert forwarder.wait_idle(60)
        assert _orthanc_count(orthanc_server, uid) == 5
        count, series, _ = _indexed(committed_engine, uid)
        assert (count, series) == (5, 1)
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == uid)).one()
            assert study.source_ae == "DEMO_COUNTY" and study.source_institution_id is not None
        assert spool.pending() == []
    finally:
        forwarder.stop()
        purge_studies(committed_engine, uid)
