"""The family doctor's own work in the browser: a resident signs a contract in the app, the
family doctor confirms it from the team's queue; then opens a home sick bed (家庭病床) for the
resident, schedules a home visit, records it (a wrong blood pressure is shown next to its
field first), and discharges the bed."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from telemed.identity import resident_id as rid
from tests.e2e.conftest import DEMO_PASSWORD, LiveServer, login, shot

pytestmark = pytest.mark.e2e


@pytest.fixture
def family_api(live_server: LiveServer) -> None:
    paths = httpx.get(f"{live_server.url}/openapi.json", timeout=120).json()["paths"]
    if "/api/v1/family-doctors/home-beds" not in paths:
        pytest.fail("the family-doctor API is not in this build")


def _new_resident(
    live_server: LiveServer, *, born: date | None = None, name: str = "乌兰"
) -> dict[str, str]:
    """A resident of the demo county with an app account (registered through the API)."""
    seq = secrets.randbelow(400) * 2 + 101
    born = born or date(1950, 1, 1) + timedelta(days=secrets.randbelow(3000))
    number = rid.make("150122", born, seq)
    name = f"{name}{seq}"
    with live_server.api("family-doctor") as fd:
        r = fd.post(
            "/patients", json={"name": name, "resident_id": number, "county_code": "150122"}
        )
        assert r.status_code == 201, r.text
        patient = r.json()
    username = f"resident-{seq}-{secrets.token_hex(3)}"
    with live_server.api("admin") as admin:
        r = admin.post(
            "/users",
            json={
                "username": username,
                "password": DEMO_PASSWORD,
                "role": "patient",
                "full_name": name,
                "patient_id": patient["id"],
            },
        )
        assert r.status_code == 201, r.text
    return {
        "id": patient["id"],
        "name": name,
        "username": username,
        "id_tail": patient["resident_id_masked"][-4:],
    }


def _no_sideways_scroll(page: Any, what: str) -> None:
    sizes = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert sizes[0] <= sizes[1], f"{what} scrolls sideways on a phone ({sizes[0]} > {sizes[1]})"


def test_family_doctor_finds_a_64_year_old_man_by_name_and_is_offered_only_his_packages(
    new_page: Any, live_server: LiveServer, family_api: None
) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    born = date(today.year - 65, today.month, min(today.day, 28)) + timedelta(days=3)
    man = _new_resident(live_server, born=born, name="巴图")  # 64 for three more days, male
    fd = new_page()
    login(fd, "family-doctor")
    fd.goto("/#/family")
    fd.get_by_test_id("worklist").wait_for()
    expect(fd.locator("#search-q-hint")).to_contain_text("身份证号后4位")
    sign = fd.get_by_test_id("sign-form")
    expect(sign.get_by_test_id("packages-need-patient")).to_be_visible()
    # part of the name (not its start) finds him, as does the ID's last four
    for term in (man["name"][1:], man["id_tail"]):
        fd.get_by_test_id("search-q").fill(term)
        fd.get_by_test_id("search-submit").click()
        expect(fd.get_by_test_id("patient-results")).to_contain_text(man["name"])
    fd.get_by_test_id("patient-results").locator("tr", has_text=man["name"]).get_by_role(
        "button"
    ).click()
    expect(fd.get_by_test_id("picked-patient")).to_contain_text(man["name"])
    expect(sign.get_by_test_id("pkg-hypertension")).to_be_visible()
    for code in ("elderly", "maternal", "child"):
        expect(sign.get_by_test_id(f"pkg-{code}")).to_have_count(0)
    expect(sign.get_by_test_id("packages-not-offered")).to_contain_text("老年人包（未满65岁）")
    shot(fd, "family_doctor-packages-offered-64")
    # a name no one has: the hint says what may be searched
    fd.get_by_test_id("search-q").fill("无此人名")
    fd.get_by_test_id("search-submit").click()
    expect(fd.get_by_test_id("search-form")).to_contain_text("身份证号后4位")

    # the family doctor's pages on a phone: nothing scrolls sideways
    ph = new_page(phone=True)
    login(ph, "family-doctor")
    for path, ready in (
        ("/#/family", "worklist"),
        ("/#/home-beds", "open-bed"),
        ("/#/patients", "search-form"),
    ):
        ph.goto(path)
        ph.get_by_test_id(ready).wait_for()
        if path == "/#/patients":
            ph.get_by_test_id("search-q").fill(man["name"])
            ph.get_by_test_id("search-submit").click()
            ph.get_by_test_id("patient-results").wait_for()
        _no_sideways_scroll(ph, path)
        shot(ph, f"family_doctor-phone-{path.strip('/#')}")


def test_resident_signs_in_app_and_family_doctor_confirms_then_runs_a_home_sick_bed(
    new_page: Any, live_server: LiveServer, family_api: None
) -> None:
    resident = _new_resident(live_server)
    name = resident["name"]

    # 1. The resident signs in the app: pending until the team confirms.
    pt = new_page(phone=True)
    login(pt, resident["username"])
    pt.goto("/#/family")
    form = pt.get_by_test_id("sign-form")
    form.get_by_test_id("pkg-hypertension").check()
    form.get_by_test_id("sign-submit").click()
    expect(form.get_by_test_id("signed")).to_contain_text("待确认")
    expect(pt.get_by_test_id("contracts").locator("li[data-status='pending']")).to_be_visible()
    shot(pt, "patient-family-signed-pending")

    # 2. The family doctor sees it in the team's queue, with the name, and confirms.
    fd = new_page()
    login(fd, "family-doctor")
    fd.goto("/#/family")
    queue = fd.get_by_test_id("pending-contracts")
    row = queue.locator(f"li[data-patient='{name}']")
    expect(row).to_contain_text("高血压")
    shot(fd, "family_doctor-pending-contracts")
    with fd.expect_response(lambda r: r.url.endswith("/confirm") and r.status == 200):
        row.get_by_test_id("confirm-contract").click()
    expect(row).to_have_count(0)
    pt.reload()
    expect(pt.get_by_test_id("contracts").locator("li[data-status='active']")).to_contain_text(
        "高血压"
    )

    # 2b. Now contracted, the resident asks the team for a home visit in the app.
    visits = pt.get_by_test_id("home-visits")
    visits.locator("#hv-req-reason").fill("行动不便，需上门测血压")
    visits.get_by_test_id("home-visit-submit").click()
    expect(visits.get_by_test_id("home-visit-sent")).to_be_visible()
    asked = visits.locator("li[data-status='requested']")
    expect(asked).to_contain_text("行动不便")
    expect(asked).to_contain_text("待安排")
    shot(pt, "patient-home-visit-requested")
    _no_sideways_scroll(pt, "the resident's family-doctor page with the home visits")
    fd.reload()  # the team's worklist lists it with the resident's name
    expect(fd.get_by_test_id("worklist")).to_contain_text("行动不便，需上门测血压")

    # 3. A home sick bed for the resident: an invalid code is shown next to its field.
    fd.goto("/#/home-beds")
    fd.get_by_test_id("open-bed").click()
    bform = fd.get_by_test_id("bed-form")
    expect(bform.locator("#hb-patient option", has_text=name)).to_have_count(1)
    bform.locator("#hb-patient").select_option(resident["id"])
    bform.locator("#hb-dx").fill("脑梗")
    bform.locator("#hb-reason").fill("脑梗后偏瘫，行动不便")
    bform.get_by_test_id("bed-submit").click()
    expect(bform.locator("#hb-dx-error")).to_be_visible()
    expect(bform.locator("#hb-dx")).to_have_value("脑梗")  # nothing typed is lost
    # the diagnosis picked from the ICD-10 catalogue by its Chinese name
    dx = bform.locator("#hb-dx")
    dx.fill("")
    dx.press_sequentially("脑梗死")
    expect(dx).to_have_attribute("aria-expanded", "true")
    expect(fd.get_by_role("listbox").get_by_role("option").first).to_contain_text("I63")
    dx.press("ArrowDown")
    dx.press("Enter")
    expect(dx).to_have_value("I63")
    bform.locator("#hb-interval").fill("3")
    bform.locator("#hb-services").fill("康复指导、血压监测")
    bform.get_by_test_id("bed-submit").click()
    bed = fd.get_by_test_id("beds").locator(f"li[data-patient='{name}']")
    expect(bed).to_have_attribute("data-status", "admitted")
    expect(bed.get_by_test_id("bed-next")).to_be_visible()
    detail = bed.get_by_test_id("bed-detail")  # the new bed opens at once
    expect(bed.get_by_test_id("bed-toggle")).to_have_attribute("aria-expanded", "true")
    expect(detail).to_contain_text("康复指导")
    shot(fd, "family_doctor-home-bed-admitted")

    # 4. Schedule a home visit for tomorrow 09:30 (Beijing time).
    beijing_today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    tomorrow = (beijing_today + timedelta(days=1)).isoformat()
    detail.get_by_test_id("hv-reason").fill("家庭病床查床")
    detail.get_by_test_id("hv-at").fill(f"{tomorrow}T09:30")
    detail.get_by_test_id("hv-submit").click()
    expect(
        detail.get_by_test_id("home-visits").locator("li[data-status='scheduled']")
    ).to_contain_text("09:30")

    # 5. Record today's visit: the wrong blood pressure first, then the right one. Tomorrow's
    # home visit is not offered as the one it carried out, and stays scheduled.
    record = detail.get_by_test_id("record-form")
    expect(record.get_by_test_id("rv-visit").locator("option")).to_have_count(1)
    expect(record.get_by_test_id("rv-visit")).to_have_value("")
    record.get_by_test_id("rv-bp").fill("80/140")
    record.get_by_test_id("rv-notes").fill("肌力较前改善，继续康复训练")
    record.get_by_test_id("rv-submit").click()
    bp_error = record.locator("[id$='-error']").first
    expect(bp_error).to_contain_text("收缩压")
    expect(record.get_by_test_id("rv-bp")).to_have_attribute("aria-invalid", "true")
    record.get_by_test_id("rv-bp").fill("142/88")
    record.get_by_test_id("rv-pulse").fill("76")
    record.get_by_test_id("rv-submit").click()
    expect(detail.get_by_test_id("bed-visits")).to_contain_text("142/88")
    shown = detail.get_by_test_id("home-visits")
    expect(shown.locator("li[data-status='done']")).to_have_count(0)
    expect(shown.locator("li[data-status='scheduled']")).to_contain_text("已安排")
    shot(fd, "family_doctor-home-bed-visit")
    # the same bed, opened on a phone: the visits, forms and badges stay within 390 px
    ph = new_page(phone=True)
    login(ph, "family-doctor")
    ph.goto("/#/home-beds")
    small = ph.get_by_test_id("beds").locator(f"li[data-patient='{name}']")
    small.get_by_test_id("bed-toggle").click()
    expect(small.get_by_test_id("bed-visits")).to_contain_text("142/88")
    _no_sideways_scroll(ph, "a home sick bed opened")
    shot(ph, "family_doctor-phone-home-bed-open")

    # 6. Discharge with a summary; the bed moves to the discharged list.
    dform = detail.get_by_test_id("discharge-form")
    dform.get_by_test_id("dc-submit").click()
    expect(dform.locator("[role='alert']")).to_be_visible()
    dform.get_by_test_id("dc-summary").fill("肢体功能恢复，可门诊随访，撤床")
    dform.get_by_test_id("dc-submit").click()
    expect(bed).to_have_attribute("data-status", "discharged")
    with fd.expect_response(lambda r: "status=discharged" in r.url):
        fd.get_by_test_id("bed-status-filter").select_option("discharged")
    gone = fd.get_by_test_id("beds").locator(f"li[data-patient='{name}']")
    expect(gone).to_contain_text("撤床")
    shot(fd, "family_doctor-home-beds-discharged")
