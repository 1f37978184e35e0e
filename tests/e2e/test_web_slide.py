"""The slide viewer in Chromium: a three-level VL WSI pyramid stored by STOW-RS opens at its
lowest level, zooming to 20x loads the middle level and 40x the base, tiles come through
our /dicom-web/ with the user's token; a pathologist's marks are saved with the opinion."""

from __future__ import annotations

import importlib.util
import re
import time
from collections import Counter
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, login, shot
from tests.support.wsi import slide_pyramid, stow_slide

SIGN = {"password": "telemed-demo"}  # signing re-authenticates the signer

pytestmark = pytest.mark.e2e
FRAME = re.compile(r"/instances/([0-9.]+)/frames/(\d+)/rendered")


def _stow(live_server: LiveServer, username: str) -> list[Any]:
    slide = slide_pyramid(patient_name="E2E^SLIDE")
    stow_slide(live_server.url, live_server.token(username), slide)
    return slide


class Tiles:
    """Tile requests and their answers, counted by instance (pyramid level)."""

    def __init__(self, page: Any) -> None:
        self.requested: Counter[str] = Counter()
        self.failed: list[str] = []
        self.auth: set[bool] = set()
        page.on("request", self._request)
        page.on("response", self._response)

    def _request(self, req: Any) -> None:
        m = FRAME.search(req.url)
        if m:
            self.requested[m.group(1)] += 1
            self.auth.add(req.headers.get("authorization", "").startswith("Bearer "))

    def _response(self, res: Any) -> None:
        if FRAME.search(res.url) and res.status != 200:
            self.failed.append(f"{res.status} {res.url}")

    def snapshot(self) -> Counter[str]:
        return Counter(self.requested)


def _settled(page: Any, timeout: float = 60) -> None:
    """Poll until OpenSeadragon reports every tile of the view drawn (string predicates of
    wait_for_function are refused by the CSP)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        page.wait_for_timeout(250)
        if (
            page.evaluate(
                "document.querySelector('[data-testid=slide-canvas]')?.dataset.fullyLoaded"
            )
            == "true"
        ):
            page.wait_for_timeout(300)
            if (
                page.evaluate(
                    "document.querySelector('[data-testid=slide-canvas]').dataset.fullyLoaded"
                )
                == "true"
            ):
                return
    raise AssertionError("the slide view never finished loading its tiles")


def _zoom(page: Any, power: int) -> None:
    page.evaluate(
        "document.querySelector('[data-testid=slide-canvas]').dataset.fullyLoaded = 'false'"
    )
    page.get_by_test_id(f"slide-zoom-{power}").click()
    _settled(page)


def test_the_viewer_opens_at_the_lowest_level_and_loads_the_level_of_each_zoom(
    new_page: Any, live_server: LiveServer
) -> None:
    slide = _stow(live_server, "county-doctor")
    base, middle, low = (str(d.SOPInstanceUID) for d in slide)
    study = str(slide[0].StudyInstanceUID)
    page = new_page()
    tiles = Tiles(page)
    login(page, "county-doctor")
    # opened through the viewer's one entry point: a whole-slide study goes to the slide viewer
    page.goto(f"/#/viewer/{study}")
    page.get_by_test_id("slide-canvas").wait_for()
    assert f"#/slide/{study}" in page.url
    _settled(page)
    opened = tiles.snapshot()
    # the whole slide fits the screen: all 12 tiles of the lowest level, nothing finer
    assert opened == Counter({low: 12}), opened
    assert float(page.get_by_test_id("slide-mag").get_attribute("data-mag")) < 10
    assert page.get_by_test_id("slide-scale").is_visible()

    _zoom(page, 20)
    at20 = tiles.snapshot() - opened
    mag = float(page.get_by_test_id("slide-mag").get_attribute("data-mag"))
    assert 19 < mag < 21, mag
    assert at20[middle] > 0 and at20[base] == 0, at20
    # a view's worth of tiles, not the level (48 tiles)
    assert at20[middle] < 48, at20
    _zoom(page, 40)
    at40 = tiles.snapshot() - opened - at20
    assert at40[base] > 0 and at40[base] < 192, at40
    assert not tiles.failed, tiles.failed
    assert tiles.auth == {True}  # every tile read with the user's token
    shot(page, "slide-40x")

    # someone else's slide: refused like any other study
    other = new_page()
    login(other, "specialist2")
    other.goto(f"/#/slide/{study}")
    other.get_by_role("alert").wait_for()
    assert other.get_by_test_id("slide-canvas").count() == 0


def test_a_pathologist_marks_the_slide_and_the_marks_are_signed_with_the_opinion(
    new_page: Any, live_server: LiveServer
) -> None:
    slide = _stow(live_server, "county-doctor")
    study = str(slide[0].StudyInstanceUID)
    with live_server.api("county-doctor") as api, live_server.api("pathologist") as path:
        patient = api.get("/patients").json()[0]
        me = path.get("/auth/me").json()
        c = api.post(
            "/consultations",
            json={
                "patient_id": patient["id"],
                "service_class": "pathology_diagnosis",
                "urgency": "routine",
                "summary": "胃镜活检",
                "question": "请明确病理性质",
                "wanted_specialty": "pathology",
                "chosen_specialist_id": me["id"],
                "override_reason": "指定病理专家（测试）",
                "consent": {
                    "given_by": "巴特尔",
                    "relationship": "self",
                    "method": "verbal",
                    "given_at": "2026-11-01T08:00:00Z",
                },
            },
        ).json()
        r = api.post(f"/consultations/{c['id']}/studies", json={"study_uid": study})
        assert r.status_code == 201, r.text
        assert api.post(f"/consultations/{c['id']}/submit").status_code == 200
        assert path.post(f"/consultations/{c['id']}/accept").status_code == 200

        page = new_page()
        login(page, "pathologist")
        page.goto(f"/#/consultations/{c['id']}")
        page.get_by_test_id(f"slide-{study}").click()
        canvas = page.get_by_test_id("slide-canvas")
        canvas.wait_for()
        _settled(page)
        box = canvas.bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.get_by_test_id("slide-tool-point").click()
        page.get_by_test_id("slide-label").fill("核分裂象")
        page.mouse.click(cx, cy)
        page.get_by_test_id("slide-tool-rect").click()
        page.get_by_test_id("slide-label").fill("浸润灶")
        page.mouse.move(cx - 60, cy - 40)
        page.mouse.down()
        page.mouse.move(cx, cy, steps=5)
        page.mouse.move(cx + 60, cy + 40, steps=5)
        page.mouse.up()
        page.get_by_test_id("slide-save").click()
        page.get_by_test_id("slide-saved").wait_for()

        marks = path.get(f"/consultations/{c['id']}/opinion/annotations").json()
        assert [(m["kind"], m["text"]) for m in marks] == [
            ("point", "核分裂象"),
            ("rectangle", "浸润灶"),
        ]
        point, rect = marks
        # the centre of the screen is near the centre of the 4096 x 3072 base level
        assert abs(point["x"] - 2048) < 200 and abs(point["y"] - 1536) < 200, point
        assert rect["width"] > 100 and rect["height"] > 60, rect
        assert rect["x"] < point["x"] < rect["x"] + rect["width"]
        assert page.get_by_test_id(f"slide-mark-{point['id']}").count() == 1

        opinion = {"findings": "见异型腺体浸润。", "impression": "(胃窦)腺癌", "icd10": ["C16.3"]}
        assert path.put(f"/consultations/{c['id']}/opinion", json=opinion).status_code == 200
        assert path.post(f"/consultations/{c['id']}/opinion/sign", json=SIGN).status_code == 200
        county = new_page()
        login(county, "county-doctor")
        county.goto(f"/#/slide/{study}?consultation={c['id']}")
        county.get_by_test_id(f"slide-annotation-{rect['id']}").wait_for()
        assert county.get_by_test_id("slide-tool-point").count() == 0  # read-only


def test_a_county_doctor_uploads_an_svs_and_opens_the_converted_slide(
    new_page: Any, live_server: LiveServer, tmp_path: Any
) -> None:
    # found, not imported (see dicom.slide_convert): a dependency, so its absence fails
    assert importlib.util.find_spec("wsidicomizer") is not None
    from tests.support.wsi import write_svs

    svs = tmp_path / "S26-00020.svs"
    write_svs(svs, width=2048, height=1536)
    page = new_page()
    login(page, "county-doctor")
    page.goto("/#/studies")
    page.get_by_test_id("slide-upload").locator("xpath=..").locator("summary").click()
    page.get_by_test_id("slide-upload-file").set_input_files(str(svs))
    status = page.get_by_test_id("slide-upload-status")
    status.get_by_role("link").wait_for(timeout=180_000)  # the conversion job ran
    status.get_by_role("link").click()
    page.get_by_test_id("slide-canvas").wait_for()
    _settled(page)
    levels = page.get_by_test_id("slide-levels").inner_text()
    assert "2048" in levels and "1536" in levels, levels
