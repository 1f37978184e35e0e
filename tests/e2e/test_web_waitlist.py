"""The waitlist (候补) in the browser: a patient finds a day full, joins the waitlist from the
Book page, sees it waiting on My appointments; when the holder of a place cancels, the place
is held for the patient (offered), who confirms it in the page: booked, and the request done.
Also leaving a waiting request."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from telemed.identity import resident_id as rid
from tests.e2e.conftest import LiveServer, login, shot

pytestmark = pytest.mark.e2e
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Accounts that may hold places for themselves (no patient); several, because one person
# cannot hold two overlapping places.
BLOCKERS = ["county-doctor", "family-doctor", "specialist", "specialist2", "coordinator"]


@pytest.fixture
def waitlist_api(live_server: LiveServer) -> None:
    paths = live_server.paths()
    if "/api/v1/waitlist" not in paths:
        pytest.fail("the waitlist API is not in this build")


def _day(*, days_ahead: int) -> date:
    return (datetime.now(SHANGHAI) + timedelta(days=days_ahead)).date()


def _utc(day: date) -> str:
    """Midnight of a Shanghai day, as UTC ISO."""
    start = datetime(day.year, day.month, day.day, tzinfo=SHANGHAI)
    return start.astimezone(UTC).isoformat()


def _js_iso(day: date) -> str:
    """Midnight of a Shanghai day as the browser sends it (Date.toISOString)."""
    return _utc(day).replace("+00:00", ".000Z")


def _shown(iso: str) -> str:
    """How the page shows an instant: Shanghai 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(iso).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _contracted_resident(family_doctor: httpx.Client) -> str:
    """A new resident signed to the family doctor's team: their family doctor may book the
    places reserved for contracted residents (which the demo patient sees once another test
    has signed them, but staff booking for themselves cannot take)."""
    seq = secrets.randbelow(400) * 2 + 901
    number = rid.make("150122", date(1950, 1, 1) + timedelta(days=secrets.randbelow(3000)), seq)
    r = family_doctor.post(
        "/patients", json={"name": f"其其格{seq}", "resident_id": number, "county_code": "150122"}
    )
    assert r.status_code == 201, r.text
    patient_id = str(r.json()["id"])
    teams = family_doctor.get("/family-doctors/teams", params={"county": "150122"}).json()
    r = family_doctor.post(
        "/family-doctors/contracts",
        json={
            "patient_id": patient_id,
            "team_id": teams[0]["id"],
            "consent": {"method": "written", "witness": "家属"},
        },
    )
    assert r.status_code == 201, r.text
    return patient_id


def _full_day(live_server: LiveServer, patient: httpx.Client) -> dict[str, Any]:
    """A county hospital's outpatient day of one specialty, well ahead (no other test books
    there), that the page can select (in-network hospital of a league)."""
    start = _day(days_ahead=9)
    found = patient.get(
        "/slots",
        params={
            "service_class": "outpatient",
            "tier": "county",
            "start_from": _utc(start),
            "limit": 50,
        },
    )
    found.raise_for_status()
    for slot in found.json():
        insts = patient.get(
            "/network/institutions",
            params={
                "league": slot["league_code"],
                "specialty": slot["specialty_code"],
                "in_network": "true",
                "limit": 200,
            },
        ).json()["items"]
        if any(i["id"] == slot["institution_id"] for i in insts):
            day = datetime.fromisoformat(slot["start_at"]).astimezone(SHANGHAI).date()
            return {**slot, "day": day}
    pytest.skip("no selectable county hospital with outpatient slots in this seed")


def test_a_full_day_is_waited_for_offered_when_a_place_frees_and_confirmed(
    new_page: Any, live_server: LiveServer, waitlist_api: None
) -> None:
    with live_server.api("patient") as patient:
        target = _full_day(live_server, patient)
        day: date = target["day"]
        filters = {
            "institution_id": target["institution_id"],
            "specialty": target["specialty_code"],
            "service_class": "outpatient",
            "start_from": _utc(day),
            "start_to": _utc(day + timedelta(days=1)),
            "limit": 50,
        }
        free = patient.get("/slots", params=filters).json()
        specialty_zh = next(
            s["name_zh"]
            for s in patient.get("/network/specialties").json()
            if s["code"] == target["specialty_code"]
        )
    assert free, "the day chosen has free places"

    # Other people take every place the patient could book that day.
    clients = {name: live_server.api(name) for name in BLOCKERS}
    taken: list[tuple[dict[str, Any], str, str]] = []  # (slot, holder, booking id)
    try:
        resident: str | None = None
        for slot in free:
            for name, client in clients.items():
                r = client.post("/bookings", json={"slot_id": slot["id"]})
                if r.status_code == 201:
                    taken.append((slot, name, r.json()["id"]))
                    break
            else:
                # A place reserved for contracted residents (visible to the demo patient
                # when they have a contract): their family doctor books it for another one.
                fd = clients["family-doctor"]
                resident = resident or _contracted_resident(fd)
                r = fd.post("/bookings", json={"slot_id": slot["id"], "patient_id": resident})
                assert r.status_code == 201, f"{slot['start_at']}: {r.text}"
                taken.append((slot, "family-doctor", r.json()["id"]))
        with live_server.api("patient") as patient:
            assert patient.get("/slots", params=filters).json() == []

        # The patient searches that day at that hospital: nothing free; joins the waitlist.
        page = new_page()
        login(page, "patient")
        page.goto("/#/book")
        page.get_by_test_id("waitlist-offer").wait_for()
        page.locator("#f-specialty").select_option(target["specialty_code"])
        page.locator("#f-league").select_option(target["league_code"])
        page.locator(f"#f-institution option[value='{target['institution_id']}']").wait_for(
            state="attached"
        )
        page.locator("#f-institution").select_option(target["institution_id"])
        page.locator("#f-class").select_option("outpatient")
        page.locator("#f-date").fill(day.isoformat())
        page.locator("#f-to-date").fill(day.isoformat())
        with page.expect_response(lambda r: "/api/v1/slots?" in r.url) as resp:
            page.get_by_test_id("slot-search").click()
        assert f"institution_id={target['institution_id']}" in resp.value.url
        expect(page.get_by_test_id("slots").locator("li")).to_have_count(0)
        offer = page.get_by_test_id("waitlist-offer")
        expect(offer).to_contain_text("没有空余号源")
        page.get_by_test_id("waitlist-open").click()
        expect(page.locator("#wl-from")).to_have_value(day.isoformat())
        expect(page.locator("#wl-to")).to_have_value(day.isoformat())
        expect(page.get_by_test_id("waitlist-wants")).to_contain_text(specialty_zh)
        shot(page, "patient-waitlist-join")
        with page.expect_response(
            lambda r: r.url.endswith("/api/v1/waitlist") and r.request.method == "POST"
        ) as joined:
            page.get_by_test_id("waitlist-join").click()
        assert joined.value.status == 201, joined.value.text()
        body = joined.value.request.post_data_json
        assert body == {
            "specialty_code": target["specialty_code"],
            "service_class": "outpatient",
            "institution_id": target["institution_id"],
            "start_at": _js_iso(day),
            "end_at": _js_iso(day + timedelta(days=1)),
        }
        entry_id = joined.value.json()["id"]
        expect(page.get_by_test_id("waitlist-joined")).to_contain_text("已加入候补")
        shot(page, "patient-waitlist-joined")

        # My appointments: the request is waiting.
        page.get_by_test_id("waitlist-joined").get_by_role("link").click()
        item = page.get_by_test_id(f"waitlist-{entry_id}")
        expect(item).to_have_attribute("data-status", "waiting")
        expect(item).to_contain_text(specialty_zh)
        expect(item).to_contain_text(day.isoformat())
        expect(item).to_contain_text("候补中")
        expect(item.get_by_test_id("waitlist-leave")).to_be_visible()
        shot(page, "patient-waitlist-waiting")

        # The holder of the first place cancels it: the place is held for the patient.
        slot, holder, booking_id = taken.pop(0)
        r = clients[holder].post(f"/bookings/{booking_id}/cancel", json={"reason": "行程有变"})
        assert r.status_code == 200, r.text
        page.reload()
        item = page.get_by_test_id(f"waitlist-{entry_id}")
        expect(item).to_have_attribute("data-status", "offered")
        when = _shown(slot["start_at"])
        expect(item.get_by_test_id("offer")).to_contain_text(when)
        expect(item.get_by_test_id("offer")).to_contain_text("请在")
        expect(item.get_by_test_id("waitlist-decline")).to_be_visible()
        shot(page, "patient-waitlist-offered")

        # Confirm in the page: booked, and the request done.
        item.get_by_test_id("waitlist-confirm").click()
        expect(page.get_by_test_id("waitlist-done")).to_contain_text(when)
        expect(page.get_by_test_id(f"waitlist-{entry_id}")).to_have_attribute("data-status", "done")
        booked = page.get_by_test_id("appointments").locator("li[data-status='booked']")
        expect(booked.filter(has_text=when)).to_have_count(1)
        shot(page, "patient-waitlist-confirmed")
        with live_server.api("patient") as patient:
            entry = patient.get(f"/waitlist/{entry_id}").json()
            assert entry["status"] == "done"
            mine = patient.get(f"/bookings/{entry['offered_booking_id']}").json()
            assert mine["status"] == "booked" and mine["slot_id"] == slot["id"]
    finally:
        for _slot, holder, booking_id in taken:
            clients[holder].post(f"/bookings/{booking_id}/cancel", json={"reason": "e2e cleanup"})
        for client in clients.values():
            client.close()


def test_a_waiting_request_is_left_and_a_specialty_is_required_first(
    new_page: Any, live_server: LiveServer, waitlist_api: None
) -> None:
    page = new_page(phone=True)
    login(page, "patient")
    page.goto("/#/book")
    offer = page.get_by_test_id("waitlist-offer")
    offer.wait_for()
    # No specialty searched: refused in the browser, nothing sent.
    page.get_by_test_id("waitlist-open").click()
    page.get_by_test_id("waitlist-join").click()
    expect(page.get_by_test_id("waitlist-specialty-error")).to_contain_text("请先选择专科")

    code = page.locator("#f-specialty option").nth(1).get_attribute("value")
    assert code
    page.locator("#f-specialty").select_option(code)
    with page.expect_response(lambda r: "/api/v1/slots?" in r.url):
        page.get_by_test_id("slot-search").click()
    page.get_by_test_id("waitlist-open").click()
    # A day far ahead that no other test frees places on.
    far = _day(days_ahead=18).isoformat()
    page.locator("#wl-from").fill(far)
    page.locator("#wl-to").fill(far)
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/waitlist") and r.request.method == "POST"
    ) as joined:
        page.get_by_test_id("waitlist-join").click()
    assert joined.value.status == 201, joined.value.text()
    entry_id = joined.value.json()["id"]
    assert "service_class" in joined.value.request.post_data_json
    assert "institution_id" not in joined.value.request.post_data_json

    page.goto("/#/appointments")
    item = page.get_by_test_id(f"waitlist-{entry_id}")
    expect(item).to_have_attribute("data-status", "waiting")
    expect(item).to_contain_text(far)
    with page.expect_response(lambda r: r.url.endswith(f"/waitlist/{entry_id}/cancel")):
        item.get_by_test_id("waitlist-leave").click()
    expect(page.get_by_test_id("waitlist-done")).to_contain_text("已退出候补")
    item = page.get_by_test_id(f"waitlist-{entry_id}")
    expect(item).to_have_attribute("data-status", "cancelled")
    expect(item).to_contain_text("已退出")
    expect(item.get_by_role("button")).to_have_count(0)
    # Nothing scrolls sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "patient-waitlist-left-phone")

    with live_server.api("patient") as patient:
        assert patient.get(f"/waitlist/{entry_id}").json()["status"] == "cancelled"
        # A request withdrawn elsewhere (another tab) while this page still shows it waiting:
        # the 409 problem is shown in the user's language and the list shows it ended.
        other = patient.post(
            "/waitlist",
            json={
                "specialty_code": code,
                "start_at": _utc(_day(days_ahead=19)),
                "end_at": _utc(_day(days_ahead=20)),
            },
        )
        assert other.status_code == 201, other.text
        other_id = other.json()["id"]
        page.reload()
        stale = page.get_by_test_id(f"waitlist-{other_id}")
        expect(stale).to_have_attribute("data-status", "waiting")
        assert patient.post(f"/waitlist/{other_id}/cancel").status_code == 200
    stale.get_by_test_id("waitlist-leave").click()
    banner = page.locator(".waitlist-section .banner.error")
    expect(banner).to_contain_text("当前状态下不能执行此操作")
    stale = page.get_by_test_id(f"waitlist-{other_id}")
    expect(stale).to_have_attribute("data-status", "cancelled")
    shot(page, "patient-waitlist-leave-conflict-phone")
