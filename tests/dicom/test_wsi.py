"""Whole-slide microscopy (VL WSI, TILED_FULL, one instance per pyramid level): stored by
STOW-RS and C-STORE, tiles of every level read through our /dicom-web/ with per-study
access, as the slide viewer reads them."""

from __future__ import annotations

import uuid
from io import BytesIO
from typing import Any

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.uid import JPEGBaseline8Bit
from pynetdicom import AE
from sqlmodel import Session, select

from dicom.models import Study
from telemed.core.audit import AuditEvent
from tests.dicom.helpers import purge_studies
from tests.support.dicom_files import to_bytes
from tests.support.wsi import VL_WSI, slide_levels, slide_pyramid, tile_index


@pytest.fixture(scope="module")
def levels():  # type: ignore[no-untyped-def]
    return slide_levels()  # 4096 x 3072 base, three levels: 192 + 48 + 12 tiles


def _jpeg(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(BytesIO(data)).convert("RGB"), dtype=np.int16)


def _value(item: dict[str, Any], tag: str) -> Any:
    return item[tag]["Value"][0]


def _parts(resp) -> list[bytes]:  # type: ignore[no-untyped-def]
    ctype = resp.headers["content-type"]
    boundary = ctype.split("boundary=")[1].strip('"').encode()
    chunks = resp.content.split(b"--" + boundary)[1:-1]
    return [c.split(b"\r\n\r\n", 1)[1][:-2] for c in chunks]


def test_a_slide_pyramid_is_stored_and_its_tiles_served_per_study(
    any_archive, client, login, stow, session, link_participants, demo_user, levels
) -> None:  # type: ignore[no-untyped-def]
    county, spec, spec2 = login("county-doctor"), login("specialist"), login("specialist2")
    patient = demo_user("patient")
    slide = slide_pyramid(levels=levels, patient_name="BATEER", patient_id="DEMO-MRN-1")
    assert sum(int(d.NumberOfFrames) for d in slide) == 252
    study_uid, series_uid = str(slide[0].StudyInstanceUID), str(slide[0].SeriesInstanceUID)
    r = stow([to_bytes(d) for d in slide], county, patient_id=str(patient.patient_id))
    assert r.status_code == 200, r.text
    listed = client.get("/api/v1/studies", headers=county).json()
    mine = next(i for i in listed["items"] if i["study_uid"] == study_uid)
    assert (mine["instance_count"], mine["modality"]) == (3, "SM")

    # the viewer's tile source is built from the instances' metadata
    meta_url = f"/dicom-web/studies/{study_uid}/series/{series_uid}/metadata"
    meta = client.get(meta_url, headers=county)
    assert meta.status_code == 200, meta.text
    by_uid = {_value(m, "00080018"): m for m in meta.json()}
    assert {_value(m, "00080016") for m in by_uid.values()} == {VL_WSI}
    for ds, lv in zip(slide, levels, strict=True):
        m = by_uid[str(ds.SOPInstanceUID)]
        assert (_value(m, "00480006"), _value(m, "00480007")) == (lv.width, lv.height)
        assert int(_value(m, "00280008")) == len(lv.tiles)
        assert _value(m, "00209311") == "TILED_FULL"
        shared = _value(m, "52009229")
        spacing = shared["00289110"]["Value"][0]["00280030"]["Value"]
        assert float(spacing[0]) == pytest.approx(lv.spacing_mm)

    # someone else's slide: 404 until the study is linked to their consultation
    ds = slide[1]
    inst = f"/dicom-web/studies/{study_uid}/series/{series_uid}/instances/{ds.SOPInstanceUID}"
    jpeg = {"Accept": "image/jpeg"}
    assert client.get(inst + "/frames/1/rendered", headers={**spec, **jpeg}).status_code == 404
    assert client.get(inst + "/frames/1", headers=spec).status_code == 404
    consultation = uuid.uuid4()
    link_participants[consultation] = {demo_user("specialist").id, demo_user("county-doctor").id}
    r = client.post(
        f"/api/v1/studies/{study_uid}/links",
        json={"target_type": "consultation", "target_id": str(consultation)},
        headers=county,
    )
    assert r.status_code == 201, r.text
    assert client.get(inst + "/frames/1/rendered", headers={**spec2, **jpeg}).status_code == 404

    # tiles of every level: the first, one inside, the last (a padded edge tile)
    for ds, lv in zip(slide, levels, strict=True):
        cols, rows = max(c for c, _ in lv.tiles) + 1, max(r for _, r in lv.tiles) + 1
        url = f"/dicom-web/studies/{study_uid}/series/{series_uid}/instances/{ds.SOPInstanceUID}"
        for col, row in [(0, 0), (cols // 2, rows // 2), (cols - 1, rows - 1)]:
            n = tile_index(ds, col, row)
            want = _jpeg(lv.tiles[(col, row)])
            got = client.get(f"{url}/frames/{n}/rendered", headers={**spec, **jpeg})
            assert got.status_code == 200, got.text
            assert got.headers["content-type"] == "image/jpeg"
            tile = _jpeg(got.content)
            assert tile.shape == (256, 256, 3)
            assert np.abs(tile - want).mean() < 6  # the same tile, re-encoded
            other = _jpeg(lv.tiles[((col + 1) % cols, row)])
            assert np.abs(tile - other).mean() > 2 * np.abs(tile - want).mean()
            raw = client.get(f"{url}/frames/{n}", headers=spec)
            assert raw.status_code == 200
            (pixels,) = _parts(raw)
            assert len(pixels) == 256 * 256 * 3
            native = np.frombuffer(pixels, np.uint8).reshape(256, 256, 3).astype(np.int16)
            assert np.abs(native - want).mean() < 3
        past = client.get(f"{url}/frames/{len(lv.tiles) + 1}/rendered", headers={**spec, **jpeg})
        assert past.status_code == 404

    seen = {
        (a.actor_id, a.detail.get("what"))
        for a in session.exec(select(AuditEvent)).all()
        if a.object_id == study_uid
    }
    assert (demo_user("specialist").id, "rendered") in seen
    assert (demo_user("specialist").id, "frames") in seen


def test_a_scanner_sends_a_slide_by_c_store(
    gateway, orthanc_server, committed_engine, levels
) -> None:  # type: ignore[no-untyped-def]
    gw, forwarder = gateway
    slide = slide_pyramid(levels=levels)
    study_uid = str(slide[0].StudyInstanceUID)
    ae = AE(ae_title="DEMO_COUNTY")
    ae.add_requested_context(VL_WSI, JPEGBaseline8Bit)
    assoc = ae.associate("127.0.0.1", gw.port, ae_title="TELEMED")
    try:
        assert assoc.is_established
        for ds in slide:
            ds = pydicom.dcmread(BytesIO(to_bytes(ds)))
            assert assoc.send_c_store(ds).Status == 0x0000
        assoc.release()
        assert forwarder.wait_idle(60)
        with orthanc_server.client() as c:
            (hit,) = c.post("/tools/lookup", content=study_uid).json()
            ids = c.get(f"/studies/{hit['ID']}/instances").json()
            frames = sorted(len(c.get(f"/instances/{i['ID']}/frames").json()) for i in ids)
        assert frames == [12, 48, 192]
        with Session(committed_engine) as s:
            study = s.exec(select(Study).where(Study.study_uid == study_uid)).one()
            assert (study.instance_count, study.modality, study.source) == (3, "SM", "cstore")
    finally:
        if assoc.is_established:
            assoc.abort()
        purge_studies(committed_engine, study_uid)
