"""The Cornerstone3D reading workstation in Chromium, on CT series stored compressed
(JPEG-LS lossless, JPEG 2000) and decoded in the browser: first image, scroll, W/L preset,
overlay, MPR views, a length measurement (saved as SR, read back by a DICOMweb client and
drawn again on reopening), touch gestures on a phone."""

from __future__ import annotations

import re
from typing import Any

import highdicom as hd
import pytest
from dicomweb_client.api import DICOMwebClient
from playwright.sync_api import expect
from pydicom.sr.codedict import codes
from pydicom.uid import JPEG2000Lossless, JPEGLSLossless

from tests.e2e.conftest import LiveServer, login, shot
from tests.e2e.viewer_support import pane_stats, phantom_study, poll, wait_changed, wait_image

pytestmark = pytest.mark.e2e

PIXEL_MM = 0.7  # the phantom's PixelSpacing
# the page's clock at the viewer's first render (Cornerstone's event, caught on its way down)
RENDERED_AT = """performance.setResourceTimingBufferSize(5000); window.__renderedAt = 0;
document.addEventListener('CORNERSTONE_IMAGE_RENDERED',
  () => { window.__renderedAt ||= performance.now() }, true)"""
STARTED = """(uid) => performance.getEntriesByType('resource')
  .filter((e) => e.name.includes(uid)).map((e) => [e.name, e.startTime])"""


def _frame_syntaxes(page: Any) -> list[str]:
    seen: list[str] = []

    def on_response(resp: Any) -> None:
        if "/frames/" in resp.url:
            seen.append(resp.headers.get("content-type", ""))

    page.on("response", on_response)
    return seen


def test_the_first_image_travels_first_then_the_stack_and_the_context(
    new_page: Any, live_server: LiveServer
) -> None:
    # on a county's thin link every request before the first frame delays it: the series
    # list, that series' metadata, its middle frame, and only once that frame is in, the
    # rest of the stack, the thumbnails, the priors and the saved marks
    study = phantom_study(live_server, "county-doctor", JPEGLSLossless, patient_name="FIRST^IMG")
    page = new_page()
    page.add_init_script(RENDERED_AT)
    login(page, "county-doctor")
    log: list[tuple[str, str]] = []
    page.on("request", lambda r: log.append(("sent", r.url)) if study in r.url else None)
    page.on("requestfinished", lambda r: log.append(("done", r.url)) if study in r.url else None)
    page.goto(f"/#/viewer/{study}")
    wait_image(page)
    poll(page, lambda: any("/measurements" in u for _, u in log), "the saved marks asked for")
    poll(page, lambda: sum("/frames/" in u for k, u in log if k == "sent") > 1, "the prefetch")
    sent = [u for k, u in log if k == "sent"]
    assert re.search(r"/dicom-web/studies/[0-9.]+/series$", sent[0]), sent[:3]
    assert sent[1].endswith("/metadata") and "/frames/" in sent[2], sent[:3]
    arrived = log.index(("done", sent[2]))
    before = [u for k, u in log[:arrived] if k == "sent" and u not in sent[:3]]
    assert before == [], before  # nothing else asked for until the first frame was in
    # ... nor until it was drawn: the prefetch and the context wait for the first render
    drawn = page.evaluate("() => window.__renderedAt")
    # a request is in the resource timeline once its answer is in: wait for those after the
    # first three (under load they finish a while after they are sent)
    poll(page, lambda: len(page.evaluate(STARTED, study)) > 3, "the later requests answered")
    started = page.evaluate(STARTED, study)
    early = [u for u, t in started if u not in sent[:3] and t < drawn]
    assert drawn > 0 and len(started) > 3 and early == [], (drawn, early)
    context = [u for u in sent if "/api/v1/studies/" in u]
    assert any(u.endswith(f"/api/v1/studies/{study}") for u in context), context  # priors
    expect(page.get_by_test_id("overlay-patient")).to_contain_text("FIRST IMG")


def test_a_jpeg_ls_ct_is_read_scrolled_windowed_measured_and_shown_in_mpr(
    new_page: Any, live_server: LiveServer
) -> None:
    study = phantom_study(live_server, "county-doctor", JPEGLSLossless, patient_name="CS3D^LS")
    page = new_page()
    syntaxes = _frame_syntaxes(page)
    login(page, "county-doctor")
    page.goto(f"/#/viewer/{study}")
    first = wait_image(page)
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 20")
    expect(page.get_by_test_id("overlay-patient")).to_contain_text("CS3D LS")
    expect(page.get_by_test_id("overlay-patient")).to_contain_text("PID0001")
    expect(page.get_by_test_id("overlay-study")).to_contain_text("2026-11-20")
    expect(page.get_by_test_id("overlay-image")).to_contain_text("5")  # slice thickness 5 mm
    # axial, as acquired: patient left on the screen's right, anterior at the top
    expect(page.get_by_test_id("orient-right")).to_have_text("L")
    expect(page.get_by_test_id("orient-top")).to_have_text("A")
    # the frames travelled as stored (JPEG-LS) and were decoded in the browser
    assert syntaxes and all(JPEGLSLossless in t for t in syntaxes), syntaxes
    shot(page, "cs3d-jpegls-first")

    page.get_by_test_id("preset-lung").click()
    expect(page.get_by_test_id("window")).to_contain_text("1500")
    lung = wait_changed(page, first["sum"])

    start = page.get_by_test_id("slice-index").inner_text()
    page.get_by_test_id("viewer-element").hover()
    for _ in range(3):
        page.mouse.wheel(0, 120)
    poll(page, lambda: page.get_by_test_id("slice-index").inner_text() != start, "scrolled")
    wait_changed(page, lung["sum"])

    page.get_by_test_id("tool-length").click()
    box = page.get_by_test_id("viewer-element").bounding_box()
    assert box
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=8)
    page.mouse.up()
    value = page.get_by_test_id("measurement-value").first
    expect(value).to_contain_text("mm")
    # the 128-pixel image fills the square pane: 40 % of its width is 0.4 * 128 px * 0.7 mm
    # (the tool's statistics follow the drag a little behind: wait for the settled value)
    expected = 0.4 * 128 * PIXEL_MM
    poll(page, lambda: abs(float(value.inner_text().split()[0]) - expected) < 2.0, "the length")
    shot(page, "cs3d-jpegls-length")

    # saved as the measurement JSON of POST /api/v1/studies/{uid}/measurements (h-sr's SR API)
    with page.expect_request(lambda r: r.url.endswith(f"/studies/{study}/measurements")) as req:
        page.get_by_test_id("save-measurements").click()
    body = req.value.post_data_json
    (m,) = body["measurements"]
    assert m["kind"] == "length" and m["unit"] == "mm" and m["frame"] == 1, m
    assert abs(m["value"] - expected) < 2.0, m
    (a, b) = m["points"]  # image pixels, (0, 0) the top-left pixel's corner: the middle row
    assert abs(a[1] - 64) < 1.5 and abs(b[1] - 64) < 1.5 and abs((b[0] - a[0]) - 51.2) < 3, m
    assert m["series_uid"] and m["sop_instance_uid"] and body["key_images"] == []

    page.get_by_test_id("mpr-toggle").click()
    for axis in ("axial", "sagittal", "coronal"):
        wait_image(page, f"[data-testid=mpr-{axis}]")
    shot(page, "cs3d-jpegls-mpr")


# The length tool's lines and text as drawn on the pane's SVG layer (Cornerstone's annotations).
DRAWN = """(sel) => {
  const svg = document.querySelector(sel + ' svg')
  if (!svg) return null
  const lines = [...svg.querySelectorAll('line')].map((l) => ['x1', 'y1', 'x2', 'y2']
    .map((a) => Number(l.getAttribute(a))))
  const texts = [...svg.querySelectorAll('text')].map((t) => t.textContent || '')
  const r = svg.getBoundingClientRect()
  return { lines, texts, width: r.width, height: r.height }
}"""


def _drawn(page: Any) -> dict[str, Any]:
    return page.evaluate(DRAWN, "[data-testid=viewer-element]")  # type: ignore[no-any-return]


def _drawn_length(page: Any) -> float | None:
    """The millimetres of the length drawn on the pane now (None: none drawn here)."""
    for text in _drawn(page)["texts"]:
        m = re.fullmatch(r"\s*([\d.]+)\s*mm\s*", text)
        if m:
            return float(m.group(1))
    return None


def test_a_length_measured_with_the_mouse_goes_into_the_study_as_sr_and_is_drawn_on_reopening(
    new_page: Any, live_server: LiveServer
) -> None:
    study = phantom_study(live_server, "county-doctor", JPEGLSLossless, patient_name="CS3D^SR")
    page = new_page()
    login(page, "county-doctor")
    page.goto(f"/#/viewer/{study}")
    wait_image(page)
    slice_text = page.get_by_test_id("slice-index").inner_text()
    page.get_by_test_id("tool-length").click()
    box = page.get_by_test_id("viewer-element").bounding_box()
    assert box
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=8)
    page.mouse.up()
    expected = 0.4 * 128 * PIXEL_MM
    shown = page.get_by_test_id("measurement-value").first
    poll(page, lambda: abs(float(shown.inner_text().split()[0]) - expected) < 2.0, "the length")
    page.get_by_test_id("key-image").click()
    expect(page.get_by_test_id("key-image")).to_have_attribute("aria-pressed", "true")
    with page.expect_response(
        lambda r: r.url.endswith(f"/studies/{study}/measurements") and r.request.method == "POST"
    ) as resp:
        page.get_by_test_id("save-measurements").click()
    assert resp.value.status == 201, resp.value.text()
    saved = resp.value.json()
    (m,) = saved["measurements"]
    value = float(shown.inner_text().split()[0])

    # the SR in the study, as any DICOMweb client sees it, parsed by highdicom
    headers = {"Authorization": f"Bearer {live_server.token('county-doctor')}"}
    dw = DICOMwebClient(url=f"{live_server.url}/dicom-web", headers=headers)
    ds = dw.retrieve_instance(
        study, saved["report"]["series_uid"], saved["report"]["sop_instance_uid"]
    )
    report = hd.sr.MeasurementReport.from_sequence(hd.sr.Comprehensive3DSR.from_dataset(ds).content)
    (group,) = report.get_planar_roi_measurement_groups()
    (length,) = group.get_measurements()
    assert length.name == codes.SCT.Length and length.unit.value == "mm"
    assert abs(float(length.value) - value) < 0.01, (length.value, value)
    assert abs(float(length.value) - expected) < 2.0
    ref = group.roi.ContentSequence[0].ReferencedSOPSequence[0]  # type: ignore[union-attr]
    assert str(ref.ReferencedSOPInstanceUID) == m["sop_instance_uid"]
    assert group.roi.graphic_type.value == "POLYLINE"  # type: ignore[union-attr]
    assert [k["sop_instance_uid"] for k in saved["key_images"]] == [m["sop_instance_uid"]]

    # reopened (another page, then the viewer again): the length is drawn again, once, on its
    # image (Cornerstone measures it anew from the restored points), the image is flagged as
    # key image; one slice on, neither
    page.goto("/#/")
    expect(page.get_by_test_id("viewer-element")).to_have_count(0)
    page.goto(f"/#/viewer/{study}")
    wait_image(page)
    expect(page.get_by_test_id("slice-index")).to_have_text(slice_text)
    again = poll(page, lambda: _drawn_length(page), "the saved length drawn")
    assert abs(again - value) < 0.05, (again, value)
    drawn = _drawn(page)
    assert len([t for t in drawn["texts"] if t.strip().endswith("mm")]) == 1, drawn
    (x1, y1, x2, y2) = max(drawn["lines"], key=lambda ln: abs(ln[2] - ln[0]))
    w = drawn["width"]
    assert abs(min(x1, x2) - 0.3 * w) < 0.03 * w and abs(max(x1, x2) - 0.7 * w) < 0.03 * w, drawn
    assert abs(y1 - drawn["height"] / 2) < 0.03 * drawn["height"] and abs(y2 - y1) < 1, drawn
    expect(page.get_by_test_id("measurement-value")).to_have_count(1)
    expect(page.get_by_test_id("key-image")).to_have_attribute("aria-pressed", "true")
    shot(page, "cs3d-length-restored")
    page.get_by_test_id("viewer-element").hover()
    page.get_by_test_id("pane").first.focus()
    page.keyboard.press("ArrowDown")
    poll(page, lambda: page.get_by_test_id("slice-index").inner_text() != slice_text, "next")
    poll(page, lambda: _drawn_length(page) is None, "no length on the next slice")
    expect(page.get_by_test_id("key-image")).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("ArrowUp")
    poll(page, lambda: _drawn_length(page), "the length back on its slice")


def test_a_jpeg_2000_ct_is_decoded_in_the_browser(new_page: Any, live_server: LiveServer) -> None:
    study = phantom_study(live_server, "county-doctor", JPEG2000Lossless, count=6, size=96)
    page = new_page()
    syntaxes = _frame_syntaxes(page)
    login(page, "county-doctor")
    page.goto(f"/#/viewer/{study}")
    wait_image(page)
    expect(page.get_by_test_id("slice-index")).to_contain_text("/ 6")
    assert syntaxes and all(JPEG2000Lossless in t for t in syntaxes), syntaxes
    shot(page, "cs3d-j2k-first")


def _touch(cdp: Any, kind: str, points: list[tuple[float, float]]) -> None:
    cdp.send(
        "Input.dispatchTouchEvent",
        {
            "type": kind,
            "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)],
        },
    )


def _swipe(page: Any, cdp: Any, starts: list[tuple[float, float]], dx: float, dy: float) -> None:
    _touch(cdp, "touchStart", starts)
    for k in range(1, 11):
        _touch(cdp, "touchMove", [(x + dx * k / 10, y + dy * k / 10) for x, y in starts])
        page.wait_for_timeout(16)
    _touch(cdp, "touchEnd", [])


def test_touch_one_finger_slices_pinch_zooms_and_the_wl_button_windows_on_a_phone(
    new_page: Any, live_server: LiveServer
) -> None:
    study = phantom_study(live_server, "county-doctor", JPEGLSLossless, count=20, size=128)
    page = new_page(phone=True, device_scale_factor=2, has_touch=True, is_mobile=True)
    login(page, "county-doctor")
    page.goto(f"/#/viewer/{study}")
    stats = wait_image(page)
    # drawn at device pixels: twice the CSS width on this 2x screen
    assert stats["width"] == stats["cssWidth"] * 2, stats
    el = page.get_by_test_id("viewer-element")
    box = el.bounding_box()
    assert box and box["y"] < 844, box  # the image starts above the fold
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp = page.context.new_cdp_session(page)

    start = page.get_by_test_id("slice-index").inner_text()
    _swipe(page, cdp, [(cx, cy - 60)], 0, 120)
    poll(
        page, lambda: page.get_by_test_id("slice-index").inner_text() != start, "one finger slices"
    )

    zoom = page.get_by_test_id("zoom").inner_text()
    _touch(cdp, "touchStart", [(cx - 30, cy), (cx + 30, cy)])
    for k in range(1, 11):
        _touch(cdp, "touchMove", [(cx - 30 - 8 * k, cy), (cx + 30 + 8 * k, cy)])
        page.wait_for_timeout(16)
    _touch(cdp, "touchEnd", [])
    poll(page, lambda: page.get_by_test_id("zoom").inner_text() != zoom, "pinch zooms")

    window = page.get_by_test_id("window").inner_text()
    page.get_by_test_id("tool-wl").tap()
    _swipe(page, cdp, [(cx - 40, cy)], 80, 40)
    poll(page, lambda: page.get_by_test_id("window").inner_text() != window, "W/L by touch")
    assert pane_stats(page)
    shot(page, "cs3d-phone-touch")
