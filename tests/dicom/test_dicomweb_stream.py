"""The thin DICOMweb proxy: frames and instances in the stored transfer syntax when asked
(explicit little endian otherwise), streamed; a foreign study is 404 on every route; one
indexed query decides access; answers never name the archive."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import numpy as np
import pydicom
import pytest
from pydicom.encaps import get_frame
from pydicom.uid import JPEGLSLossless
from sqlalchemy import event

from dicom.archive.streams import drop_part_headers, multipart, wants_stored_syntax
from dicom.own_urls import rewrite, rewrite_bytes
from tests.support.dicom_files import ct_series, to_bytes

ANY = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'
PLAIN = 'multipart/related; type="application/octet-stream"'
ANY_DICOM = 'multipart/related; type="application/dicom"; transfer-syntax=*'
ELE = "1.2.840.10008.1.2.1"


def parts(resp: Any) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related answer: (headers, body)."""
    ctype = resp.headers["content-type"]
    boundary = next(
        p.split("=", 1)[1].strip('"') for p in ctype.split(";") if p.strip().startswith("boundary")
    )
    out = []
    for chunk in resp.content.split(b"--" + boundary.encode())[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, body = chunk[2:].partition(b"\r\n\r\n")
        headers = {}
        for line in head.decode().split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        out.append((headers, body[:-2] if body.endswith(b"\r\n") else body))
    return out


def multiframe_jpegls(study_uid: str, series_uid: str) -> tuple[pydicom.Dataset, np.ndarray]:
    """A 3-frame 32x32 CT compressed to JPEG-LS lossless, and its pixels."""
    (ds,) = ct_series(1, size=32, study_uid=study_uid, series_uid=series_uid)
    ds.InstanceNumber = 2
    pixels = np.stack([np.full((32, 32), 100 * (i + 1), dtype=np.int16) for i in range(3)])
    pixels[:, 3:9, 5:20] = -200  # not flat: a real code stream per frame
    ds.NumberOfFrames = 3
    ds.PixelData = pixels.tobytes()
    ds.compress(JPEGLSLossless)
    return ds, pixels


@pytest.fixture
def two_syntaxes(any_archive, login, stow):  # type: ignore[no-untyped-def]
    """A study of a native CT slice and a 3-frame JPEG-LS one, sent by county-doctor."""
    (native,) = ct_series(1, size=16)
    study, series = str(native.StudyInstanceUID), str(native.SeriesInstanceUID)
    jls, pixels = multiframe_jpegls(study, series)
    r = stow([to_bytes(native), to_bytes(jls)], login("county-doctor"))
    assert r.status_code == 200, r.text
    yield native, jls, pixels
    any_archive.delete_study(study)


def _inst(ds: pydicom.Dataset) -> str:
    return (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )


def test_frames_in_stored_syntax_when_asked_else_explicit_little_endian(
    two_syntaxes, client, login, orthanc_server
) -> None:  # type: ignore[no-untyped-def]
    native, jls, pixels = two_syntaxes
    county = login("county-doctor")
    stored = client.get(_inst(jls) + "/frames/2", headers={**county, "Accept": ANY})
    assert stored.status_code == 200, stored.text
    assert "transfer-syntax=1.2.840.10008.1.2.4.80" in stored.headers["content-type"]
    [(head, body)] = parts(stored)
    assert body == get_frame(jls.PixelData, 1, number_of_frames=3)
    assert orthanc_server.url.split("//")[1] not in stored.text  # no Content-Location of it

    plain = client.get(_inst(jls) + "/frames/1,3", headers={**county, "Accept": PLAIN})
    assert plain.status_code == 200
    assert f"transfer-syntax={ELE}" in plain.headers["content-type"]
    bodies = [b for _, b in parts(plain)]
    assert bodies == [pixels[0].astype("<i2").tobytes(), pixels[2].astype("<i2").tobytes()]
    default = client.get(_inst(jls) + "/frames/3", headers=county)
    assert [b for _, b in parts(default)] == [pixels[2].astype("<i2").tobytes()]

    native_stored = client.get(_inst(native) + "/frames/1", headers={**county, "Accept": ANY})
    assert [b for _, b in parts(native_stored)] == [bytes(native.PixelData)]
    out_of_range = client.get(_inst(jls) + "/frames/4", headers={**county, "Accept": ANY})
    assert out_of_range.status_code == 404
    assert out_of_range.headers["content-type"].startswith("application/problem+json")


def test_instances_in_stored_syntax_when_asked_and_series_metadata(
    two_syntaxes, client, login
) -> None:  # type: ignore[no-untyped-def]
    native, jls, pixels = two_syntaxes
    county = login("county-doctor")
    r = client.get(_inst(jls), headers={**county, "Accept": ANY_DICOM})
    assert r.status_code == 200
    [(_, body)] = parts(r)
    ds = pydicom.dcmread(BytesIO(body))
    assert ds.file_meta.TransferSyntaxUID == JPEGLSLossless
    r = client.get(_inst(jls), headers=county)
    [(_, body)] = parts(r)
    ds = pydicom.dcmread(BytesIO(body))
    assert ds.file_meta.TransferSyntaxUID == ELE
    assert np.array_equal(ds.pixel_array, pixels)

    series = f"/dicom-web/studies/{native.StudyInstanceUID}/series/{native.SeriesInstanceUID}"
    whole = client.get(series, headers={**county, "Accept": ANY_DICOM})
    syntaxes = {pydicom.dcmread(BytesIO(b)).file_meta.TransferSyntaxUID for _, b in parts(whole)}
    assert syntaxes == {ELE, JPEGLSLossless}
    meta = client.get(series + "/metadata", headers=county)
    assert meta.status_code == 200
    assert meta.headers["content-type"].startswith("application/dicom+json")
    by_sop = {m["00080018"]["Value"][0]: m for m in meta.json()}
    assert set(by_sop) == {native.SOPInstanceUID, jls.SOPInstanceUID}
    assert by_sop[jls.SOPInstanceUID]["00280008"]["Value"] in ([3], ["3"])
    for item in meta.json():  # bulk data, where kept apart, is fetched through us
        for attr in item.values():
            if "BulkDataURI" in attr:
                assert attr["BulkDataURI"].startswith("http://testserver/dicom-web/studies/")
                bulk = client.get(attr["BulkDataURI"].split("testserver")[1], headers=county)
                assert bulk.status_code == 200


def test_a_foreign_study_is_404_on_every_route(two_syntaxes, client, login) -> None:  # type: ignore[no-untyped-def]
    native, jls, _ = two_syntaxes
    other = login("specialist2")  # neither of the sender nor linked
    study = f"/dicom-web/studies/{native.StudyInstanceUID}"
    series = f"{study}/series/{native.SeriesInstanceUID}"
    inst = _inst(jls)
    routes = [
        study,
        f"{study}/metadata",
        f"{study}/series",
        f"{study}/instances",
        series,
        f"{series}/metadata",
        f"{series}/instances",
        inst,
        f"{inst}/metadata",
        f"{inst}/frames/1",
        f"{inst}/frames/1,2",
        f"{inst}/bulk/7FE00010",
        f"{inst}/rendered",
        f"{inst}/frames/2/rendered",
    ]
    for url in routes:
        for accept in (ANY, PLAIN, "*/*"):
            r = client.get(url, headers={**other, "Accept": accept})
            assert r.status_code == 404, (url, accept, r.status_code)
            assert r.json()["code"] == "not_found", url
            assert str(native.PatientName) not in r.text
    for level in ("studies", "series", "instances"):
        q = {"StudyInstanceUID": str(native.StudyInstanceUID)}
        r = client.get(f"/dicom-web/{level}", params=q, headers=other)
        assert r.status_code == 200 and r.json() == [], level
        mine = client.get(f"/dicom-web/{level}", params=q, headers=login("county-doctor"))
        assert mine.status_code == 200 and mine.json(), level  # the same query answers its owner


def test_access_is_decided_by_one_query(session, indexed_study, demo_user) -> None:  # type: ignore[no-untyped-def]
    from dicom import service

    uid = indexed_study("county-doctor")
    owner = demo_user("county-doctor")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        study = service.get_visible_study(session=session, user=owner, study_uid=uid)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert study.study_uid == uid
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_part_headers_are_dropped_however_the_stream_is_cut() -> None:
    boundary = "b0undary"
    bodies = [b"\r\n--b0und\x00" * 50, b"", b"--b0undary-ish\r\n\r\nX" * 30]
    raw = (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Location: http://10.0.0.5:8042/x/{i}\r\n\r\n".encode()
            + body
            + b"\r\n"
            for i, body in enumerate(bodies)
        ).replace(b"b0undary-ish", b"b0undarx-ish")
        + f"--{boundary}--\r\n".encode()
    )
    want = raw
    for i in range(3):
        want = want.replace(f"Content-Location: http://10.0.0.5:8042/x/{i}\r\n".encode(), b"")
    for size in (1, 2, 3, 7, 13, 64, len(raw)):
        chunks = [raw[i : i + size] for i in range(0, len(raw), size)]
        assert b"".join(drop_part_headers(chunks, boundary, ["content-location"])) == want, size


def test_multipart_and_accept_parsing() -> None:
    built = multipart([("application/dicom", b"A"), ("application/dicom", b"BB")], "x/y")
    assert "boundary=" in built.media_type
    assert b"".join(built).count(b"Content-Type: application/dicom\r\n\r\n") == 2
    assert wants_stored_syntax(ANY)
    assert wants_stored_syntax("multipart/related;type=application/octet-stream;transfer-syntax=*")
    assert not wants_stored_syntax(PLAIN)
    assert not wants_stored_syntax(f"{PLAIN}; transfer-syntax={ELE}")
    assert not wants_stored_syntax("")


def test_rewrite_bytes_agrees_with_rewrite() -> None:
    import json

    archive = "http://10.0.0.5:8042"
    base = "https://telemed.example/dicom-web"
    bulk = "/studies/1.2.3/series/4/instances/5/bulk/7fe00010"

    def fast_rewrite(answer: Any) -> Any:
        body = json.dumps(answer).encode()
        return json.loads(rewrite_bytes(body, archive_url=archive, public_base=base))

    clean = [
        {
            "00081190": {"vr": "UR", "Value": [f"{archive}/dicom-web/studies/1.2.3"]},
            "7FE00010": {
                "vr": "OB",
                "BulkDataURI": f"{archive}/dicom-web{bulk}",
            },
        }
    ]
    fast = fast_rewrite(clean)
    assert fast[0]["00081190"]["Value"] == [f"{base}/studies/1.2.3"]
    assert fast[0]["7FE00010"]["BulkDataURI"] == f"{base}{bulk}"
    dirty = clean + [
        {
            "00080081": {"vr": "ST", "Value": ["PACS at 10.0.0.5:8042"]},
            "00081190": {"vr": "UR", "Value": ["http://other.pacs/wado/studies/9.9"]},
        }
    ]
    slow = fast_rewrite(dirty)
    assert slow == rewrite(json.loads(json.dumps(slow)), archive_url=archive, public_base=base)
    assert slow[1]["00080081"] == {"vr": "ST"}
    assert slow[1]["00081190"]["Value"] == [f"{base}/studies/9.9"]
    assert "10.0.0.5" not in json.dumps(slow)


def test_small_answers_go_in_one_piece_large_ones_stream() -> None:
    from fastapi.responses import StreamingResponse

    from dicom.archive.streams import Streamed
    from dicom.dicomweb.common import SMALL_ANSWER, streamed

    closed: list[bool] = []
    small = streamed(Streamed("image/png", iter([b"a" * 1000, b"b"]), lambda: closed.append(True)))
    assert not isinstance(small, StreamingResponse) and small.body == b"a" * 1000 + b"b"
    assert closed == [True]  # the archive's connection is released at once
    pulled: list[int] = []

    def chunks():  # type: ignore[no-untyped-def]
        for i in range(8):
            pulled.append(i)
            yield bytes([i]) * (SMALL_ANSWER // 4)

    large = streamed(Streamed("application/dicom", chunks()))
    assert isinstance(large, StreamingResponse)
    assert pulled == [0, 1, 2, 3]  # read up to the threshold, the rest left on the wire


def test_a_series_larger_than_one_piece_arrives_whole(any_archive, client, login, stow) -> None:  # type: ignore[no-untyped-def]
    datasets = ct_series(10, size=256)  # 10 x 128 kB: streamed past the first MiB
    county = login("county-doctor")
    assert stow([to_bytes(d) for d in datasets], county).status_code == 200
    ds = datasets[0]
    try:
        url = f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        r = client.get(url, headers={**county, "Accept": ANY_DICOM})
        assert r.status_code == 200
        got = {str(pydicom.dcmread(BytesIO(b)).SOPInstanceUID): b for _, b in parts(r)}
        assert set(got) == {str(d.SOPInstanceUID) for d in datasets}
        for d in datasets:
            assert pydicom.dcmread(BytesIO(got[str(d.SOPInstanceUID)])).PixelData == d.PixelData
    finally:
        any_archive.delete_study(str(ds.StudyInstanceUID))


def test_dicom_json_travels_gzipped_when_accepted_and_frames_as_they_are(
    two_syntaxes, client, login
) -> None:  # type: ignore[no-untyped-def]
    # a 300-slice series' metadata is ~0.7 MB of JSON: half a second on a 10 Mbit/s link
    native, jls, _ = two_syntaxes
    county = login("county-doctor")
    series = f"/dicom-web/studies/{native.StudyInstanceUID}/series/{native.SeriesInstanceUID}"
    zipped = client.get(series + "/metadata", headers={**county, "Accept-Encoding": "gzip"})
    plain = client.get(series + "/metadata", headers={**county, "Accept-Encoding": "identity"})
    assert zipped.status_code == plain.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"  # httpx undid it: same JSON below
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert "content-encoding" not in plain.headers
    assert zipped.json() == plain.json() and len(plain.json()) == 2
    assert int(zipped.headers["content-length"]) * 2 < len(plain.content)
    assert zipped.headers["content-type"].startswith("application/dicom+json")
    listed = client.get(
        f"/dicom-web/studies?StudyInstanceUID={native.StudyInstanceUID}&includefield=all",
        headers={**county, "Accept-Encoding": "gzip"},
    )
    assert [s["0020000D"]["Value"][0] for s in listed.json()] == [native.StudyInstanceUID]
    # frames are left as they are: a JPEG-LS code stream does not shrink, and gzip costs CPU
    frame = client.get(
        _inst(jls) + "/frames/1", headers={**county, "Accept": ANY, "Accept-Encoding": "gzip"}
    )
    assert frame.status_code == 200 and "content-encoding" not in frame.headers
