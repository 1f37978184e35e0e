"""The waitlist (候补) after the offer: lapse, leave, list, and its FHIR Appointment."""

from __future__ import annotations

from datetime import timedelta

from fhir.resources.R4B.appointment import Appointment
from sqlalchemy import text
from sqlmodel import Session

from scheduling import service
from scheduling.horizon import expire_holds
from scheduling.models import Booking, Slot, WaitlistEntry
from scheduling.schemas import WaitlistCreate
from tests.scheduling.conftest import slots_of


def _window(slot: Slot) -> WaitlistCreate:
    return WaitlistCreate(
        specialty_code=slot.specialty_code,
        start_at=slot.start_at - timedelta(days=1),
        end_at=slot.end_at + timedelta(days=1),
    )


def _full_slot_with_two_waiting(session: Session, clock, make_rule, new_doctor):  # type: ignore[no-untyped-def]
    slot = slots_of(session, make_rule())[0]
    holder = new_doctor()
    booking = service.book(
        session=session, slot_id=slot.id, by=holder, patient_id=None, now=clock()
    )
    first, second = new_doctor(), new_doctor()
    e1 = service.join_waitlist(session=session, data=_window(slot), by=first, now=clock())
    clock.advance(seconds=1)
    e2 = service.join_waitlist(session=session, data=_window(slot), by=second, now=clock())
    return slot, holder, booking, (first, e1), (second, e2)


def test_an_offer_not_confirmed_in_time_lapses_and_goes_to_the_next(
    session, clock, make_rule, new_doctor
):
    slot, holder, booking, (first, e1), (second, e2) = _full_slot_with_two_waiting(
        session, clock, make_rule, new_doctor
    )
    service.cancel_booking(
        session=session, booking_id=booking.id, by=holder, now=clock(), reason="plans changed"
    )
    session.refresh(e1)
    assert e1.status == "offered"
    clock.advance(minutes=service.WAITLIST_OFFER_MINUTES + 1)
    assert expire_holds(session=session, now=clock()) == 1
    session.refresh(e1)
    session.refresh(e2)
    assert e1.status == "lapsed"
    assert e2.status == "offered"
    offer = session.get(Booking, e2.offered_booking_id)
    assert offer is not None and offer.status == "pending" and offer.booked_by_id == second.id
    session.refresh(slot)
    assert slot.booked == 1  # the lapsed hold's place, now held for the second request


def test_leaving_an_offered_request_passes_the_place_on(session, clock, make_rule, new_doctor):
    slot, holder, booking, (first, e1), (second, e2) = _full_slot_with_two_waiting(
        session, clock, make_rule, new_doctor
    )
    service.cancel_booking(
        session=session, booking_id=booking.id, by=holder, now=clock(), reason="plans changed"
    )
    session.refresh(e1)
    offered = e1.offered_booking_id
    left = service.leave_waitlist(session=session, entry_id=e1.id, by=first, now=clock())
    assert left.status == "cancelled"
    hold = session.get(Booking, offered)
    assert hold is not None and hold.status == "cancelled"
    session.refresh(e2)
    assert e2.status == "offered"
    session.refresh(slot)
    assert slot.booked == 1


def test_waitlist_over_http_list_leave_and_fhir(client, login, session, clock, make_rule):
    slot = slots_of(session, make_rule())[0]
    ph, dh = login("patient"), login("county-doctor")
    body = {
        "specialty_code": slot.specialty_code,
        "start_at": (slot.start_at - timedelta(days=1)).isoformat(),
        "end_at": (slot.end_at + timedelta(days=1)).isoformat(),
    }
    joined = client.post("/api/v1/waitlist", json=body, headers=ph)
    assert joined.status_code == 201, joined.text
    entry_id = joined.json()["id"]

    mine = client.get("/api/v1/waitlist", headers=ph).json()
    assert [e["id"] for e in mine] == [entry_id] and mine[0]["status"] == "waiting"
    assert all(e["id"] != entry_id for e in client.get("/api/v1/waitlist", headers=dh).json())
    assert client.get(f"/api/v1/waitlist/{entry_id}", headers=dh).status_code == 404
    assert client.post(f"/api/v1/waitlist/{entry_id}/cancel", headers=dh).status_code == 404

    fhir = client.get(f"/fhir/R4/Appointment/{entry_id}", headers=ph)
    assert fhir.status_code == 200, fhir.text
    appt = Appointment.model_validate(fhir.json())
    assert appt.status == "waitlist" and appt.slot is None
    assert appt.requestedPeriod[0].start == slot.start_at - timedelta(days=1)
    assert appt.participant[0].actor.reference.startswith("Patient/")
    audit = session.execute(
        text(
            "SELECT count(*) FROM audit_event WHERE object_type = 'waitlist' AND action = 'read'"
            " AND (object_id = :id OR jsonb_exists(detail::jsonb -> 'object_ids', :id))"
        ),
        {"id": entry_id},
    ).scalar_one()
    assert audit >= 2  # the list and the FHIR read

    left = client.post(f"/api/v1/waitlist/{entry_id}/cancel", headers=ph)
    assert left.status_code == 200 and left.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/waitlist/{entry_id}/cancel", headers=ph)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert (
        Appointment.model_validate(
            client.get(f"/fhir/R4/Appointment/{entry_id}", headers=ph).json()
        ).status
        == "cancelled"
    )
    assert session.get(WaitlistEntry, entry_id) is not None
