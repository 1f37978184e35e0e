"""Imaging at its edges: bad UIDs and frame numbers, unknown VRs, an unreachable archive.

Every refusal is a documented status: 422 for a malformed UID, frame or QIDO paging value,
A900 for an instance with an unknown VR (STOW-RS and the C-STORE gateway alike), and 503
with Retry-After on every archive route while the archive cannot be reached.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from dicom.archive import OrthancArchive, set_archive
from tests.dicom.conftest import demo_user, indexed_study  # noqa: F401
from tests.support.dicom_files import ct_dataset, to_bytes
from tests.support.ports import free_port


def _with_unknown_vr(data: bytes, tag: bytes = b"\x08\x00\x30\x10") -> bytes:
    """The instance with the VR of one element (StudyDescription) replaced by 'ZZ'."""
    at = data.index(tag)
    return data[: at + 4] + b"ZZ" + data[at + 6 :]


def _instance() -> bytes:
    ds = ct_dataset(study_uid=generate_uid(), series_uid=generate_uid(), index=1)
    ds.StudyDescription = "CHEST"
    return to_bytes(ds)


def _stow(client: TestClient, headers: dict[str, str], data: bytes):  # type: ignore[no-untyped-def]
    body = b"--b\r\nContent-Type: application/dicom\r\n\r\n" + data + b"\r\n--b--\r\n"
    ctype = 'multipart/related; type="application/dicom"; boundary=b'
    return client.post(
        "/dicom-web/studies", content=body, headers={**headers, "Content-Type": ctype}
    )


@pytest.mark.parametrize(
    "path",
    [
        "/dicom-web/studies/1.2.3%3F/series",
        "/dicom-web/studies/1.2.%E4%B8%AD/metadata",
        "/dicom-web/studies/1.2%0A3/metadata",
        "/dicom-web/studies/1.2/series/%3F/instances",
        "/dicom-web/studies/1.2/series/1.3/instances/1.4%20/metadata",
        "/dicom-web/studies/" + "1" * 65,
        "/api/v1/studies/1.2.x",
        "/api/v1/studies/1.2.3%3F/links",
    ],
)
def test_malformed_uid_in_a_path_is_422(
    client: TestClient, login: Callable[[str], dict[str, str]], path: str
) -> None:
    r = client.get(path, headers=login("county-doctor"))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "invalid"
    assert "uid" in r.json()["detail"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/dicom-web/studies?offset=9223372036854775808", "offset"),
        ("/dicom-web/studies?limit=-1", "limit"),
        ("/dicom-web/studies?limit=abc", "limit"),
        ("/api/v1/studies?offset=9223372036854775808", "offset"),
        ("/api/v1/slots?offset=9223372036854775808", "offset"),
        ("/api/v1/studies?modality=%00", None),
        ("/dicom-web/studies/1.2/series/1.3/instances/1.4/frames/1,x", "frames"),
        ("/dicom-web/studies/1.2/series/1.3/instances/1.4/frames/0/rendered", "frame"),
        ("/dicom-web/studies/1.2/series/1.3/instances/1.4/frames/99999999999/rendered", "frame"),
    ],
)
def test_out_of_range_paging_and_frames_are_422(
    client: TestClient, login: Callable[[str], dict[str, str]], path: str, field: str | None
) -> None:
    r = client.get(path, headers=login("county-doctor"))
    assert r.status_code == 422, r.text
    if field:
        assert field in r.json()["detail"]


def test_stow_of_an_unknown_vr_is_refused_with_a900(
    client: TestClient, login: Callable[[str], dict[str, str]], tmp_path: Path
) -> None:
    from dicom.archive import LocalArchive

    set_archive(LocalArchive(tmp_path / "archive"))
    try:
        r = _stow(client, login("county-doctor"), _with_unknown_vr(_instance()))
    finally:
        set_archive(None)
    assert r.status_code == 409, r.text
    failed = r.json()["00081198"]["Value"]
    assert [f["00081197"]["Value"][0] for f in failed] == [0xA900]


def test_gateway_refuses_an_unknown_vr_with_a900(tmp_path: Path) -> None:
    """The C-STORE gateway answers the same documented status (it answered C211 before)."""
    import uuid
    from io import BytesIO

    import pydicom

    from dicom.gateway import StorageGateway
    from dicom.spool import Spool

    gateway = StorageGateway(
        spool=Spool(tmp_path / "spool"),
        resolve_ae=lambda ae_title: (uuid.uuid4(), ""),
        host="127.0.0.1",
        port=0,
    ).start()
    good, bad = _instance(), _with_unknown_vr(_instance())
    syntax = str(pydicom.dcmread(BytesIO(good)).file_meta.TransferSyntaxUID)
    ae = AE(ae_title="DEMO_COUNTY")
    ae.add_requested_context(CTImageStorage, syntax)
    try:
        assoc = ae.associate("127.0.0.1", gateway.port, ae_title="TELEMED")
        assert assoc.is_established
        try:
            # From files: pynetdicom sends their bytes as they are, without decoding them.
            (tmp_path / "bad.dcm").write_bytes(bad)
            (tmp_path / "good.dcm").write_bytes(good)
            refused = assoc.send_c_store(tmp_path / "bad.dcm")
            stored = assoc.send_c_store(tmp_path / "good.dcm")  # the association stays up
        finally:
            assoc.release()
    finally:
        gateway.stop()
    assert refused.Status == 0xA900
    assert stored.Status == 0x0000
    assert gateway.received == 1


@pytest.fixture
def unreachable_archive() -> Iterator[None]:
    """An Orthanc that is down: nothing listens on its port."""
    set_archive(OrthancArchive(f"http://127.0.0.1:{free_port()}", timeout=5))
    yield
    set_archive(None)


def test_every_archive_route_is_503_while_the_archive_is_down(
    client: TestClient,
    login: Callable[[str], dict[str, str]],
    indexed_study: Callable[..., str],  # noqa: F811
    unreachable_archive: None,
) -> None:
    uid = indexed_study()
    inst = f"/dicom-web/studies/{uid}/series/1.2/instances/1.3"
    headers = login("county-doctor")
    for path in [
        "/dicom-web/studies",
        "/dicom-web/series",
        "/dicom-web/instances",
        f"/dicom-web/studies/{uid}",
        f"/dicom-web/studies/{uid}/series",
        f"/dicom-web/studies/{uid}/instances",
        f"/dicom-web/studies/{uid}/metadata",
        f"/dicom-web/studies/{uid}/series/1.2/metadata",
        inst,
        inst + "/metadata",
        inst + "/frames/1",
        inst + "/rendered",
        inst + "/frames/1/rendered",
    ]:
        r = client.get(path, headers=headers)
        assert r.status_code == 503, (path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert int(r.headers["retry-after"]) > 0
        assert "archive" in r.json()["detail"]
    r = client.post(f"/api/v1/studies/{uid}/deidentify", headers=headers)
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
