"""The image viewer (Cornerstone3D) in Chromium: a CT study stored by STOW-RS is drawn (not
blank), CT presets change the picture, the wheel scrolls the stack, a length is measured;
thumbnails, zoom and pan, multi-frame instances, the upload that opens the viewer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pydicom
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot
from tests.e2e.viewer_support import pane_stats, poll, stow, wait_changed, wait_image
from tests.support.dicom_files import ct_series, write_series

pytestmark = pytest.mark.e2e


def _stow(live_server: LiveServer, username: str, slices: int = 12) -> str:
    return stow(live_server, username, ct_series(slices, size=64, patient_name="E2E^VIEWER"))


@pytest.fixture
def dicomweb(live_server: LiveServer) -> None:
    paths = live_server.paths()
    if "/dicom-web/studies/{study_uid}/series" not in paths:
        pytest.fail("the DICOMweb API is not in this build")


def test_viewer_draws_the_study_and_windows_scrolls_and_measures(
    new_page: Any, live_server: LiveServer, dicomweb: None
) -> None:
    study_uid = _stow(live_server, "county-doctor")
    page = new_page()
    login(page, "county-doctor")
    page.get_by_test_id("nav-studies").click()
    page.get_by_test_id(f"view-{study_uid}").click()
    before = wait_image(page)
    assert before["greys"] > 16, f"the image is not a flat fill: {before}"
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 12")
    shot(page, "viewer-soft-tissue")

    page.get_by_test_id("preset-lung").click()
    expect(page.get_by_test_id("window")).to_contain_text("1500")
    wait_changed(page, before["sum"])
    shot(page, "viewer-lung")

    start = page.get_by_test_id("slice-index").inner_text()
    page.get_by_test_id("viewer-element").hover()
    page.mouse.wheel(0, 120)
    page.mouse.wheel(0, 120)
    expect(page.get_by_test_id("slice-index")).not_to_have_text(start)
    page.get_by_test_id("pane").first.focus()
    page.keyboard.press("Home")
    expect(page.get_by_test_id("slice-index")).to_contain_text("1 / 12")

    page.get_by_test_id("tool-length").click()
    _measure(page, 0.3, 0.7)
    expect(page.get_by_test_id("measurement-value").first).to_contain_text("mm")
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
    page.get_by_test_id("dicom-upload-card").locator("summary").click()
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


def _measure(page: Any, x0: float, x1: float, row: float = 0.5) -> None:
    """Drag the length tool between two fractions of the pane's width on one row."""
    box = page.get_by_test_id("viewer-element").bounding_box()
    assert box
    y = box["y"] + box["height"] * row
    page.mouse.move(box["x"] + box["width"] * x0, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * x1, y, steps=6)
    page.mouse.up()


def _length(page: Any, expected: float, nth: int = 0) -> float:
    """The nth length shown, once the tool's statistics settle near `expected` (5 %)."""
    value = page.get_by_test_id("measurement-value").nth(nth)

    def near() -> float | None:
        text = value.inner_text() if value.count() else ""
        mm = float(text.split()[0]) if text else 0.0
        return mm if abs(mm - expected) / expected < 0.05 else None

    return poll(page, near, f"length {nth} near {expected}")  # type: ignore[no-any-return]


def test_viewer_thumbnails_zoom_pan_measure_under_zoom_and_multiframe(
    new_page: Any, live_server: LiveServer, dicomweb: None
) -> None:
    ct = ct_series(6, size=64, patient_name="E2E^VIEWER")
    study_uid = str(ct[0].StudyInstanceUID)
    stow(live_server, "county-doctor", [*ct, _multiframe(study_uid)])
    page = new_page()
    login(page, "county-doctor")
    page.goto(f"/#/viewer/{study_uid}")
    before = wait_image(page)
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 6")

    # A thumbnail per series, each decoded in the browser.
    expect(page.get_by_test_id("series")).to_have_count(2)
    expect(page.get_by_test_id("series-thumb")).to_have_count(2)
    expect(page.locator("[data-testid=series-thumb][data-drawn='1']")).to_have_count(2)
    shot(page, "viewer-thumbnails")

    # Zoom: the picture is enlarged; the overlay says by how much.
    for _ in range(3):
        page.get_by_test_id("zoom-in").click()
    expect(page.get_by_test_id("zoom")).to_contain_text("195%")
    # the square image fills the square pane already: zooming in crops and enlarges it
    after = wait_changed(page, before["sum"])
    shot(page, "viewer-zoomed")

    # Pan with the pan tool: the drawn picture moves; keys zoom and reset.
    page.get_by_test_id("tool-pan").click()
    box = page.get_by_test_id("viewer-element").bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + 150, box["y"] + box["height"] / 2 + 40, steps=5)
    page.mouse.up()
    wait_changed(page, after["sum"])
    shot(page, "viewer-panned")
    page.get_by_test_id("pane").first.focus()
    page.keyboard.press("0")
    expect(page.get_by_test_id("zoom")).to_contain_text("100%")
    poll(page, lambda: (s := pane_stats(page)) and s["lit"] == before["lit"], "reset view")

    # The same screen distance measures 1/1.5625 as many mm at 1.25² zoom (PixelSpacing 0.7).
    page.get_by_test_id("tool-length").click()
    _measure(page, 0.4, 0.6)
    at1 = _length(page, 0.2 * 64 * 0.7)
    page.get_by_test_id("pane").first.focus()
    page.keyboard.press("+")
    page.keyboard.press("+")
    expect(page.get_by_test_id("zoom")).to_contain_text("156%")
    _measure(page, 0.4, 0.6, row=0.8)  # below the first line (it grew with the zoom)
    _length(page, at1 / 1.5625, nth=1)
    shot(page, "viewer-measure-zoomed")

    # The multi-frame instance scrolls frame by frame.
    page.get_by_test_id("series").nth(1).click()
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 5")
    expect(page.get_by_test_id("frame-index")).to_contain_text("3 / 5")
    expect(page.get_by_test_id("zoom")).to_contain_text("100%")  # a new series starts fitted
    page.get_by_test_id("preset-bone").click()  # a window that shows the whole ramp
    frame3 = poll(
        page, lambda: (s := pane_stats(page)) and s["lit"] > s["pixels"] * 0.1 and s, "frame 3"
    )
    page.get_by_test_id("pane").first.focus()
    page.keyboard.press("End")
    expect(page.get_by_test_id("frame-index")).to_contain_text("5 / 5")
    wait_changed(page, frame3["sum"])
    page.keyboard.press("ArrowUp")
    expect(page.get_by_test_id("frame-index")).to_contain_text("4 / 5")
    shot(page, "viewer-multiframe")
