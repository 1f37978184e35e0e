"""Holds, bookings, idempotency, reserved capacity, cancellation policy and the waitlist."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlmodel import Session, col, select

from scheduling import service
from scheduling.models import Booking, Slot
from scheduling.schemas import WaitlistCreate
from telemed.core.errors import Conflict, Forbidden, NotFound
from telemed.core.notifications import Notification
from tests.scheduling.conftest import slots_of, user_named


def _notes(session: Session, user_id: object, kind: str) -> list[Notification]:
    return list(
        session.execute(
            select(Notification).where(
                Notification.user_id == user_id,
                Notification.kind == kind,
                Notification.channel == "in_app",
            )
        ).scalars()
    )


def _texts(session: Session, patient_id: object, kind: str) -> list[Notification]:
    """The SMS rows of `kind` to a patient (addressed to the patient, not an account)."""
    return list(
        session.execute(
            select(Notification).where(
                Notification.patient_id == patient_id,
                Notification.kind == kind,
                Notification.channel == "sms",
            )
        ).scalars()
    )


def test_idempotent_retry_returns_first_booking_and_creates_nothing(session, clock, make_rule):
    rule = make_rule()
    slot = slots_of(session, rule)[0]
    patient = user_named(session, "patient")
    first = service.book(
        session=session,
        slot_id=slot.id,
        by=patient,
        patient_id=None,
        now=clock(),
        idempotency_key="retry-1",
    )
    again = service.book(
        session=session,
        slot_id=slot.id,
        by=patient,
        patient_id=None,
        now=clock(),
        idempotency_key="retry-1",
    )
    assert again.id == first.id
    session.refresh(slot)
    assert slot.booked == 1
    assert len(_notes(session, patient.id, "booking.confirmed")) == 1
    [sms] = _texts(session, patient.patient_id, "booking.confirmed")  # one, not per retry
    assert sms.user_id is None and sms.status == "pending"
    with pytest.raises(Conflict) as exc:
        service.book(
            session=session,
            slot_id=slots_of(session, rule)[1].id,
            by=patient,
            patient_id=None,
            now=clock(),
            idempotency_key="retry-1",
        )
    assert exc.value.code == "idempotency_key_reused"


def test_full_slot_is_refused_and_leaves_nothing_behind(session, clock, make_rule, new_doctor):
    rule = make_rule()
    slot = slots_of(session, rule)[0]
    service.book(
        session=session,
        slot_id=slot.id,
        by=user_named(session, "patient"),
        patient_id=None,
        now=clock(),
    )
    other = new_doctor()
    before = session.execute(select(Booking).where(Booking.booked_by_id == other.id)).all()
    with pytest.raises(Conflict) as exc:
        service.book(session=session, slot_id=slot.id, by=other, patient_id=None, now=clock())
    assert exc.value.code == "slot_full"
    assert session.execute(select(Booking).where(Booking.booked_by_id == other.id)).all() == before
    assert _notes(session, other.id, "booking.confirmed") == []
    session.refresh(slot)
    assert slot.booked == 1


def test_person_cannot_hold_two_overlapping_bookings(session, clock, make_rule):
    a = slots_of(session, make_rule())[0]
    b = slots_of(session, make_rule())[0]
    assert a.start_at == b.start_at
    patient = user_named(session, "patient")
    service.book(session=session, slot_id=a.id, by=patient, patient_id=None, now=clock())
    with pytest.raises(Conflict) as exc:
        service.book(session=session, slot_id=b.id, by=patient, patient_id=None, now=clock())
    assert exc.value.code == "person_overlap"


def test_slot_search_for_a_patient_leaves_out_the_times_they_are_taken(
    session, clock, make_rule, new_doctor
):
    rule_a, rule_b = make_rule(), make_rule()
    a, b = slots_of(session, rule_a)[0], slots_of(session, rule_b)[0]
    patient = user_named(session, "patient")

    def found(rule, **kw):
        return {
            v.id
            for v in service.search_slots(
                session=session, viewer=patient, now=clock(), rule_id=rule.id, limit=200, **kw
            )
        }

    assert b.id in found(rule_b, patient_id=patient.patient_id)
    service.book(session=session, slot_id=a.id, by=patient, patient_id=None, now=clock())
    assert b.id not in found(rule_b, patient_id=patient.patient_id)  # booked at that time
    assert b.id in found(rule_b)  # still free for everyone else
    later = [s.id for s in slots_of(session, rule_b)[1:]]
    assert later and set(later) <= found(rule_b, patient_id=patient.patient_id)
    with pytest.raises(NotFound):  # a patient the viewer may not see: no oracle on their times
        service.search_slots(
            session=session, viewer=new_doctor(), now=clock(), patient_id=patient.patient_id
        )
    session.refresh(b)
    assert b.booked == 0


def test_hold_then_book_and_expired_hold_is_refused(session, clock, make_rule):
    slots = slots_of(session, make_rule())
    patient = user_named(session, "patient")
    hold = service.hold_slot(
        session=session, slot_id=slots[0].id, by=patient, patient_id=None, now=clock()
    )
    assert hold.status == "pending"
    booked = service.book(
        session=session, slot_id=None, hold_id=hold.id, by=patient, patient_id=None, now=clock()
    )
    assert booked.id == hold.id and booked.status == "booked"
    late = service.hold_slot(
        session=session, slot_id=slots[1].id, by=patient, patient_id=None, now=clock()
    )
    clock.advance(minutes=6)
    with pytest.raises(Conflict) as exc:
        service.book(
            session=session,
            slot_id=None,
            hold_id=late.id,
            by=patient,
            patient_id=None,
            now=clock(),
        )
    assert exc.value.code == "hold_expired"


def test_expired_hold_frees_the_place_for_others(session, clock, make_rule, new_doctor):
    slot = slots_of(session, make_rule())[0]
    service.hold_slot(
        session=session,
        slot_id=slot.id,
        by=user_named(session, "patient"),
        patient_id=None,
        now=clock(),
    )
    other = new_doctor()
    with pytest.raises(Conflict):
        service.book(session=session, slot_id=slot.id, by=other, patient_id=None, now=clock())
    clock.advance(minutes=5, seconds=1)
    b = service.book(session=session, slot_id=slot.id, by=other, patient_id=None, now=clock())
    assert b.status == "booked"
    session.refresh(slot)
    assert slot.booked == 1


def test_reserved_places_open_to_everyone_at_release_time(session, clock, make_rule, new_doctor):
    rule = make_rule(reserved_share=1.0, release_hours_before=24)
    slot = slots_of(session, rule)[-1]  # far enough ahead to be before release
    assert slot.reserved == 1
    patient = user_named(session, "patient")
    with pytest.raises(Conflict) as exc:
        service.book(session=session, slot_id=slot.id, by=patient, patient_id=None, now=clock())
    assert exc.value.code == "slot_full"
    views = service.search_slots(
        session=session, viewer=patient, now=clock(), specialist_id=rule.specialist_id, limit=500
    )
    assert slot.id not in {v.id for v in views}

    family = user_named(session, "family-doctor")
    seen = service.search_slots(
        session=session, viewer=family, now=clock(), specialist_id=rule.specialist_id, limit=500
    )
    assert {v.id: v.remaining for v in seen}[slot.id] == 1

    clock.at = slot.release_at  # the moment of release
    b = service.book(session=session, slot_id=slot.id, by=patient, patient_id=None, now=clock())
    assert b.status == "booked" and not b.uses_reserved


def test_registered_eligibility_uses_reserved_capacity(session, clock, make_rule):
    rule = make_rule(reserved_share=1.0, release_hours_before=24)
    slot = slots_of(session, rule)[-1]
    family = user_named(session, "family-doctor")

    def contracted(_s, user, _patient_id):  # type: ignore[no-untyped-def]
        return user.id == family.id

    service.register_reserved_eligibility(contracted)
    try:
        b = service.book(session=session, slot_id=slot.id, by=family, patient_id=None, now=clock())
    finally:
        service._eligibility.remove(contracted)
    assert b.uses_reserved
    session.refresh(slot)
    assert (slot.booked, slot.reserved_booked) == (1, 1)


def test_patient_cancel_window_and_noshow_limit(session, clock, make_rule):
    slots = slots_of(session, make_rule())
    patient = user_named(session, "patient")
    b = service.book(session=session, slot_id=slots[0].id, by=patient, patient_id=None, now=clock())
    clock.at = b.start_at - timedelta(hours=1)
    with pytest.raises(Conflict) as exc:
        service.cancel_booking(session=session, booking_id=b.id, by=patient, now=clock(), reason="")
    assert exc.value.code == "too_late_to_cancel"
    specialist = session.get(type(patient), b.specialist_id)
    clock.at = b.start_at + timedelta(minutes=40)
    service.mark(session=session, booking_id=b.id, action="noshow", by=specialist, now=clock())
    # two more no-shows reach the limit (3)
    for extra in slots[2:4]:
        clock.at = extra.start_at - timedelta(days=1)
        x = service.book(
            session=session, slot_id=extra.id, by=patient, patient_id=None, now=clock()
        )
        clock.at = x.start_at + timedelta(minutes=40)
        service.mark(session=session, booking_id=x.id, action="noshow", by=specialist, now=clock())
    clock.at = slots[-1].start_at - timedelta(days=1)
    with pytest.raises(Forbidden) as exc2:
        service.book(
            session=session, slot_id=slots[-1].id, by=patient, patient_id=None, now=clock()
        )
    assert exc2.value.code == "noshow_limit"


def test_cancellation_offers_the_place_to_the_first_waiting_request(
    session, clock, make_rule, new_doctor
):
    rule = make_rule()
    slot = slots_of(session, rule)[0]
    holder = new_doctor()
    booking = service.book(
        session=session, slot_id=slot.id, by=holder, patient_id=None, now=clock()
    )
    first, second = new_doctor(), new_doctor()
    window = WaitlistCreate(
        specialty_code=slot.specialty_code,
        start_at=slot.start_at - timedelta(days=1),
        end_at=slot.end_at + timedelta(days=1),
    )
    e1 = service.join_waitlist(session=session, data=window, by=first, now=clock())
    clock.advance(seconds=1)
    service.join_waitlist(session=session, data=window, by=second, now=clock())
    service.cancel_booking(
        session=session, booking_id=booking.id, by=holder, now=clock(), reason="plans changed"
    )
    session.refresh(e1)
    assert e1.status == "offered"
    offer = session.get(Booking, e1.offered_booking_id)
    assert offer is not None and offer.status == "pending" and offer.booked_by_id == first.id
    assert len(_notes(session, first.id, "waitlist.offer")) == 1
    assert _notes(session, second.id, "waitlist.offer") == []
    # a doctor's own request for no patient: told in the app, nobody is texted
    assert (
        session.execute(
            select(Notification).where(
                Notification.kind == "waitlist.offer", Notification.channel == "sms"
            )
        ).all()
        == []
    )
    confirmed = service.book(
        session=session, slot_id=None, hold_id=offer.id, by=first, patient_id=None, now=clock()
    )
    assert confirmed.status == "booked"


def test_rule_change_flags_bookings_and_notifies_never_drops(session, clock, make_rule):
    from scheduling.schemas import RuleUpdate

    rule = make_rule()
    slot = slots_of(session, rule)[0]
    patient = user_named(session, "patient")
    b = service.book(session=session, slot_id=slot.id, by=patient, patient_id=None, now=clock())
    _, result = service.update_rule(
        session=session,
        rule_id=rule.id,
        data=RuleUpdate(start_time=time(14, 0), end_time=time(15, 0)),
        by=user_named(session, "coordinator"),
        now=clock(),
    )
    session.refresh(b)
    session.refresh(slot)
    assert result.flagged_bookings == 1 and result.withdrawn == 1
    assert b.status == "booked" and b.needs_reschedule
    assert slot.status == "withdrawn"
    assert len(_notes(session, patient.id, "booking.needs_reschedule")) == 1
    assert len(_texts(session, patient.patient_id, "booking.needs_reschedule")) == 1
    # re-running the job is harmless
    from scheduling.horizon import materialize

    again = materialize(session=session, now=clock(), rule_ids=[rule.id])
    assert again.created == 0 and again.flagged_bookings == 0
    active = (
        session.execute(select(Slot).where(Slot.rule_id == rule.id, col(Slot.status) == "active"))
        .scalars()
        .all()
    )
    assert active and all(s.start_at.hour == 6 for s in active)  # 14:00 Shanghai = 06:00 UTC


def test_reschedule_moves_the_booking(session, clock, make_rule):
    slots = slots_of(session, make_rule())
    patient = user_named(session, "patient")
    b = service.book(session=session, slot_id=slots[0].id, by=patient, patient_id=None, now=clock())
    new = service.reschedule(
        session=session, booking_id=b.id, new_slot_id=slots[3].id, by=patient, now=clock()
    )
    session.refresh(b)
    assert b.status == "cancelled" and new.rescheduled_from_id == b.id
    assert len(_notes(session, patient.id, "booking.changed")) == 1
