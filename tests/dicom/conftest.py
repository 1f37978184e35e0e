"""Imaging fixtures, reusable by other domains' tests:

    from tests.dicom.conftest import orthanc_server, ct_files, demo_user, indexed_study  # noqa

- `orthanc_server` (session): a real Orthanc with DICOMweb on free ports, auth on.
- `ct_files(count=3, size=16, **attrs)` -> list[Path]: a generated CT series on disk.
- `demo_user(username)` -> User: a demo account from the seeded test database.
- `indexed_study(institution="county-doctor", patient_id=None)` -> study UID indexed (not
  archived) in the test session, sent by that user's institution.
- `link_participants`: a dict {target_id: {user ids}} backing registered read and link
  resolvers for "consultation" and "referral" (tests of dicom only; real domains register
  their own).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from tests.support import orthanc
from tests.support.dicom_files import ct_series, write_series


@pytest.fixture(scope="session")
def orthanc_server() -> Iterator[orthanc.OrthancServer]:
    """A real Orthanc 1.10 + DICOMweb plugin for the whole run (TCP_NODELAY=1)."""
    if not orthanc.available():
        pytest.skip("Orthanc with the DICOMweb plugin is not installed (scripts/test.sh installs)")
    server = orthanc.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def ct_files(tmp_path: Path) -> Callable[..., list[Path]]:
    """Factory writing a generated CT series as Part-10 files."""
    counter = iter(range(10_000))

    def _make(count: int = 3, size: int = 16, **attrs: str) -> list[Path]:
        return write_series(ct_series(count, size=size, **attrs), tmp_path / f"s{next(counter)}")

    return _make


@pytest.fixture
def demo_user(session: Session) -> Callable[[str], object]:
    from telemed.identity.models import User

    def _get(username: str) -> User:
        return session.execute(select(User).where(User.username == username)).scalar_one()

    return _get


@pytest.fixture
def indexed_study(session: Session, demo_user: Callable[[str], object]) -> Callable[..., str]:
    """Index a generated study as sent by the institution of `sender` (a demo username)."""
    from dicom import service
    from telemed.core import clock

    def _make(sender: str = "county-doctor", patient_id: uuid.UUID | None = None) -> str:
        user = demo_user(sender)
        datasets = ct_series(2)
        for ds in datasets:
            service.index_instance(
                session=session,
                info=service.InstanceInfo(
                    study_uid=ds.StudyInstanceUID,
                    series_uid=ds.SeriesInstanceUID,
                    sop_uid=ds.SOPInstanceUID,
                    sop_class_uid=ds.SOPClassUID,
                    transfer_syntax_uid=ds.file_meta.TransferSyntaxUID,
                    size_bytes=1000,
                    modality="CT",
                    patient_name=str(ds.PatientName),
                ),
                institution_id=user.institution_id,  # type: ignore[attr-defined]
                source_ae="TEST",
                source="stow",
                now=clock.now(),
                patient_id=patient_id,
            )
        return str(datasets[0].StudyInstanceUID)

    return _make


@pytest.fixture
def link_participants() -> Iterator[dict[uuid.UUID, set[uuid.UUID]]]:
    """Register test resolvers for consultations and referrals backed by a dict: the users
    listed for a target read its studies and may link to it."""
    from dicom import policy, service
    from telemed.core.targets import Access

    table: dict[uuid.UUID, set[uuid.UUID]] = {}

    def resolver(session: Session, user: object, target_id: uuid.UUID) -> bool:
        return getattr(user, "id", None) in table.get(target_id, set())

    def writer(session: Session, user: object, target_id: uuid.UUID) -> Access:
        if target_id not in table:
            return Access.MISSING
        return Access.WRITE if resolver(session, user, target_id) else Access.HIDDEN

    for kind in ("consultation", "referral"):
        service.register_link_access(kind, resolver)
        policy.register_link_target(kind, writer)  # type: ignore[arg-type]
    yield table
    for fns in service._link_access.values():
        if resolver in fns:
            fns.remove(resolver)
    for wfns in policy._targets.values():
        if writer in wfns:
            wfns.remove(writer)


@pytest.fixture
def spool_dir(tmp_path: Path) -> Path:
    return tmp_path / "spool"


@pytest.fixture
def orthanc_archive(orthanc_server: orthanc.OrthancServer):  # type: ignore[no-untyped-def]
    """An OrthancArchive on the session Orthanc."""
    from dicom.archive import OrthancArchive

    return OrthancArchive(orthanc_server.url, orthanc_server.username, orthanc_server.password)


@pytest.fixture
def gateway(committed_engine, orthanc_archive, spool_dir):  # type: ignore[no-untyped-def]
    """Our C-STORE gateway on a free port + its forwarder into the session Orthanc.

    Yields (gateway, forwarder). Index rows it commits are for studies with fresh UIDs;
    tests purge them with `tests.dicom.helpers.purge_studies`.
    """
    from dicom.forwarder import Forwarder
    from dicom.gateway import StorageGateway, registry_resolver
    from dicom.spool import Spool

    spool = Spool(spool_dir)
    forwarder = Forwarder(
        spool=spool,
        archive=orthanc_archive,
        engine=committed_engine,
        max_study_bytes=2 * 1024**3,
        backoff=(0.1, 1.0),
    ).start()
    gw = StorageGateway(
        spool=spool,
        resolve_ae=registry_resolver(committed_engine),
        engine=committed_engine,
        host="127.0.0.1",
        port=0,
    ).start()
    try:
        yield gw, forwarder
    finally:
        gw.stop()
        forwarder.stop()


@pytest.fixture(params=["local", "orthanc"])
def any_archive(request, tmp_path):  # type: ignore[no-untyped-def]
    """The app's archive for one test: LocalArchive and the session Orthanc in turn."""
    from dicom.archive import LocalArchive, OrthancArchive, set_archive

    if request.param == "local":
        archive = LocalArchive(tmp_path / "archive")
    else:
        server = request.getfixturevalue("orthanc_server")
        archive = OrthancArchive(server.url, server.username, server.password)
    set_archive(archive)
    yield archive
    set_archive(None)


def multipart_related(files: list[bytes]) -> tuple[bytes, str]:
    """A STOW-RS body and its Content-Type."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + f + b"\r\n"
        for f in files
    )
    body += f"--{boundary}--\r\n".encode()
    return body, f'multipart/related; type="application/dicom"; boundary={boundary}'


@pytest.fixture
def stow(client):  # type: ignore[no-untyped-def]
    """POST files to /dicom-web/studies as a user's headers; returns the response."""

    def _stow(files: list[Path] | list[bytes], headers: dict[str, str], **params: str):  # type: ignore[no-untyped-def]
        blobs = [f if isinstance(f, bytes) else Path(f).read_bytes() for f in files]
        body, ctype = multipart_related(blobs)
        return client.post(
            "/dicom-web/studies",
            content=body,
            headers={**headers, "Content-Type": ctype, "Accept": "application/dicom+json"},
            params=params,
        )

    return _stow


@pytest.fixture
def live_server(app):  # type: ignore[no-untyped-def]
    """The test app served by uvicorn on a free port (for HTTP clients like dicomweb-client)."""
    import threading

    import uvicorn

    from tests.support.ports import free_port, wait_port

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_port(port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def other_hospital_ae(committed_engine) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A modality AE `REGIONAL_CT` registered (committed) for the hospital of `specialist`."""
    from sqlalchemy import delete

    from telemed.identity.models import User
    from telemed.network.models import DicomAE

    with Session(committed_engine) as s:
        spec = s.exec(select(User).where(User.username == "specialist")).one()
        ae = DicomAE(institution_id=spec.institution_id, ae_title="REGIONAL_CT", kind="modality")
        s.add(ae)
        s.commit()
    try:
        yield "REGIONAL_CT"
    finally:
        with Session(committed_engine) as s:
            s.execute(delete(DicomAE).where(DicomAE.ae_title == "REGIONAL_CT"))  # type: ignore[arg-type]
            s.commit()
