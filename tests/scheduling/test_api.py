"""The HTTP API: search, hold/book with problem codes, exports parsed by real parsers."""

from __future__ import annotations

from datetime import timedelta

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from icalendar import Calendar

from tests.scheduling.conftest import slots_of, user_named


def test_search_across_network_earliest_first_with_filters(client, login, clock):
    h = login("county-doctor")
    r = client.get("/api/v1/slots", params={"specialty": "cardiology", "limit": 50}, headers=h)
    assert r.status_code == 200, r.text
    items = r.json()
    assert items and all(i["specialty_code"] == "cardiology" for i in items)
    starts = [i["start_at"] for i in items]
    assert starts == sorted(starts)
    assert len({i["institution_id"] for i in items}) >= 1
    r2 = client.get(
        "/api/v1/slots", params={"league": "150100", "tier": "regional", "limit": 5}, headers=h
    )
    assert r2.status_code == 200
    assert all(i["league_code"] == "150100" and i["tier"] == "regional" for i in r2.json())
    bad = client.get(
        "/api/v1/slots",
        params={"start_from": "2026-12-10T00:00:00Z", "start_to": "2026-12-01T00:00:00Z"},
        headers=h,
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_hold_book_full_and_expired_hold_over_http(client, login, clock, session, make_rule):
    slots = slots_of(session, make_rule())
    ph = login("patient")
    hold = client.post(
        f"/api/v1/slots/{slots[0].id}/hold", headers={**ph, "Idempotency-Key": "h-1"}
    )
    assert hold.status_code == 201, hold.text
    again = client.post(
        f"/api/v1/slots/{slots[0].id}/hold", headers={**ph, "Idempotency-Key": "h-1"}
    )
    assert again.json()["id"] == hold.json()["id"]
    full = client.post(
        "/api/v1/bookings", json={"slot_id": str(slots[0].id)}, headers=login("county-doctor")
    )
    assert full.status_code == 409 and full.json()["code"] == "slot_full"
    clock.advance(minutes=10)
    expired = client.post("/api/v1/bookings", json={"hold_id": hold.json()["id"]}, headers=ph)
    assert expired.status_code == 409 and expired.json()["code"] == "hold_expired"
    other = client.post(
        "/api/v1/bookings", json={"hold_id": hold.json()["id"]}, headers=login("county-doctor")
    )
    assert other.status_code == 404
    ok = client.post(
        "/api/v1/bookings",
        json={"slot_id": str(slots[1].id)},
        headers={**ph, "Idempotency-Key": "b-1"},
    )
    assert ok.status_code == 201 and ok.json()["status"] == "booked"
    notes = client.get("/api/v1/notifications", headers=ph).json()
    assert any(n["kind"] == "booking.confirmed" for n in notes)
    read = client.post(f"/api/v1/notifications/{notes[0]['id']}/read", headers=ph)
    assert read.status_code == 200 and read.json()["read_at"]


def test_bad_input_answers_clear_problems(client, login, clock, session, make_rule, new_doctor):
    coord = login("coordinator")
    doc = new_doctor()
    base = {
        "specialist_id": str(doc.id),
        "weekdays": [0, 1],
        "start_time": "08:00",
        "end_time": "09:00",
    }
    assert client.post("/api/v1/schedules", json=base, headers=coord).status_code == 201
    overlap = client.post(
        "/api/v1/schedules",
        json={**base, "start_time": "08:30", "end_time": "10:00"},
        headers=coord,
    )
    assert overlap.status_code == 409 and overlap.json()["code"] == "rule_overlap"
    backwards = client.post(
        "/api/v1/schedules",
        json={**base, "start_time": "10:00", "end_time": "09:00"},
        headers=coord,
    )
    assert backwards.status_code == 422
    zero = client.post("/api/v1/schedules", json={**base, "capacity": 0}, headers=coord)
    assert zero.status_code == 422
    past = client.post(
        "/api/v1/schedules",
        json={**base, "weekdays": [5], "valid_from": "2020-01-01"},
        headers=coord,
    )
    assert past.status_code == 422
    not_coord = client.post("/api/v1/schedules", json=base, headers=login("county-doctor"))
    assert not_coord.status_code == 403
    # someone else's patient: the family doctor of another institution may not book for them
    slot = slots_of(session, make_rule())[0]
    patient_id = user_named(session, "patient").patient_id
    foreign = client.post(
        "/api/v1/bookings",
        json={"slot_id": str(slot.id), "patient_id": str(patient_id)},
        headers=login("family-doctor"),
    )
    assert foreign.status_code == 403 and foreign.json()["code"] == "not_your_patient"
    unknown = client.post(
        "/api/v1/bookings",
        json={"slot_id": str(slot.id), "patient_id": "01900000-0000-7000-8000-000000000000"},
        headers=login("county-doctor"),
    )
    assert unknown.status_code == 404
    clock.at = slot.start_at + timedelta(minutes=1)
    late = client.post("/api/v1/bookings", json={"slot_id": str(slot.id)}, headers=login("patient"))
    assert late.status_code == 422 and late.json()["code"] == "slot_in_past"


_SERVICE_ZH = {"outpatient": "门诊", "consultation": "远程会诊", "imaging_reading": "远程影像诊断"}


def test_ics_and_fhir_exports_parse(client, login, clock, session, make_rule):
    slot = slots_of(session, make_rule())[0]
    ph = login("patient")
    b = client.post("/api/v1/bookings", json={"slot_id": str(slot.id)}, headers=ph).json()
    ics = client.get(f"/api/v1/bookings/{b['id']}.ics", headers=ph)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(ics.content)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    assert events[0].decoded("dtstart") == slot.start_at
    assert str(events[0]["uid"]) == f"{b['id']}@telemed"
    # no language chosen: zh-CN, the service class and status by name, not by code
    description = events[0]["description"]
    assert description.params["LANGUAGE"] == "zh-CN"
    assert str(description) == f"服务: {_SERVICE_ZH[slot.service_class]}; 状态: 已预约"

    appt = client.get(f"/fhir/R4/Appointment/{b['id']}", headers=ph)
    assert appt.status_code == 200 and appt.headers["content-type"] == "application/fhir+json"
    parsed = Appointment.model_validate(appt.json())
    assert parsed.status == "booked" and parsed.slot[0].reference == f"Slot/{slot.id}"

    slots = client.get("/fhir/R4/Slot", params={"specialty": "cardiology", "_count": 5}, headers=ph)
    bundle = Bundle.model_validate(slots.json())
    assert bundle.type == "searchset" and bundle.entry
    assert all(e.resource.get_resource_type() == "Slot" for e in bundle.entry)
    schedules = client.get("/fhir/R4/Schedule", params={"_count": 3}, headers=ph)
    sb = Bundle.model_validate(schedules.json())
    assert sb.entry and sb.entry[0].resource.get_resource_type() == "Schedule"
    # others cannot read the booking
    assert (
        client.get(f"/fhir/R4/Appointment/{b['id']}", headers=login("family-doctor")).status_code
        == 404
    )


def test_holidays_endpoint_lists_adjusted_workdays(client, login):
    r = client.get(
        "/api/v1/holidays",
        params={"start": "2026-02-01", "end": "2026-03-01"},
        headers=login("patient"),
    )
    kinds = {d["day"]: d["kind"] for d in r.json()}
    assert kinds["2026-02-14"] == "adjusted_workday" and kinds["2026-02-17"] == "holiday"
    named = {d["day"]: (d["code"], d["name"]) for d in r.json()}
    assert named["2026-02-17"] == ("spring_festival", "春节")  # no language chosen: zh-CN


def test_holidays_are_named_in_the_callers_language(client, login):
    headers = login("county-doctor")
    chosen = client.put("/api/v1/auth/me/language", json={"language": "en"}, headers=headers)
    assert chosen.status_code == 200, chosen.text
    days = client.get(
        "/api/v1/holidays", params={"start": "2026-02-16", "end": "2026-02-17"}, headers=headers
    ).json()
    assert [(d["code"], d["name"]) for d in days] == [("spring_festival", "Spring Festival")] * 2


def test_demo_patient_and_county_doctor_find_and_book_across_the_network(client, login):
    # the demo seed ran with the real clock; search "now" at the real time too
    ph, dh = login("patient"), login("county-doctor")
    found = client.get(
        "/api/v1/slots", params={"service_class": "outpatient", "limit": 50}, headers=ph
    ).json()
    assert found
    booked = client.post("/api/v1/bookings", json={"slot_id": found[-1]["id"]}, headers=ph)
    assert booked.status_code == 201, booked.text
    consult = client.get(
        "/api/v1/slots",
        params={"service_class": "consultation", "tier": "league", "limit": 50},
        headers=dh,
    ).json()
    assert len({s["institution_id"] for s in consult}) >= 1
    r = client.post("/api/v1/bookings", json={"slot_id": consult[-1]["id"]}, headers=dh)
    assert r.status_code == 201, r.text
