"""The image viewer in Chromium: a CT study stored by STOW-RS is drawn on the canvas (not
blank), CT presets change the picture, the wheel scrolls the stack, a length is measured."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pydicom
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot
from tests.support.dicom_files import ct_series, to_bytes, write_series

pytestmark = pytest.mark.e2e

CANVAS_STATS = """(c) => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data
  let lit = 0, sum = 0
  const greys = new Set()
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] > 8) lit++
    sum += d[i]
    greys.add(d[i])
  }
  return { lit, sum, greys: greys.size, pixels: d.length / 4 }
}"""


def _stow(live_server: LiveServer, username: str, slices: int = 12) -> str:
    datasets = ct_series(slices, size=64, patient_name="E2E^VIEWER")
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
            + to_bytes(ds)
            + b"\r\n"
            for ds in datasets
        )
        + f"--{boundary}--\r\n".encode()
    )
    r = httpx.post(
        f"{live_server.url}/dicom-web/studies",
        content=body,
        headers={
            "Authorization": f"Bearer {live_server.token(username)}",
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
        timeout=60,
    )
    assert r.status_code in (200, 202), r.text
    return str(datasets[0].StudyInstanceUID)


@pytest.fixture
def dicomweb(live_server: LiveServer) -> None:
    paths = httpx.get(f"{live_server.url}/openapi.json").json()["paths"]
    if "/dicom-web/studies/{study_uid}/series" not in paths:
        pytest.skip("the DICOMweb API is not in this build")


def test_viewer_draws_the_study_and_windows_scrolls_and_measures(
    new_page: Any, live_server: LiveServer, dicomweb: None
) -> None:
    study_uid = _stow(live_server, "county-doctor")
    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-studies").click()
    page.get_by_test_id(f"view-{study_uid}").click()
    canvas = page.get_by_test_id("viewer-canvas")
    canvas.wait_for()
    page.wait_for_function(
        "() => { const c = document.querySelector('[data-testid=viewer-canvas]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 0; i < d.length; i += 4) if (d[i] > 8) return true; return false }"
    )
    before = canvas.evaluate(CANVAS_STATS)
    assert before["lit"] > before["pixels"] * 0.2, before
    assert before["greys"] > 16, f"the image is not a flat fill: {before}"
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 12")
    shot(page, "viewer-soft-tissue")

    page.get_by_test_id("preset-lung").click()
    expect(page.get_by_test_id("window")).to_contain_text("1500")
    page.wait_for_function(
        "(s) => { const c = document.querySelector('[data-testid=viewer-canvas]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let sum = 0; for (let i = 0; i < d.length; i += 4) sum += d[i]; return sum !== s }",
        arg=before["sum"],
    )
    shot(page, "viewer-lung")

    start = page.get_by_test_id("slice-index").inner_text()
    canvas.hover()
    page.mouse.wheel(0, 120)
    page.mouse.wheel(0, 120)
    expect(page.get_by_test_id("slice-index")).not_to_have_text(start)
    canvas.focus()
    page.keyboard.press("Home")
    expect(page.get_by_test_id("slice-index")).to_contain_text("1 / 12")

    page.get_by_test_id("tool-measure").click()
    box = canvas.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5, steps=5)
    page.mouse.up()
    expect(page.get_by_test_id("measure")).to_contain_text("毫米")
    shot(page, "viewer-measure")


def test_a_study_outside_the_users_reach_is_not_shown(
    new_page: Any, live_server: LiveServer, dicomweb: None
) -> None:
    study_uid = _stow(live_server, "county-doctor", slices=2)
    page = new_page()
    login(page, "patient")
    page.goto(f"/#/viewer/{study_uid}")
    page.locator(".banner.error").wait_for()
    assert page.get_by_test_id("series").count() == 0


def test_a_dicom_folder_uploads_with_progress_and_opens_in_the_viewer(
    new_page: Any, live_server: LiveServer, dicomweb: None, tmp_path: Path
) -> None:
    files = write_series(ct_series(6, size=32, patient_name="E2E^UPLOAD"), tmp_path / "ct")
    study_uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID)
    (tmp_path / "ct" / "not-dicom.txt").write_text("a note that is no DICOM file")
    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-studies").click()
    page.locator("details.card summary").click()
    page.get_by_test_id("upload-folder").set_input_files(tmp_path / "ct")
    rows = page.get_by_test_id("dicom-upload").locator(".upload-list li")
    expect(rows).to_have_count(7)
    expect(rows.locator("xpath=self::li[@data-state='done']")).to_have_count(6)
    expect(rows.locator("xpath=self::li[@data-state='failed']")).to_have_count(1)
    expect(page.get_by_test_id("upload-retry")).to_be_visible()
    shot(page, "county_doctor-upload")
    page.get_by_test_id(f"view-{study_uid}").click()
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 6")


def _multiframe(study_uid: str, frames: int = 5, size: int = 64) -> pydicom.Dataset:
    """One multi-frame instance (second series of the study): each frame a little brighter."""
    import numpy as np
    from pydicom.uid import generate_uid

    from tests.support.dicom_files import PREFIX, ct_dataset

    ds = ct_dataset(
        study_uid=study_uid,
        series_uid=generate_uid(prefix=PREFIX),
        index=0,
        size=size,
        patient_name="E2E^VIEWER",
    )
    ds.SeriesNumber = 2
    ds.SeriesDescription = "CINE"
    ds.NumberOfFrames = frames
    ramp = np.add.outer(np.arange(size), np.arange(size)).astype(np.int16) * 16
    ds.PixelData = b"".join(
        (ramp + 1024 - 200 + k * 100).astype(np.int16).tobytes() for k in range(frames)
    )
    return ds


def _stow_datasets(live_server: LiveServer, username: str, datasets: list[Any]) -> None:
    boundary = uuid.uuid4().hex
    body = (
        b"".join(
            f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode()
            + to_bytes(ds)
            + b"\r\n"
            for ds in datasets
        )
        + f"--{boundary}--\r\n".encode()
    )
    r = httpx.post(
        f"{live_server.url}/dicom-web/studies",
        content=body,
        headers={
            "Authorization": f"Bearer {live_server.token(username)}",
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        },
        timeout=60,
    )
    assert r.status_code == 200, r.text


def _measure(page: Any, canvas: Any, x0: float, x1: float) -> float:
    """Drag the length tool between two canvas fractions on the middle row; the mm shown."""
    box = canvas.bounding_box()
    assert box
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * x0, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * x1, y, steps=4)
    page.mouse.up()
    text = page.get_by_test_id("measure").inner_text()
    return float(text.split()[0])


def test_viewer_thumbnails_zoom_pan_measure_under_zoom_and_multiframe(
    new_page: Any, live_server: LiveServer, dicomweb: None
) -> None:
    ct = ct_series(6, size=64, patient_name="E2E^VIEWER")
    study_uid = str(ct[0].StudyInstanceUID)
    _stow_datasets(live_server, "county-doctor", [*ct, _multiframe(study_uid)])
    page = new_page()
    login(page, "county-doctor")
    page.goto(f"/#/viewer/{study_uid}")
    canvas = page.get_by_test_id("viewer-canvas")
    canvas.wait_for()
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 6")
    page.wait_for_function(
        "() => { const c = document.querySelector('[data-testid=viewer-canvas]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " for (let i = 0; i < d.length; i += 4) if (d[i] > 8) return true; return false }"
    )

    # A thumbnail per series, each a decoded picture.
    expect(page.get_by_test_id("series")).to_have_count(2)
    expect(page.get_by_test_id("series-thumb")).to_have_count(2)
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=series-thumb]')]"
        ".every((i) => i.complete && i.naturalWidth > 0)"
    )
    shot(page, "viewer-thumbnails")

    # Zoom: the image covers more of the canvas; the status says by how much.
    before = canvas.evaluate(CANVAS_STATS)
    for _ in range(3):
        page.get_by_test_id("zoom-in").click()
    expect(page.get_by_test_id("zoom")).to_contain_text("173%")
    after = canvas.evaluate(CANVAS_STATS)
    assert after["lit"] > before["lit"] * 1.3, (before, after)
    shot(page, "viewer-zoomed")

    # Pan with the pan tool: the drawn picture moves; keys zoom and reset.
    page.get_by_test_id("tool-pan").click()
    box = canvas.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 150, box["y"] + box["height"] / 2 + 40, steps=5)
    page.mouse.up()
    panned = canvas.evaluate(CANVAS_STATS)
    assert panned["sum"] != after["sum"], "panning did not move the image"
    shot(page, "viewer-panned")
    canvas.focus()
    page.keyboard.press("0")
    expect(page.get_by_test_id("zoom")).to_contain_text("100%")
    page.keyboard.press("+")
    expect(page.get_by_test_id("zoom")).to_contain_text("120%")
    page.keyboard.press("Shift+ArrowLeft")
    canvas.hover()
    page.keyboard.down("Control")
    page.mouse.wheel(0, -120)  # Ctrl+wheel zooms about the pointer instead of scrolling
    page.keyboard.up("Control")
    expect(page.get_by_test_id("zoom")).to_contain_text("144%")
    canvas.focus()
    page.keyboard.press("0")
    expect(page.get_by_test_id("zoom")).to_contain_text("100%")
    reset = canvas.evaluate(CANVAS_STATS)
    assert reset["lit"] == before["lit"], (before, reset)

    # The same screen distance measures half as many mm at twice the zoom (PixelSpacing 0.7).
    page.get_by_test_id("tool-measure").click()
    at1 = _measure(page, canvas, 0.4, 0.6)
    box = canvas.bounding_box()
    assert box
    expected = box["width"] * 0.2 / (box["height"] / 64) * 0.7
    assert abs(at1 - expected) / expected < 0.05, (at1, expected)
    canvas.focus()
    page.keyboard.press("+")
    page.keyboard.press("+")  # 1.44
    at144 = _measure(page, canvas, 0.4, 0.6)
    assert abs(at144 - at1 / 1.44) / at1 < 0.03, (at1, at144)
    shot(page, "viewer-measure-zoomed")

    # The multi-frame instance scrolls frame by frame.
    page.get_by_test_id("series").nth(1).click()
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 5")
    expect(page.get_by_test_id("frame-index")).to_contain_text("3 / 5")
    frame3 = canvas.evaluate(CANVAS_STATS)
    canvas.focus()
    page.keyboard.press("End")
    expect(page.get_by_test_id("frame-index")).to_contain_text("5 / 5")
    page.wait_for_function(
        "(s) => { const c = document.querySelector('[data-testid=viewer-canvas]');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let sum = 0; for (let i = 0; i < d.length; i += 4) sum += d[i]; return sum > s }",
        arg=frame3["sum"],
    )
    page.keyboard.press("ArrowUp")
    expect(page.get_by_test_id("frame-index")).to_contain_text("4 / 5")
    shot(page, "viewer-multiframe")
