"""The PostgreSQL one-statement booking (`scheduling.placement`) writes exactly what the
ORM path writes: read back with plain SQL, outside the session's identity map."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import Session

from scheduling import service
from telemed.core.errors import Conflict
from telemed.identity.models import Role
from tests.scheduling.conftest import slots_of, user_named


def _row(session: Session, sql: str, **params: Any) -> dict[str, Any]:
    return dict(session.execute(text(sql), params).mappings().one())


def _statements(session: Session) -> list[str]:
    seen: list[str] = []
    event.listen(
        session.get_bind(), "before_cursor_execute", lambda *a, **k: seen.append(a[2].lstrip())
    )
    return seen


def test_booking_for_a_patient_writes_booking_outbox_and_key_in_one_statement(
    session, clock, make_rule
):
    slot = slots_of(session, make_rule(capacity=2))[0]
    doctor = user_named(session, "county-doctor")
    patient_user = user_named(session, "patient")
    seen = _statements(session)
    b = service.book(
        session=session,
        slot_id=slot.id,
        by=doctor,
        patient_id=patient_user.patient_id,
        now=clock(),
        idempotency_key="one-statement",
    )
    writes = [s for s in seen if s.split(None, 1)[0] in ("INSERT", "UPDATE", "WITH")]
    # One write: the booking's audit rows too are in it, written only with the place (a
    # replay, when a concurrent request with the same key won, is audited as a read).
    assert len(writes) == 1 and writes[0].startswith("WITH claimed AS")
    assert "INSERT INTO audit_event " in writes[0]
    assert "INSERT INTO audit_event_patient " in writes[0]
    audited = _row(
        session,
        "SELECT e.action, e.actor_id, p.patient_id FROM audit_event e"
        " JOIN audit_event_patient p ON p.event_id = e.id WHERE e.object_id = :id",
        id=str(b.id),
    )
    assert audited == {
        "action": "book",
        "actor_id": doctor.id,
        "patient_id": patient_user.patient_id,
    }

    row = _row(session, "SELECT * FROM scheduling_booking WHERE id = :id", id=b.id)
    assert row["status"] == "booked" and row["booked_by_id"] == doctor.id
    assert row["patient_id"] == row["person_id"] == patient_user.patient_id
    assert (row["start_at"], row["end_at"]) == (slot.start_at, slot.end_at)
    assert row["created_at"] == clock() and row["hold_expires_at"] is None
    assert row["uses_reserved"] is False and row["needs_reschedule"] is False
    assert row["institution_id"] == slot.institution_id

    notes = (
        session.execute(
            text(
                "SELECT user_id, patient_id, channel, kind, data, sent_at FROM notification"
                " WHERE data->>'booking_id' = :id"
            ),
            {"id": str(b.id)},
        )
        .mappings()
        .all()
    )
    # the booker in-app (sent); the patient's own account in-app; one SMS (queued) to the
    # patient, not to an account: SMS speaks to the patient, staff are not texted
    assert sorted((str(n["user_id"]), str(n["patient_id"]), n["channel"]) for n in notes) == sorted(
        [
            (str(doctor.id), "None", "in_app"),
            (str(patient_user.id), "None", "in_app"),
            ("None", str(patient_user.patient_id), "sms"),
        ]
    )
    assert all(n["kind"] == "booking.confirmed" for n in notes)
    assert all(n["data"] == {"booking_id": str(b.id), "slot_id": str(slot.id)} for n in notes)
    assert all((n["sent_at"] is None) == (n["channel"] == "sms") for n in notes)

    key = _row(
        session,
        "SELECT status_code, response FROM idempotency_record WHERE key LIKE :k",
        k="scheduling.book:%:one-statement",
    )
    assert key == {"status_code": 201, "response": {"booking_id": str(b.id)}}
    assert _row(session, "SELECT booked FROM scheduling_slot WHERE id = :id", id=slot.id) == {
        "booked": 1
    }

    # the object returned is the session's own, persistent (changes to it are saved)
    b.status_reason = "checked"
    session.flush()
    assert _row(
        session, "SELECT status_reason FROM scheduling_booking WHERE id = :id", id=b.id
    ) == {"status_reason": "checked"}


def test_no_place_in_the_reserved_pool_falls_back_to_the_open_pool(session, clock, make_rule):
    """The statement tries the reserved pool only; a place left in the open pool is then
    taken the ORM way, and the booking says it did not use reserved capacity."""
    slot = slots_of(session, make_rule(capacity=2, reserved_share=0.5, release_hours_before=24))[-1]
    assert slot.reserved == 1 and slot.release_at > clock()
    session.execute(  # the reserved place is already taken
        text("UPDATE scheduling_slot SET booked = 1, reserved_booked = 1 WHERE id = :id"),
        {"id": slot.id},
    )
    family = user_named(session, "family-doctor")

    def contracted(_s, user, _patient_id):  # type: ignore[no-untyped-def]
        return user.id == family.id

    service.register_reserved_eligibility(contracted)
    try:
        b = service.book(
            session=session,
            slot_id=slot.id,
            by=family,
            patient_id=None,
            now=clock(),
            idempotency_key="fallback",
        )
    finally:
        service._eligibility.remove(contracted)
    row = _row(
        session, "SELECT uses_reserved, status FROM scheduling_booking WHERE id = :id", id=b.id
    )
    assert row == {"uses_reserved": False, "status": "booked"}
    assert _row(
        session, "SELECT booked, reserved_booked FROM scheduling_slot WHERE id = :id", id=slot.id
    ) == {"booked": 2, "reserved_booked": 1}
    count = session.execute(
        text("SELECT count(*) FROM notification WHERE data->>'booking_id' = :id"),
        {"id": str(b.id)},
    ).scalar_one()
    assert count == 1  # in-app to the family doctor (staff are not texted), written once


def test_a_full_slot_leaves_no_claim_booking_or_notification(
    session, clock, make_rule, new_doctor, monkeypatch
):
    slot = slots_of(session, make_rule())[0]
    session.execute(
        text("UPDATE scheduling_slot SET booked = capacity WHERE id = :id"), {"id": slot.id}
    )
    # The early refusal reads the committed state: let it see room, so that the statement's
    # UPDATE is what refuses (as when a concurrent booking took the last place meanwhile).
    monkeypatch.setattr("scheduling.places._has_room", lambda *a, **k: True)
    doctor = new_doctor(role=Role.COUNTY_DOCTOR)
    with pytest.raises(Conflict) as exc:
        service.book(
            session=session,
            slot_id=slot.id,
            by=doctor,
            patient_id=None,
            now=clock(),
            idempotency_key="full",
        )
    assert exc.value.code == "slot_full"
    left = _row(
        session,
        "SELECT (SELECT count(*) FROM idempotency_record WHERE key LIKE :k) AS keys,"
        " (SELECT count(*) FROM scheduling_booking WHERE slot_id = :id) AS bookings,"
        " (SELECT count(*) FROM notification WHERE data->>'slot_id' = :sid) AS notes",
        k=f"scheduling.book:{doctor.id}:full",
        id=slot.id,
        sid=str(slot.id),
    )
    assert left == {"keys": 0, "bookings": 0, "notes": 0}
