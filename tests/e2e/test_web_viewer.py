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
