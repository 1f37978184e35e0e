"""Live updates in two browsers: the specialist keeps the worklist open; the county doctor
submits a request from their own browser; the request appears in the specialist's list
within 2 s without a reload, the menu's unread count rises, and the notification opens the
consultation (marked read on opening)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e

# In the county doctor's page: create and submit a request with the page's own token.
SUBMIT = """async (body) => {
  const auth = { Authorization: 'Bearer ' + localStorage.getItem('telemed.token'),
                 'Content-Type': 'application/json' }
  let r = await fetch('/api/v1/consultations', { method: 'POST', headers: auth,
                                                body: JSON.stringify(body) })
  if (r.status !== 201) return 'create ' + r.status + ' ' + await r.text()
  const id = (await r.json()).id
  r = await fetch('/api/v1/consultations/' + id + '/submit', { method: 'POST', headers: auth })
  return r.status === 200 ? id : 'submit ' + r.status
}"""


def _badge(page: Any) -> int:
    badge = page.get_by_test_id("unread-badge")
    return int(badge.inner_text()) if badge.count() else 0


def test_a_submitted_request_appears_in_the_open_worklist_and_its_notification_opens_it(
    new_page: Any, live_server: LiveServer
) -> None:
    with live_server.api("specialist2") as spec_api:
        specialist_id = spec_api.get("/auth/me").json()["id"]
    with live_server.api("county-doctor") as api:
        patient = api.get("/patients", params={"q": "巴特尔"}).json()[0]

    specialist = new_page()
    login(specialist, "specialist2")
    specialist.get_by_test_id("nav-consultations").click()
    specialist.get_by_test_id("worklist").or_(specialist.get_by_text("没有会诊申请")).wait_for()
    # the channel delivers once its first event (the unread count) arrived
    specialist.locator('header[data-live="true"]').wait_for(state="attached")
    before = _badge(specialist)

    county = new_page()
    login(county, "county-doctor")
    body = {
        "patient_id": patient["id"],
        "service_class": "imaging_diagnosis",
        "urgency": "emergency",
        "summary": "男，64岁，突发胸痛1小时，CT示主动脉增宽",
        "question": "请急会诊：是否主动脉夹层？需要立即转诊吗？",
        "wanted_specialty": "radiology",
        "chosen_specialist_id": specialist_id,
        "override_reason": "指定专家（测试）",
        "consent": {
            "given_by": patient["name"],
            "relationship": "self",
            "method": "verbal",
            "given_at": datetime.now(UTC).isoformat(),
        },
    }
    cid = county.evaluate(SUBMIT, body)
    assert len(cid) == 36, cid

    # no reload: the row arrives through the push channel
    row = specialist.locator(f'tr[data-id="{cid}"]')
    expect(row).to_be_visible(timeout=2000)
    expect(row.get_by_test_id("question")).to_have_text(
        "请急会诊：是否主动脉夹层？需要立即转诊吗？"
    )
    expect(row.get_by_test_id("from-hospital")).not_to_be_empty()
    expect(row.get_by_test_id("attachments")).to_have_text("影像 0 · 文件 0")
    expect(row.get_by_test_id("patient-sex-age")).to_contain_text("岁")
    expect(specialist.get_by_test_id("unread-badge")).to_have_text(str(before + 1), timeout=2000)
    shot(specialist, "specialist-live-worklist")

    specialist.get_by_test_id("nav-notifications").click()
    item = specialist.get_by_test_id("notifications").locator("li").first
    expect(item.get_by_test_id("notification-patient")).to_have_text(f"患者：{patient['name']}")
    shot(specialist, "specialist-notifications-linked")
    item.get_by_test_id("notification-link").click()
    specialist.wait_for_url(f"**/#/consultations/{cid}")
    badge = specialist.get_by_test_id("unread-badge")
    if before:  # opening it read it: the count goes back, on this tab too
        expect(badge).to_have_text(str(before))
    else:
        expect(badge).to_have_count(0)
    with live_server.api("specialist2") as spec_api:
        notes = spec_api.get("/notifications").json()
    opened = next(n for n in notes if n["data"].get("consultation_id") == cid)
    assert opened["read_at"] is not None
