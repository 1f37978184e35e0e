"""The patient's path in traditional Mongolian script on a phone (issue 24): a resident picks
ᠮᠣᠩᠭᠣᠯ in the language menu before logging in, books a slot, reads their family-doctor
contract and their referral; the texts are Mongolian, set top to bottom (boxes taller than
wide), in the font shipped with the frontend, and the pages do not scroll sideways. Keys the
Mongolian catalogue lacks show in Chinese. The choice is kept on the user
(`PUT /auth/me/language`): a new browser opens in it and the patient's notifications are in
Mongolian. The referral slip and the contract print as Mongolian PDFs."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from telemed.identity import resident_id as rid
from tests.e2e.conftest import DEMO_PASSWORD, LiveServer, login, shot
from tests.support.pdf_pages import assert_vertical_mongolian

pytestmark = pytest.mark.e2e
MONGOLIAN = re.compile(r"[\u1820-\u18aa]")
PHONE_WIDTH = 390


@pytest.fixture
def paths(live_server: LiveServer) -> set[str]:
    found = set(httpx.get(f"{live_server.url}/openapi.json", timeout=120).json()["paths"])
    needed = {
        "/api/v1/slots",
        "/api/v1/referrals",
        "/api/v1/family-doctors/contracts",
        "/api/v1/auth/me/language",
        "/api/v1/referrals/{referral_id}/slip.pdf",
        "/api/v1/family-doctors/contracts/{contract_id}/contract.pdf",
    }
    assert needed <= found, f"missing from the API: {sorted(needed - found)}"
    return found


def _printed(page: Any, testid: str, scope: Any) -> bytes:
    """Click the print button `testid` in `scope`; the downloaded PDF."""
    with page.expect_download() as info:
        scope.get_by_test_id(testid).click()
    return Path(info.value.path()).read_bytes()


def _resident_with_contract_and_referral(live_server: LiveServer) -> str:
    """A resident of the demo county with an app account, signed by the township's team and
    referred up to the county hospital (over the API); returns the username."""
    seq = secrets.randbelow(49) * 2 + 901
    born = date(1948, 6, 1) + timedelta(days=secrets.randbelow(4000))
    with live_server.api("family-doctor") as fd:
        patient = fd.post(
            "/patients",
            json={
                "name": f"巴雅尔{seq}",
                "resident_id": rid.make("150122", born, seq),
                "county_code": "150122",
            },
        ).json()
        team = fd.get("/family-doctors/teams", params={"county": "150122"}).json()[0]
        signed = fd.post(
            "/family-doctors/contracts",
            json={
                "patient_id": patient["id"],
                "team_id": team["id"],
                "package_codes": ["hypertension"],
                "consent": {"method": "written", "witness": "家属"},
            },
        )
        assert signed.status_code == 201, signed.text
        to = fd.get(
            "/referrals/receivers", params={"patient_id": patient["id"], "direction": "up"}
        ).json()[0]
        why = {"reason": "血压控制不佳", "diagnosis_code": "I10", "diagnosis_text": "原发性高血压"}
        to_county = {"to_institution_id": to["institution_id"], "direction": "up"}
        ref = fd.post("/referrals", json={"patient_id": patient["id"], **to_county, **why}).json()
        assert fd.post(f"/referrals/{ref['id']}/submit").status_code == 200
    username = f"mn-resident-{seq}-{secrets.token_hex(3)}"
    with live_server.api("admin") as admin:
        account = {"username": username, "password": DEMO_PASSWORD, "role": "patient"}
        person = {"full_name": patient["name"], "patient_id": patient["id"]}
        made = admin.post("/users", json={**account, **person})
        assert made.status_code == 201, made.text
    return username


def _assert_vertical_mongolian(page: Any, selector: str) -> None:
    """Every box matched holds Mongolian, is set vertical-lr and is taller than wide."""
    boxes = page.eval_on_selector_all(
        selector,
        """els => els.filter(e => e.offsetParent !== null).map(e => ({
            text: e.innerText, mode: getComputedStyle(e).writingMode,
            w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height }))""",
    )
    assert boxes, f"nothing matches {selector}"
    for b in boxes:
        assert MONGOLIAN.search(b["text"]), b
        assert b["mode"] == "vertical-lr", b
        assert b["h"] > b["w"], f"{selector}: {b} is not a vertical column"


def _assert_font_and_width(page: Any, name: str) -> None:
    assert page.evaluate("document.documentElement.lang") == "mn-Mong"
    loaded = page.evaluate(
        "async () => { await document.fonts.ready;"
        " return document.fonts.check('16px \"Telemed Mongolian\"', 'ᠮᠣᠩᠭᠣᠯ') }"
    )
    assert loaded, "the shipped Mongolian font did not load (tofu)"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{name} scrolls sideways ({width}px)"
    shot(page, f"mn-Mong-{name}")


def test_patient_books_and_reads_contract_and_referral_in_vertical_mongolian_on_a_phone(
    new_page: Any, live_server: LiveServer, paths: set[str]
) -> None:
    username = _resident_with_contract_and_referral(live_server)
    page = new_page(phone=True)
    page.goto("/#/login")
    page.get_by_test_id("login-form").wait_for()
    page.get_by_test_id("locale").select_option("mn-Mong")
    expect(page.locator("h1").first).to_have_text(MONGOLIAN)
    login(page, username)

    # The menu: one vertical column per item.
    page.get_by_role("button", name="ᠴᠡᠰ").click()
    _assert_vertical_mongolian(page, ".topbar nav a")
    _assert_font_and_width(page, "home")

    # Book: search, hold the earliest slot, confirm.
    page.goto("/#/book")
    slots = page.get_by_test_id("slots").locator("li")
    slots.first.wait_for()
    _assert_vertical_mongolian(page, "main h1, [data-testid=slot-search]")
    # The slots' buttons are their times (digits, turned as in Mongolian typesetting), in
    # vertical columns like every other button.
    times = page.eval_on_selector_all(
        "[data-testid=slots] button",
        """els => els.map(e => ({ mode: getComputedStyle(e).writingMode,
            w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height }))""",
    )
    assert times and all(b["mode"] == "vertical-lr" and b["h"] > b["w"] for b in times), times
    # A key the Mongolian catalogue lacks (doctorTitle.*, left for the reviewer) is shown in
    # Chinese, never in English.
    expect(slots.first).to_contain_text("医师")
    expect(slots.first).not_to_contain_text("hysician")
    _assert_font_and_width(page, "book")
    slots.first.get_by_role("button").first.click()
    page.get_by_test_id("held").wait_for()
    page.get_by_test_id("confirm-booking").click()
    booked = page.get_by_test_id("booked")
    expect(booked).to_have_text(MONGOLIAN)
    _assert_vertical_mongolian(page, "[data-testid=booked]")
    _assert_font_and_width(page, "booked")

    # The contract and the referral.
    page.goto("/#/family")
    contract = page.get_by_test_id("contracts").locator("li[data-status='active']")
    expect(contract).to_contain_text("ᠬᠦᠴᠦᠨ\u202fᠲᠡᠢ")  # contractStatus.active
    _assert_vertical_mongolian(
        page, "[data-testid=contracts] li > p, [data-testid=contracts] .badge"
    )
    _assert_font_and_width(page, "contract")
    assert_vertical_mongolian(_printed(page, "print-contract", contract))
    page.goto("/#/referrals")
    referral = page.get_by_test_id("referrals").locator("li[data-status='requested']").first
    expect(referral.get_by_test_id("referral-status")).to_have_text("ᠲᠤᠰᠢᠶᠠᠭᠳᠠᠪᠠ")
    _assert_vertical_mongolian(page, "[data-testid=referral-status], [data-testid=events-toggle]")
    _assert_font_and_width(page, "referral")
    slip = _printed(page, "print-slip", referral)
    assert slip.startswith(b"%PDF")
    assert_vertical_mongolian(slip)  # poppler renders it: Mongolian columns, the font embedded

    # The choice is remembered on the user: a new browser opens in it after login, and the
    # patient's newest notification (the booking) is in Mongolian.
    page.reload()
    page.get_by_test_id("who").wait_for(state="attached")
    assert page.evaluate("document.documentElement.lang") == "mn-Mong"
    with live_server.api(username) as me:
        assert me.get("/auth/me").json()["language"] == "mn-Mong"
    other = new_page(phone=True)
    login(other, username)
    expect(other.locator("html")).to_have_attribute("lang", "mn-Mong")
    other.goto("/#/notifications")
    expect(other.get_by_test_id("notifications").locator("li").first).to_contain_text(MONGOLIAN)
    _assert_font_and_width(other, "notifications")


def test_family_doctor_registers_a_mongolian_name_and_finds_the_resident_by_it(
    new_page: Any, live_server: LiveServer
) -> None:
    schemas = httpx.get(f"{live_server.url}/openapi.json", timeout=120).json()["components"]
    assert "name_mn" in schemas["schemas"]["PatientCreate"]["properties"]
    seq = secrets.randbelow(400) * 2 + 101
    name = f"巴特尔{seq}"
    page = new_page(phone=True)
    login(page, "family-doctor")
    page.goto("/#/patients")
    form = page.get_by_test_id("register-form")
    form.locator("#reg-name").fill(name)
    form.locator("#reg-name_mn").fill("Batu")  # not the Mongolian script: refused in place
    form.get_by_test_id("register-submit").click()
    expect(form.locator("#reg-name_mn-error")).to_be_visible()
    form.locator("#reg-name_mn").fill("ᠪᠠᠲᠦᠷ")
    born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(4000))
    form.locator("#reg-resident_id").fill(rid.make("150122", born, seq))
    form.locator("#reg-county_code").fill("150122")
    form.get_by_test_id("register-submit").click()
    expect(form.get_by_test_id("registered")).to_contain_text(name)

    page.locator("#search-q").fill("ᠪᠠᠲᠦᠷ")
    page.get_by_test_id("search-submit").click()
    row = page.get_by_test_id("patient-results").locator("tr", has_text=name)
    expect(row.get_by_test_id("name-mn")).to_have_text("ᠪᠠᠲᠦᠷ")
    shot(page, "mn-Mong-family_doctor-finds-by-mongolian-name")
