"""The opinion as a document, and the consultation page on a phone: the PDF button saves
the signed opinion (its text names the signer and the ICD-10 diagnosis), the patient signs
the consent on the screen with a finger (touch, 2× pixel ratio) or the mouse and the
signature is stored and shown, the page fits a 390 px phone, and a request without an
opinion loads without a console error."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e

OPINION = {
    "findings": "右肺上叶尖段见一约8mm磨玻璃密度结节，边界清。",
    "impression": "右肺上叶磨玻璃结节，良性可能性大",
    "icd10": ["R91"],
    "recommendations": "建议3个月后复查低剂量胸部CT。",
}


def _request(live_server: LiveServer, *, signed: bool) -> dict[str, Any]:
    """An imaging request of the county doctor for specialist2, accepted, and (`signed`)
    with a signed opinion; returns the request and the signer's and diagnosis' names."""
    with live_server.api("county-doctor") as county, live_server.api("specialist2") as spec:
        patient = county.get("/patients").json()[0]
        me = spec.get("/auth/me").json()
        body = {
            "patient_id": patient["id"],
            "service_class": "imaging_diagnosis",
            "urgency": "urgent",
            "wanted_specialty": "radiology",
            "summary": "男，64岁，咳嗽伴胸痛2周。胸部CT示右肺上叶结节。",
            "question": "请协助判断右肺上叶结节性质。",
            "chosen_specialist_id": me["id"],
            "override_reason": "指定专家",
            "imaging_order": {"modality": "CT", "procedure": "胸部低剂量CT平扫"},  # a table
            "consent": {
                "given_by": patient["name"],
                "relationship": "self",
                "method": "written",
                "witness": "护士 李梅",
                "given_at": "2026-12-01T08:00:00+00:00",
            },
        }
        c = county.post("/consultations", json=body)
        assert c.status_code == 201, c.text
        cid = c.json()["id"]
        assert county.post(f"/consultations/{cid}/submit").status_code == 200
        assert spec.post(f"/consultations/{cid}/accept", json={}).status_code == 200
        if signed:
            assert spec.put(f"/consultations/{cid}/opinion", json=OPINION).status_code == 200
            r = spec.post(f"/consultations/{cid}/opinion/sign", json={"password": "telemed-demo"})
            assert r.status_code == 200, r.text
        r91 = county.get("/reference/icd10/R91").json()
    return {"id": cid, "signer": me["full_name"], "r91": r91["name_zh"]}


def _console_errors(page: Any) -> list[str]:
    """Console errors of `page`, a failed load named by its URL. The browser's own request
    for /favicon.ico is left out: the app shell's icon is not this page's (issue 20, item 9)."""
    errors: list[str] = []
    failed: list[str] = []

    def response(r: Any) -> None:
        if r.status >= 400:
            failed.append(f"{r.status} {r.url}")

    def console(m: Any) -> None:
        if m.type != "error":
            return
        where = (m.location or {}).get("url", "")
        if where.endswith("/favicon.ico"):
            return
        errors.append(f"{m.text} at {where} (failed: {failed})")

    page.on("response", response)
    page.on("console", console)
    return errors


def _no_sideways_scroll(page: Any) -> dict[str, int]:
    return page.evaluate(
        "() => ({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )


def test_the_pdf_button_saves_the_signed_opinion_naming_signer_and_diagnosis(
    new_page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    c = _request(live_server, signed=True)
    page = new_page()
    errors = _console_errors(page)
    login(page, "county-doctor")
    page.goto(f"/#/consultations/{c['id']}")
    card = page.get_by_test_id("signed-opinion")
    card.wait_for()
    expect(page.get_by_test_id("signer-name")).to_contain_text(c["signer"])
    expect(page.get_by_test_id("signer-hospital")).not_to_have_text("—")
    expect(page.get_by_test_id("opinion-diagnoses")).to_contain_text(f"R91 {c['r91']}")
    expect(page.get_by_test_id("consent-witness-shown")).to_have_text("护士 李梅")
    with page.expect_download() as info:
        page.get_by_test_id("opinion-pdf").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-raw", str(saved), "-"], capture_output=True, check=True
    ).stdout.decode()
    flat = "".join(text.split())
    assert c["signer"] in flat and "R91" in flat and "".join(c["r91"].split()) in flat
    shot(page, "opinion-document-signed-card")
    assert not errors, errors


def _draw_touch(page: Any, box: dict[str, float]) -> None:
    cdp = page.context.new_cdp_session(page)
    x0, y0 = box["x"] + 20, box["y"] + box["height"] * 0.7

    def touch(kind: str, pts: list[tuple[float, float]]) -> None:
        points = [{"x": x, "y": y, "id": 0} for x, y in pts]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", [(x0, y0)])
    for k in range(1, 21):
        touch("touchMove", [(x0 + k * 12, y0 - (k % 5) * 8)])
        page.wait_for_timeout(16)
    touch("touchEnd", [])


def test_consent_signed_with_a_finger_on_a_phone_is_stored_and_shown(
    new_page: Any, live_server: LiveServer
) -> None:
    page = new_page(phone=True, device_scale_factor=2, has_touch=True, is_mobile=True)
    errors = _console_errors(page)
    login(page, "county-doctor")
    page.goto("/#/consultations/new")
    with live_server.api("county-doctor") as api:
        patient = api.get("/patients").json()[0]
    page.locator("#search-q").fill(patient["name"])
    page.get_by_test_id("search-submit").click()
    page.get_by_test_id("patient-results").get_by_role("button").first.click()
    page.get_by_test_id("chosen-patient").wait_for()
    page.locator("#c-class").select_option("imaging_diagnosis")
    page.locator("#c-specialty").select_option("radiology")
    page.get_by_label("加急").check()
    page.locator("#c-question").fill("请协助判断右肺上叶结节性质。")
    page.locator("#c-summary").fill("男，64岁，咳嗽伴胸痛2周。")
    page.get_by_test_id("consent-method").select_option("on_screen")
    page.get_by_test_id("consent").check()
    page.get_by_test_id("submit-consultation").click()  # not signed yet: refused in place
    expect(page.get_by_text("请患者在框内签名").first).to_be_visible()

    canvas = page.get_by_test_id("signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    _draw_touch(page, box)
    expect(page.get_by_test_id("signature-state")).to_have_text("已签名")
    size = canvas.evaluate(
        "c => ({w: c.width, h: c.height, cw: c.clientWidth, ch: c.clientHeight})"
    )
    assert size["w"] == 2 * size["cw"] and size["h"] == 2 * size["ch"]  # device pixels
    shot(page, "consent-signed-on-phone")
    page.get_by_test_id("submit-consultation").click()
    expect(page.get_by_test_id("consult-state")).to_have_text("待接收")
    cid = page.url.rsplit("/", 1)[1]

    shown = page.get_by_test_id("consent-signature-image")
    expect(shown).to_be_visible()
    natural = shown.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == [size["w"], size["h"]]
    with live_server.api("county-doctor") as api:
        consent = api.get(f"/consultations/{cid}/consent").json()[0]
        assert consent["method"] == "on_screen" and consent["has_signature"]
        png = api.get(f"/consultations/{cid}/consent/{consent['id']}/signature.png").content
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.size == (size["w"], size["h"])
    alpha = img.convert("RGBA").getchannel("A")
    assert alpha.getextrema()[1] > 0  # ink was stored, not an empty canvas
    dims = _no_sideways_scroll(page)
    assert dims["scroll"] <= dims["client"], dims
    assert not errors, errors


def test_consent_signed_with_the_mouse_on_a_desktop(new_page: Any, live_server: LiveServer) -> None:
    page = new_page()
    login(page, "county-doctor")
    page.goto("/#/consultations/new")
    page.get_by_test_id("consent-method").select_option("on_screen")
    canvas = page.get_by_test_id("signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + 100)
    page.mouse.down()
    for k in range(1, 16):
        page.mouse.move(box["x"] + 30 + k * 15, box["y"] + 100 - (k % 4) * 10)
    page.mouse.up()
    expect(page.get_by_test_id("signature-state")).to_have_text("已签名")
    page.get_by_test_id("signature-clear").click()
    expect(page.get_by_test_id("signature-state")).to_have_text("尚未签名")


@pytest.mark.parametrize(
    ("who", "signed"), [("county-doctor", True), ("specialist2", True), ("specialist2", False)]
)
def test_the_consultation_page_fits_a_phone(
    new_page: Any, live_server: LiveServer, who: str, signed: bool
) -> None:
    c = _request(live_server, signed=signed)
    page = new_page(phone=True)
    errors = _console_errors(page)
    login(page, who)
    page.goto(f"/#/consultations/{c['id']}")
    page.get_by_test_id("signed-opinion" if signed else "opinion-form").wait_for()
    page.get_by_test_id("consents").wait_for()
    page.get_by_test_id("imaging-orders").wait_for()
    dims = _no_sideways_scroll(page)
    print(f"consultation page at 390 px as {who} (signed: {signed}): {dims}")
    shot(page, f"consultation-phone-{who}-{'signed' if signed else 'draft'}")
    assert dims["scroll"] <= dims["client"], dims
    assert not errors, errors


def test_a_consultation_without_opinion_loads_without_console_errors(
    new_page: Any, live_server: LiveServer
) -> None:
    c = _request(live_server, signed=False)
    for who in ("county-doctor", "specialist2"):
        page = new_page()
        errors = _console_errors(page)
        login(page, who)
        page.goto(f"/#/consultations/{c['id']}")
        expect(page.get_by_test_id("consult-state")).to_have_text("已接收")
        if who == "specialist2":
            page.get_by_test_id("opinion-form").wait_for()
        page.get_by_test_id("consents").wait_for()
        assert not errors, (who, errors)
