"""The ECG reader in Chromium at device pixel ratio 2: a synthetic 12-lead ECG (75 bpm) sent
with an ECG consultation is drawn on a correct paper grid (1 mm / 5 mm lines at the right
device-pixel spacing, R-R spacing at 25 mm/s, a 10 mm calibration pulse), with 12 labelled
leads and a rhythm strip; calipers read 800 ms; the reader edits PR and signs, and the
signed opinion carries the values."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from dicom import ecg_synth
from tests.e2e.conftest import LiveServer, login, shot
from tests.support.dicom_files import stow

pytestmark = pytest.mark.e2e

DPR = 2
PX_MM = 96 / 25.4 * DPR  # device pixels per mm at the default CSS scale
CONSENT = {
    "given_by": "巴特尔",
    "relationship": "self",
    "method": "verbal",
    "given_at": "2026-11-01T08:00:00+00:00",
    "note": "explained",
}

# Pixel reading in the page: colours are the paper's (useEcgPaper.PAPER_COLOURS).
GRID_ROW = """([y]) => {
  const c = document.querySelector('[data-testid=ecg-canvas]')
  const d = c.getContext('2d').getImageData(0, y, c.width, 1).data
  const major = [], minor = []
  for (let x = 0; x < c.width; x++) {
    const [r, g, b] = [d[4 * x], d[4 * x + 1], d[4 * x + 2]]
    if (Math.abs(r - 224) < 6 && Math.abs(g - 118) < 6 && Math.abs(b - 106) < 6) major.push(x)
    else if (Math.abs(r - 245) < 6 && Math.abs(g - 201) < 6 && Math.abs(b - 194) < 6) minor.push(x)
  }
  return { major, minor, width: c.width }
}"""
# the topmost dark (trace) pixel of every column between y0 and y1
TOPS = """([y0, y1]) => {
  const c = document.querySelector('[data-testid=ecg-canvas]')
  const d = c.getContext('2d').getImageData(0, y0, c.width, y1 - y0).data
  const tops = []
  for (let x = 0; x < c.width; x++) {
    let top = -1
    for (let y = 0; y < y1 - y0; y++) {
      const i = 4 * (y * c.width + x)
      if (d[i] < 90 && d[i + 1] < 90 && d[i + 2] < 90) { top = y0 + y; break }
    }
    tops.push(top)
  }
  return tops
}"""


def _poll(page: Any, script: str, timeout: float = 30.0) -> Any:
    """Poll a page expression (wait_for_function's string predicates are blocked by the CSP)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = page.evaluate(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"never true: {script}")


def _spacing(xs: list[int]) -> float:
    """Mean distance between the starts of runs of pixels (one line may be 2 px wide)."""
    starts = [x for i, x in enumerate(xs) if i == 0 or x - xs[i - 1] > 1]
    return (starts[-1] - starts[0]) / (len(starts) - 1)


def _ecg_consultation(live_server: LiveServer) -> tuple[str, str]:
    ds = ecg_synth.ecg_dataset(patient_name="E2E^ECG", patient_id=f"E2E-{uuid.uuid4().hex[:6]}")
    study_uid = str(ds.StudyInstanceUID)
    with live_server.api("county-doctor") as api, live_server.api("specialist2") as spec:
        me = spec.get("/auth/me").json()
        patient = api.get("/patients").json()[0]
        c = api.post(
            "/consultations",
            json={
                "patient_id": patient["id"],
                "service_class": "ecg_diagnosis",
                "urgency": "urgent",
                "summary": "女，58岁，阵发性心悸3天。",
                "question": "请判读心电图。",
                "wanted_specialty": "cardiology",
                "chosen_specialist_id": me["id"],
                "override_reason": "指定专家（测试）",
                "consent": CONSENT,
            },
        )
        assert c.status_code == 201, c.text
        cid = c.json()["id"]
        assert api.post(f"/consultations/{cid}/submit").status_code == 200
        token = api.headers["Authorization"].removeprefix("Bearer ")
        r = stow(live_server.url, token, [ds], patient_id=patient["id"])
        assert r.status_code == 200, r.text
        linked = api.post(f"/consultations/{cid}/studies", json={"study_uid": study_uid})
        assert linked.status_code == 201, linked.text
        accepted = spec.post(f"/consultations/{cid}/accept")
        assert accepted.status_code == 200, accepted.text
    return cid, study_uid


def test_ecg_reader_draws_a_calibrated_12_lead_and_the_values_are_signed(
    new_page: Any, live_server: LiveServer
) -> None:
    cid, study_uid = _ecg_consultation(live_server)
    page = new_page(device_scale_factor=DPR)
    login(page, "specialist2")
    # the viewer's one entry point sends a study of waveforms to the ECG reader
    page.goto(f"/#/viewer/{study_uid}?consultation={cid}")
    page.get_by_test_id("ecg-canvas").wait_for()
    assert f"#/ecg/{study_uid}?consultation={cid}" in page.url
    page.goto(f"/#/consultations/{cid}")
    page.get_by_test_id(f"ecg-{study_uid}").click()
    canvas = page.get_by_test_id("ecg-canvas")
    canvas.wait_for()
    _poll(page, "document.querySelector('[data-testid=ecg-canvas]').dataset.drawnAt !== ''")
    leads = canvas.get_attribute("data-leads").split(",")
    assert leads[:12] == ["I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5", "III", "aVF", "V3", "V6"]
    assert leads[12] == "II (rhythm)"
    assert float(canvas.get_attribute("data-px-per-mm")) == pytest.approx(PX_MM, abs=1e-6)
    assert canvas.get_attribute("data-speed") == "25"
    shot(page, "ecg-reader-25mm-s")

    # the grid: a row 0.5 mm from the top crosses only vertical lines
    grid = page.evaluate(GRID_ROW, [round(0.5 * PX_MM)])
    assert grid["width"] == pytest.approx(268.0 * PX_MM, abs=2)  # 13 + 250 + 5 mm, see geometry()
    assert _spacing(grid["major"]) == pytest.approx(5 * PX_MM, abs=0.1)  # 37.8 device px
    lines = sorted(grid["major"] + grid["minor"])
    starts = [x for i, x in enumerate(lines) if i == 0 or x - lines[i - 1] > 1]
    gaps = {b - a for a, b in zip(starts, starts[1:], strict=False)}
    assert gaps <= {7, 8}, gaps  # every 1 mm line (7.56 px), none missing
    assert len(grid["major"]) > 0 and len(starts) == pytest.approx(268 + 1, abs=1)

    # 25 mm/s: the rhythm strip's R peaks 0.8 s apart are 20 mm apart
    row_mm = 30
    y0, y1 = round(3 * row_mm * PX_MM), round(4 * row_mm * PX_MM)
    tops = page.evaluate(TOPS, [y0, y1])
    start = round(19 * PX_MM)  # after the pulse (5–10 mm) and the lead label (14–17 mm)
    top = min(t for t in tops[start:] if t >= 0)
    peaks = []
    for x in range(start, len(tops)):
        if 0 <= tops[x] <= top + 3 and (not peaks or x - peaks[-1][-1] > 20):
            peaks.append([x])
        elif 0 <= tops[x] <= top + 3:
            peaks[-1].append(x)
    centres = [sum(p) / len(p) for p in peaks]
    assert len(centres) == 12, centres
    gaps = [b - a for a, b in zip(centres, centres[1:], strict=False)]
    assert all(abs(g - 20 * PX_MM) <= 2 for g in gaps), gaps

    # the calibration pulse of the first row: 10 mm tall at 10 mm/mV
    baseline_y = 0.62 * row_mm * PX_MM
    column = page.evaluate(TOPS, [0, round(row_mm * PX_MM)])
    pulse_top = column[round(7 * PX_MM)]
    assert (baseline_y - pulse_top) == pytest.approx(10 * PX_MM, abs=3)

    # calipers: a 20 mm drag reads 800 ms / 75 bpm
    box = page.get_by_test_id("ecg-calipers").bounding_box()
    x, y = box["x"] + 60, box["y"] + 40
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20 * 96 / 25.4, y, steps=5)
    page.mouse.up()
    expect(page.get_by_test_id("caliper-readout")).to_contain_text("800 毫秒（75 次/分）")

    # 50 mm/s: the paper is twice as long, the grid the same
    page.get_by_test_id("ecg-speed").select_option("50")
    _poll(page, "document.querySelector('[data-testid=ecg-canvas]').dataset.speed === '50'")
    wider = page.evaluate(GRID_ROW, [round(0.5 * PX_MM)])
    assert wider["width"] == pytest.approx(523.0 * PX_MM, abs=2)
    assert _spacing(wider["major"]) == pytest.approx(5 * PX_MM, abs=0.1)

    # the automatic values beside the tracing; the reader corrects PR and signs
    # (neurokit2's first import and 12 leads' delineation take seconds on a loaded machine)
    page.get_by_test_id("ecg-measurements").wait_for(timeout=180_000)
    expect(page.get_by_test_id("ecg-automatic-note")).to_contain_text("不构成诊断")
    hr = float(page.get_by_test_id("ecg-heart_rate_bpm").input_value())
    assert abs(hr - 75) <= 2
    page.get_by_test_id("ecg-pr_ms").fill("170")
    page.get_by_test_id("ecg-pr_ms").press("Tab")
    expect(page.get_by_test_id("ecg-edited-pr_ms")).to_be_visible()
    page.locator("#ecg-impression").fill("窦性心律，正常心电图范围。")
    page.get_by_test_id("ecg-sign").click()
    page.get_by_test_id("sign-password").fill("telemed-demo")  # signing re-authenticates
    # re-authentication hashes the password and signing writes the signed version: on a
    # loaded machine that round trip alone can pass 5 s, so its answer is what is waited for
    with page.expect_response(
        lambda r: r.url.endswith("/opinion/sign") and r.request.method == "POST", timeout=60_000
    ) as signed:
        page.get_by_test_id("sign-confirm").click()
    assert signed.value.status == 200, signed.value.text()
    expect(page.get_by_test_id("ecg-signed")).to_be_visible()
    shot(page, "ecg-reader-signed")

    with live_server.api("county-doctor") as api:
        op = api.get(f"/consultations/{cid}/opinion").json()
        assert op["signed_at"] and op["ecg_measurements"]["pr_ms"] == 170
        assert op["ecg_measurements"]["edited"] == ["pr_ms"]
        assert (
            op["ecg_measurements"]["sop_uid"]
            and abs(op["ecg_measurements"]["heart_rate_bpm"] - 75) <= 2
        )
        assert "心率" in op["findings"]
        assert api.get(f"/consultations/{cid}/opinion/verify").json()["valid"] is True
    county = new_page()
    login(county, "county-doctor")
    county.goto(f"/#/consultations/{cid}")
    expect(county.get_by_test_id("signed-ecg")).to_contain_text("170")
