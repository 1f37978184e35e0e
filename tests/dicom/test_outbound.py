"""Outbound DICOM against real peers: C-ECHO (Orthanc, pynetdicom), C-STORE job, C-FIND/C-MOVE."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE, AllStoragePresentationContexts, StoragePresentationContexts, evt
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
    Verification,
)
from sqlmodel import Session, col, delete, select

from dicom import outbound
from dicom.archive import LocalArchive
from dicom.models import JobStatus, OutboundJob, Study
from telemed.network.models import DicomAE
from tests.dicom.helpers import purge_studies
from tests.support.dicom_files import ct_series, to_bytes


class StoreSCP:
    """A pynetdicom storage SCP recording what it receives (a reader's PACS)."""

    def __init__(self, ae_title: str = "READER_PACS") -> None:
        self.received: list[str] = []
        self.done = threading.Event()
        self.expected = 0
        ae = AE(ae_title=ae_title)
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax)
        ae.add_supported_context(Verification)
        self.server = ae.start_server(
            ("127.0.0.1", 0),
            block=False,
            evt_handlers=[(evt.EVT_C_STORE, self._store), (evt.EVT_C_ECHO, lambda e: 0)],
        )
        self.port = self.server.server_address[1]

    def _store(self, event: Any) -> int:
        self.received.append(str(event.dataset.SOPInstanceUID))
        if len(self.received) >= self.expected:
            self.done.set()
        return 0

    def stop(self) -> None:
        self.server.shutdown()


@pytest.fixture
def store_scp() -> Iterator[StoreSCP]:
    scp = StoreSCP()
    yield scp
    scp.stop()


def _ae(session: Session, inst_id: uuid.UUID, title: str, port: int, kind: str = "pacs") -> DicomAE:
    ae = DicomAE(institution_id=inst_id, ae_title=title, host="127.0.0.1", port=port, kind=kind)
    session.add(ae)
    session.flush()
    return ae


def test_echo_api_against_orthanc_and_a_dead_port(
    client, login, session, demo_user, orthanc_server
) -> None:  # type: ignore[no-untyped-def]
    regional = demo_user("specialist").institution_id
    ok_ae = _ae(session, regional, "READER_ORTHANC", orthanc_server.dicom_port)
    from tests.support.ports import free_port

    dead = _ae(session, regional, "READER_DEAD", free_port())
    r = client.post(f"/api/v1/network/aes/{ok_ae.id}/echo", headers=login("specialist"))
    assert r.status_code == 200, r.text
    assert r.json()["ok"] is True and r.json()["status"] == 0
    r = client.post(f"/api/v1/network/aes/{dead.id}/echo", headers=login("specialist"))
    assert r.status_code == 200 and r.json()["ok"] is False
    r = client.post(f"/api/v1/network/aes/{ok_ae.id}/echo", headers=login("county-doctor"))
    assert r.status_code == 403  # another institution's AE


def test_send_study_job_stores_every_instance_at_the_pacs(
    committed_engine, tmp_path, store_scp, demo_user, client, login, session, stow
) -> None:  # type: ignore[no-untyped-def]
    archive = LocalArchive(tmp_path / "archive")
    datasets = ct_series(3)
    for ds in datasets:
        archive.store(to_bytes(ds))
    study_uid = str(datasets[0].StudyInstanceUID)
    user_id = demo_user("specialist").id
    regional = demo_user("specialist").institution_id
    store_scp.expected = 3
    with Session(committed_engine) as s:
        ae = DicomAE(
            institution_id=regional,
            ae_title="READER_PACS",
            host="127.0.0.1",
            port=store_scp.port,
            kind="pacs",
        )
        s.add(ae)
        s.flush()
        job = OutboundJob(
            kind="send",
            study_uid=study_uid,
            ae_id=ae.id,
            requested_by_id=user_id,
            created_at=__import__("telemed.core.clock", fromlist=["now"]).now(),
        )
        s.add(job)
        s.commit()
        ae_id, job_id = ae.id, job.id
        snapshot = DicomAE.model_validate(ae.model_dump())
    try:

        def work(job_session: Session, j: OutboundJob) -> dict[str, Any]:
            return outbound.send_study(
                archive=archive,
                study_uid=study_uid,
                ae=snapshot,
                calling_ae="TELEMED",
                progress=lambda d, f: None,
            )

        outbound.start_job(engine=committed_engine, job_id=job_id, work=work).join(60)
        done = outbound.wait_job(committed_engine, job_id)
        assert done.status == JobStatus.DONE, done.error
        assert done.result["sent"] == 3 and done.started_at and done.finished_at
        assert sorted(store_scp.received) == sorted(str(d.SOPInstanceUID) for d in datasets)
    finally:
        with Session(committed_engine) as s:
            s.exec(delete(OutboundJob).where(OutboundJob.id == job_id))  # type: ignore[call-overload]
            s.exec(delete(DicomAE).where(DicomAE.id == ae_id))  # type: ignore[call-overload]
            s.commit()


def test_send_api_queues_a_job_and_refuses_non_pacs(
    client, login, session, demo_user, any_archive, stow, store_scp
) -> None:  # type: ignore[no-untyped-def]
    datasets = ct_series(1)
    assert stow([to_bytes(datasets[0])], login("county-doctor")).status_code == 200
    uid = str(datasets[0].StudyInstanceUID)
    county = demo_user("county-doctor").institution_id
    pacs = _ae(session, county, "COUNTY_PACS_X", store_scp.port)
    modality = _ae(session, county, "COUNTY_CT_X", store_scp.port, kind="modality")
    session.commit()  # a savepoint: an error response below must not roll these back
    r = client.post(
        f"/api/v1/studies/{uid}/send",
        json={"ae_id": str(modality.id)},
        headers=login("county-doctor"),
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/studies/{uid}/send", json={"ae_id": str(pacs.id)}, headers=login("county-doctor")
    )
    assert r.status_code == 202 and r.json()["status"] == "queued"
    job = client.get(f"/api/v1/dicom/jobs/{r.json()['id']}", headers=login("county-doctor"))
    assert job.status_code == 200
    r = client.post(
        f"/api/v1/studies/{uid}/send", json={"ae_id": str(pacs.id)}, headers=login("specialist")
    )
    assert r.status_code == 404  # cannot send what you cannot see


class CountyPACS:
    """A pynetdicom Q/R SCP (study root) holding one prior study; C-MOVE sends to `dest`."""

    def __init__(self, ae_title: str, datasets: list[Dataset], dest: tuple[str, int]) -> None:
        self.datasets = datasets
        self.dest = dest
        ae = AE(ae_title=ae_title)
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelMove)
        for cx in StoragePresentationContexts:
            ae.add_requested_context(cx.abstract_syntax)
        self.server = ae.start_server(
            ("127.0.0.1", 0),
            block=False,
            evt_handlers=[(evt.EVT_C_FIND, self._find), (evt.EVT_C_MOVE, self._move)],
        )
        self.port = self.server.server_address[1]

    def _find(self, event: Any) -> Iterator[tuple[int, Dataset | None]]:
        q = event.identifier
        for ds in self.datasets[:1]:
            if q.PatientID in ("", ds.PatientID):
                r = Dataset()
                r.QueryRetrieveLevel = "STUDY"
                r.StudyInstanceUID = ds.StudyInstanceUID
                r.PatientID = ds.PatientID
                r.PatientName = ds.PatientName
                r.StudyDate = ds.StudyDate
                r.ModalitiesInStudy = ds.Modality
                yield 0xFF00, r

    def _move(self, event: Any) -> Iterator[Any]:
        yield self.dest
        yield len(self.datasets)
        for ds in self.datasets:
            yield 0xFF00, ds

    def stop(self) -> None:
        self.server.shutdown()


def test_priors_find_and_move_into_the_gateway(gateway, committed_engine, demo_user) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    prior = ct_series(2, patient_id="PRIOR-1", study_date="20250101")
    pacs = CountyPACS("COUNTY_QR", prior, ("127.0.0.1", gw.port))
    county = demo_user("county-doctor").institution_id
    with Session(committed_engine) as s:
        ae = DicomAE(
            institution_id=county,
            ae_title="COUNTY_QR",
            host="127.0.0.1",
            port=pacs.port,
            kind="pacs",
        )
        s.add(ae)
        s.commit()
        s.refresh(ae)
        snapshot = DicomAE.model_validate(ae.model_dump())
    uid = str(prior[0].StudyInstanceUID)
    try:
        found = outbound.find_studies(ae=snapshot, calling_ae="TELEMED", patient_id="PRIOR-1")
        assert [f["study_uid"] for f in found] == [uid]
        result = outbound.move_study(
            ae=snapshot, calling_ae="TELEMED", study_uid=uid, destination="TELEMED"
        )
        assert result["status"] == 0 and result["completed"] == 2
        assert forwarder.wait_idle(60)
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == uid)).one()
            assert study.source_ae == "COUNTY_QR" and study.source_institution_id == county
            assert study.instance_count == 2
    finally:
        pacs.stop()
        purge_studies(committed_engine, uid)
        with Session(committed_engine) as s:
            s.exec(delete(DicomAE).where(DicomAE.ae_title == "COUNTY_QR"))  # type: ignore[call-overload]
            s.commit()


def test_jobs_left_by_a_stopped_process_are_run_again_then_given_up(
    committed_engine, tmp_path, store_scp, demo_user
) -> None:  # type: ignore[no-untyped-def]
    from dicom import jobs
    from dicom.archive import set_archive
    from telemed.core import clock
    from telemed.core.settings import get_settings

    archive = LocalArchive(tmp_path / "archive")
    datasets = ct_series(2)
    for ds in datasets:
        archive.store(to_bytes(ds))
    study_uid = str(datasets[0].StudyInstanceUID)
    specialist = demo_user("specialist")
    store_scp.expected = 2
    now = clock.now()
    long_ago = now - jobs.STALE_AFTER - timedelta(minutes=1)
    with Session(committed_engine) as s:
        ae = DicomAE(
            institution_id=specialist.institution_id,
            ae_title="READER_PACS_R",
            host="127.0.0.1",
            port=store_scp.port,
            kind="pacs",
        )
        s.add(ae)
        s.flush()

        def job(status: str, started: datetime | None, attempts: int) -> OutboundJob:
            row = OutboundJob(
                kind="send",
                study_uid=study_uid,
                ae_id=ae.id,
                requested_by_id=specialist.id,
                status=status,
                started_at=started,
                attempts=attempts,
                created_at=long_ago,
            )
            s.add(row)
            return row

        interrupted = job("running", long_ago, 1)  # its process died mid-send
        exhausted = job("running", long_ago, jobs.MAX_ATTEMPTS)
        live = job("running", now, 1)  # another process is running it right now
        s.commit()
        ids = {"interrupted": interrupted.id, "exhausted": exhausted.id, "live": live.id}
        ae_id = ae.id
    set_archive(archive)
    try:
        ran = jobs.recover(engine=committed_engine, settings=get_settings(), now=now)
        assert ran == 1
        with Session(committed_engine) as s:
            got = {k: s.get(OutboundJob, v) for k, v in ids.items()}
            assert got["interrupted"].status == JobStatus.DONE, got["interrupted"].error
            assert got["interrupted"].attempts == 2 and got["interrupted"].result["sent"] == 2
            assert got["exhausted"].status == JobStatus.FAILED
            assert "given up" in (got["exhausted"].error or "")
            assert got["live"].status == "running" and got["live"].attempts == 1
        assert sorted(store_scp.received) == sorted(str(d.SOPInstanceUID) for d in datasets)
        # Nothing stale is left: a second pass runs nothing.
        assert jobs.recover(engine=committed_engine, settings=get_settings(), now=now) == 0
    finally:
        set_archive(None)
        with Session(committed_engine) as s:
            s.exec(delete(OutboundJob).where(col(OutboundJob.id).in_(list(ids.values()))))  # type: ignore[call-overload]
            s.exec(delete(DicomAE).where(DicomAE.id == ae_id))  # type: ignore[call-overload]
            s.commit()
