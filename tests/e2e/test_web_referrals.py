"""The family-doctor story in the browser: `family-doctor` signs `patient` to the hypertension
package with recorded consent, refers them up to the county hospital, `county-doctor`
receives and accepts, the family doctor books a slot there (the reserved share counts for
the contracted doctor), the county hospital records the arrival and sends the outcome back,
the recommendation lands on the team worklist, the family doctor closes the loop; the patient
sees the contract, the referral and its history, and the notifications."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import expect

from telemed.identity import resident_id as rid
from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e
# The demo patient 巴特尔, registered at the county hospital: the family doctor of the
# township finds them by the resident ID on their card.
DEMO_RESIDENT_ID = rid.make("150122", date(1962, 3, 14), 17)


@pytest.fixture
def referrals_api(live_server: LiveServer) -> None:
    paths = live_server.paths()
    if "/api/v1/referrals" not in paths or "/api/v1/family-doctors/contracts" not in paths:
        pytest.fail("the referrals API is not in this build")


def _pick_patient(page: Any, name: str) -> None:
    page.locator("#search-rid").fill(DEMO_RESIDENT_ID)
    page.get_by_test_id("search-submit").click()
    results = page.get_by_test_id("patient-results")
    results.wait_for()
    results.locator("tr", has_text=name).get_by_role("button").click()
    expect(page.get_by_test_id("picked-patient")).to_contain_text(name)


def _step(page: Any, referral: Any, action: str) -> None:
    with page.expect_response(lambda r: f"/{action}" in r.url and r.request.method == "POST"):
        referral.get_by_test_id(f"act-{action}").click()


def test_family_doctor_signs_refers_up_books_and_closes_the_loop(
    new_page: Any, live_server: LiveServer, referrals_api: None
) -> None:
    fd = new_page()
    login(fd, "family-doctor")

    # 1. Contract with recorded consent.
    fd.goto("/#/family")
    fd.get_by_test_id("worklist").wait_for()
    _pick_patient(fd, "巴特尔")
    form = fd.get_by_test_id("sign-form")
    # 巴特尔 is a man of 64: no 65+, maternity or children's package is offered
    for code in ("elderly", "maternal", "child"):
        expect(form.get_by_test_id(f"pkg-{code}")).to_have_count(0)
    form.get_by_test_id("pkg-hypertension").check()
    form.locator("#c-method").select_option("written")
    form.locator("#c-witness").fill("家属")
    form.get_by_test_id("sign-submit").click()
    expect(form.get_by_test_id("signed")).to_contain_text("生效中")
    shot(fd, "family_doctor-contract-signed")

    # 2. Refer up: the county hospital is proposed first.
    fd.goto("/#/referrals")
    fd.get_by_test_id("new-referral").click()
    _pick_patient(fd, "巴特尔")
    rform = fd.get_by_test_id("referral-form")
    expect(rform.locator("#r-to option").first).to_contain_text("托克托县人民医院")
    rform.locator("#r-reason").fill("血压控制不佳，需调整用药")
    dx = rform.locator("#r-dx")  # picked from the ICD-10 catalogue; its name fills the text
    dx.press_sequentially("高血压")
    expect(fd.get_by_role("listbox").get_by_role("option").first).to_contain_text("I10")
    dx.press("ArrowDown")
    dx.press("Enter")
    expect(dx).to_have_value("I10")
    expect(rform.locator("#r-dxt")).to_have_value("特发性（原发性）高血压")
    shot(fd, "family_doctor-referral-form")
    rform.get_by_test_id("referral-submit").click()
    # the newest open referral of this patient (other stories leave referrals of their own)
    requested = fd.get_by_test_id("referrals").locator("li[data-status='requested']")
    item = requested.filter(
        has=fd.get_by_test_id("referral-patient").filter(has_text="巴特尔")
    ).first
    item.wait_for()
    expect(item.get_by_test_id("events")).to_contain_text("提交")
    expect(item.get_by_test_id("referral-patient")).to_contain_text("巴特尔")  # name on the card
    shot(fd, "family_doctor-referral-sent")
    # From here on the story follows its own referral by id: other stories move referrals of
    # the same hospitals through the same states, and live updates reorder the list.
    ref_id = item.get_attribute("data-referral")
    assert ref_id

    def card(page: Any, status: str) -> Any:
        return page.get_by_test_id("referrals").locator(
            f"li[data-referral='{ref_id}'][data-status='{status}']"
        )

    # 3. The county hospital receives and accepts.
    cd = new_page()
    login(cd, "county-doctor")
    cd.goto("/#/referrals")
    with cd.expect_response(lambda r: "role=received" in r.url):
        cd.get_by_test_id("side").select_option("received")
    incoming = card(cd, "requested")
    incoming.wait_for()
    expect(incoming.get_by_test_id("referral-patient")).to_contain_text("巴特尔")
    _step(cd, incoming, "receive")
    _step(cd, card(cd, "received"), "accept")
    card(cd, "accepted").wait_for()

    # 4. The family doctor books a slot of the county hospital.
    fd.reload()
    ready = card(fd, "accepted")
    ready.get_by_test_id("act-book").click()
    picker = ready.get_by_test_id("slot-picker")
    picker.locator("li").first.wait_for()
    shot(fd, "family_doctor-referral-slots")
    picker.locator("li").first.get_by_role("button").click()
    booked = card(fd, "booked")
    expect(booked.get_by_test_id("appointment")).to_be_visible()

    # 5. Arrival, completion with the outcome sent back.
    cd.reload()
    _step(cd, card(cd, "booked"), "arrive")
    here = card(cd, "arrived")
    here.get_by_test_id("act-complete").click()
    here.locator("textarea").first.fill("调整为氨氯地平+缬沙坦")
    here.locator("textarea").nth(1).fill("每2周社区测血压，4周后复诊")
    here.get_by_test_id("complete-confirm").click()
    card(cd, "completed").wait_for()
    shot(cd, "county_doctor-referral-completed")

    # 6. The recommendation is on the team worklist; the family doctor closes the loop.
    fd.goto("/#/family")
    expect(fd.get_by_test_id("care-plans")).to_contain_text("每2周社区测血压")
    shot(fd, "family_doctor-worklist")
    fd.goto("/#/referrals")
    _step(fd, card(fd, "completed"), "close")
    closed = card(fd, "closed")
    expect(closed.get_by_test_id("events")).to_contain_text("确认结果并闭环")

    # 7. The patient sees the contract, the referral's history and the notifications.
    pt = new_page(phone=True)
    login(pt, "patient")
    pt.goto("/#/family")
    contract = pt.get_by_test_id("contracts").locator("li[data-status='active']")
    expect(contract).to_contain_text("高血压")
    shot(pt, "patient-family-contract")
    pt.goto("/#/referrals")
    mine = card(pt, "closed")
    mine.get_by_test_id("events-toggle").click()
    expect(mine.get_by_test_id("events")).to_contain_text("登记到诊")
    shot(pt, "patient-referrals")
    pt.goto("/#/notifications")
    pt.get_by_test_id("notifications").locator("li").first.wait_for()
    shot(pt, "patient-notifications")
    width = pt.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the notifications page scrolls sideways ({width}px)"


def test_a_duplicate_referral_is_shown_with_the_open_one_and_sent_once_confirmed(
    new_page: Any, live_server: LiveServer, referrals_api: None
) -> None:
    seq = secrets.randbelow(400) * 2 + 901
    name = f"那仁{seq}"
    number = rid.make("150122", date(1970, 6, 1), seq)
    with live_server.api("family-doctor") as api:
        r = api.post("/patients", json={"name": name, "resident_id": number})
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        to = api.get("/referrals/receivers", params={"patient_id": pid, "direction": "up"})
        receiver = to.json()[0]["institution_id"]
        body = {
            "patient_id": pid,
            "to_institution_id": receiver,
            "direction": "up",
            "urgency": "urgent",
            "reason": "胸痛待查",
            "diagnosis_code": "I20.9",
        }
        first = api.post("/referrals", json=body)
        assert first.status_code == 201, first.text
        first_id = first.json()["id"]
        assert api.post(f"/referrals/{first_id}/submit").status_code == 200

    fd = new_page(phone=True)
    login(fd, "family-doctor")
    fd.goto("/#/referrals")
    fd.get_by_test_id("new-referral").click()
    fd.get_by_test_id("search-q").fill(name[1:])  # part of the name
    fd.get_by_test_id("search-submit").click()
    fd.get_by_test_id("patient-results").locator("tr", has_text=name).get_by_role("button").click()
    rform = fd.get_by_test_id("referral-form")
    expect(rform.get_by_test_id("referral-form-back")).to_have_text("返回")
    expect(rform.locator("#r-to")).to_have_value(receiver)
    rform.locator("#r-urgency").select_option("urgent")
    rform.locator("#r-reason").fill("胸痛加重")
    rform.locator("#r-dx").fill("I20.9")
    rform.get_by_test_id("referral-submit").click()
    warning = rform.get_by_test_id("duplicate-warning")
    expect(warning).to_contain_text("已提交")
    expect(warning).to_contain_text("紧急")
    shot(fd, "family_doctor-duplicate-referral")
    # the link shows the open referral, with its history
    warning.get_by_test_id("duplicate-open").click()
    card = fd.locator(f"[data-referral='{first_id}']")
    expect(card.get_by_test_id("events")).to_contain_text("提交")
    width = fd.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1], f"the referrals page scrolls sideways on a phone ({width})"
    with fd.expect_response(
        lambda r: r.url.endswith("/referrals") and r.request.method == "POST" and r.status == 201
    ) as made:
        warning.get_by_test_id("duplicate-confirm").click()
    assert made.value.request.post_data_json["confirm_duplicate"] is True
    second = made.value.json()["id"]
    expect(fd.locator(f"[data-referral='{second}']")).to_have_attribute("data-status", "requested")
    with live_server.api("family-doctor") as api:
        mine = api.get("/referrals", params={"patient_id": pid}).json()["items"]
    assert {m["id"] for m in mine} == {first_id, second}
