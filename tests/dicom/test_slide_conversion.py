"""Vendor slides: an Aperio SVS uploaded, converted by wsidicomizer in an imaging job, stored
through ingest as VL Whole Slide Microscopy, and read tile by tile through /dicom-web/."""

from __future__ import annotations

import importlib.util
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from sqlmodel import select

from dicom.archive import LocalArchive, set_archive
from dicom.models import JobKind, OutboundJob, Study
from tests.support.wsi import VL_WSI, write_svs


def test_the_converter_is_installed() -> None:
    # found, not imported: importing it switches pydicom's behaviour for the whole process
    assert importlib.util.find_spec("wsidicomizer") is not None, "wsidicomizer is a dependency"


@pytest.fixture
def svs(tmp_path: Path) -> Path:
    path = tmp_path / "S26-00019.svs"
    write_svs(path)
    return path


def test_an_uploaded_svs_is_converted_into_a_slide_of_the_patient(
    client, login, session, demo_user, svs, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from dicom import slides
    from telemed.core.settings import get_settings

    monkeypatch.setattr(get_settings().dicom, "spool_dir", tmp_path / "spool")
    set_archive(LocalArchive(tmp_path / "archive"))
    try:
        county = login("county-doctor")
        patient = demo_user("patient").patient_id
        with svs.open("rb") as f:
            r = client.post(
                "/api/v1/slides",
                files={"file": (svs.name, f, "image/tiff")},
                data={"patient_id": str(patient), "accession": "PATH0019"},
                headers=county,
            )
        assert r.status_code == 202, r.text
        job = session.get(OutboundJob, r.json()["id"])
        assert job is not None and job.kind == JobKind.CONVERT_SLIDE
        kept = Path(job.params["path"])
        assert kept.read_bytes() == svs.read_bytes()

        result = slides.convert_into_archive(session=session, job=job, settings=get_settings())
        assert not kept.exists()  # the upload goes once converted
        study = session.exec(select(Study).where(Study.study_uid == result["study_uid"])).one()
        assert (study.modality, study.source, study.patient_id) == ("SM", "slide", patient)
        assert study.source_institution_id == demo_user("county-doctor").institution_id

        uid = result["study_uid"]
        series = client.get(f"/dicom-web/studies/{uid}/series", headers=county).json()
        (s,) = series
        meta = client.get(
            f"/dicom-web/studies/{uid}/series/{s['0020000E']['Value'][0]}/metadata", headers=county
        ).json()
        levels = sorted(
            (m for m in meta if m["00080008"]["Value"][2] == "VOLUME"),
            key=lambda m: -m["00480006"]["Value"][0],
        )
        assert {m["00080016"]["Value"][0] for m in meta} == {VL_WSI}
        assert [(m["00480006"]["Value"][0], m["00480007"]["Value"][0]) for m in levels] == [
            (4096, 3072),
            (1024, 768),
            (256, 192),
        ]
        assert all(m["00100020"]["Value"][0] == str(patient) for m in meta)
        assert all(m["00080050"]["Value"][0] == "PATH0019" for m in meta)
        # the label and overview images (the patient's name in the picture) are left out
        assert {m["00080008"]["Value"][2] for m in meta} <= {"VOLUME", "THUMBNAIL"}

        # a base-level tile read back is the scanner's tile (copied, not re-encoded)
        base = levels[0]
        sop = base["00080018"]["Value"][0]
        url = f"/dicom-web/studies/{uid}/series/{s['0020000E']['Value'][0]}/instances/{sop}"
        n = 3 * 16 + 5 + 1  # column 5, row 3 of 16 columns
        got = client.get(f"{url}/frames/{n}/rendered", headers={**county, "Accept": "image/png"})
        assert got.status_code == 200
        tile = np.asarray(Image.open(BytesIO(got.content)).convert("RGB"), dtype=np.int16)
        with tifffile.TiffFile(svs) as tif:
            want = tif.pages[0].asarray()[3 * 256 : 4 * 256, 5 * 256 : 6 * 256].astype(np.int16)
        assert np.abs(tile - want).mean() < 1.5
        assert client.get(url + "/frames/1", headers=login("specialist2")).status_code == 404
    finally:
        set_archive(None)


def test_the_conversion_leaves_pydicom_of_the_server_as_it_was(tmp_path: Path, svs: Path) -> None:
    """wsidicomizer turns on pydicom's future behaviour when imported; it runs in a child."""
    import subprocess
    import sys

    from pydicom import config

    out = tmp_path / "out"
    out.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "dicom.slide_convert", str(svs), str(out), "{}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(done.stdout.split()) >= 3
    assert "wsidicomizer" not in sys.modules and not config._use_future


def test_what_is_not_a_slide_or_not_the_uploaders_patient_is_refused(
    client, login, demo_user, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    from telemed.core.settings import get_settings

    monkeypatch.setattr(get_settings().dicom, "spool_dir", tmp_path / "spool")
    county = login("county-doctor")
    png = BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    r = client.post(
        "/api/v1/slides", files={"file": ("x.svs", png.getvalue(), "image/tiff")}, headers=county
    )
    assert r.status_code == 422 and r.json()["code"] == "not_a_slide"
    r = client.post(
        "/api/v1/slides", files={"file": ("x.jpg", b"II*\x00rest", "image/tiff")}, headers=county
    )
    assert r.status_code == 422 and r.json()["code"] == "not_a_slide"
    # a patient of another hospital: 404, nothing kept
    other = login("specialist")
    r = client.post(
        "/api/v1/slides",
        files={"file": ("x.svs", b"II*\x00" + b"\x00" * 100, "image/tiff")},
        data={"patient_id": str(demo_user("patient").patient_id)},
        headers=other,
    )
    assert r.status_code == 404
    assert not list((tmp_path / "spool").rglob("*.svs"))
    assert client.post("/api/v1/slides", files={"file": ("x.svs", b"II*\x00")}).status_code == 401
