"""A patient who chose Mongolian (ᠮᠣᠩᠭᠣᠯ) is told about their bookings in Mongolian
script: the in-app message of each of their accounts, the SMS row of the event and the
.ics file; whoever else holds the booking (the doctor who booked) reads zh-CN, the
default, as does a patient who chose no language. English and Chinese speak their own.
Every row keeps its message code and parameters (codes, ISO times)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlmodel import Session, select

from scheduling import service
from scheduling.models import Booking, ScheduleRule
from telemed.core.i18n import format_moment
from telemed.core.notifications import Notification
from tests.scheduling.conftest import demo_patient, slots_of, user_named

Login = Callable[[str], dict[str, str]]


def _notes(session: Session, booking: Booking, kind: str) -> list[Notification]:
    session.flush()
    rows = session.execute(select(Notification).where(Notification.kind == kind)).scalars()
    return [n for n in rows if n.data.get("booking_id") == str(booking.id)]


def _book_for_the_patient(session: Session, clock: Any, rule: ScheduleRule) -> Booking:
    slot = slots_of(session, rule)[0]
    return service.book(
        session=session,
        slot_id=slot.id,
        by=user_named(session, "county-doctor"),
        patient_id=user_named(session, "patient").patient_id,
        now=clock(),
    )


def test_a_mongolian_patient_reads_the_booking_in_mongolian_the_doctor_chinese(
    session: Session, clock: Any, make_rule: Callable[..., ScheduleRule]
) -> None:
    demo_patient(session).preferred_language = "mn-Mong"
    b = _book_for_the_patient(session, clock, make_rule())
    patient_user = user_named(session, "patient")
    doctor = user_named(session, "county-doctor")
    rows = {(n.channel, n.user_id): n for n in _notes(session, b, "booking.confirmed")}
    mine, sms = rows[("in_app", patient_user.id)], rows[("sms", None)]
    assert mine.title == "ᠪᠣᠯᠵᠢᠶᠠᠯ ᠠᠮᠵᠢᠯᠲᠠᠢ ᠪᠦᠷᠲᠡᠭᠦᠯᠪᠡ"
    assert format_moment(b.start_at, "mn-Mong") in mine.body
    assert "ᠰᠠᠷ\u180eᠠ\u202fᠶᠢᠨ" in mine.body  # month, vowel separator, suffix joiner
    assert (sms.title, sms.body) == (mine.title, mine.body)
    assert rows[("in_app", doctor.id)].title == "预约成功"
    assert {(n.code, n.params["time"]) for n in rows.values()} == {
        ("booking.confirmed", b.start_at.isoformat())
    }


@pytest.mark.parametrize(
    ("language", "title"),
    [
        (None, "预约成功"),
        ("zh-CN", "预约成功"),
        ("en", "Appointment confirmed"),
    ],
)
def test_other_choices_read_their_own_language(
    session: Session,
    clock: Any,
    make_rule: Callable[..., ScheduleRule],
    language: str | None,
    title: str,
) -> None:
    demo_patient(session).preferred_language = language
    b = _book_for_the_patient(session, clock, make_rule())
    patient_user = user_named(session, "patient")
    [mine] = [n for n in _notes(session, b, "booking.confirmed") if n.user_id == patient_user.id]
    assert mine.title == title


def test_cancel_reschedule_and_reminder_speak_mongolian_too(
    session: Session, clock: Any, make_rule: Callable[..., ScheduleRule]
) -> None:
    demo_patient(session).preferred_language = "mn-Mong"
    rule = make_rule(capacity=2)
    b = _book_for_the_patient(session, clock, rule)
    county = user_named(session, "county-doctor")
    later = slots_of(session, rule)[1]
    moved = service.reschedule(
        session=session, booking_id=b.id, new_slot_id=later.id, by=county, now=clock()
    )
    [changed] = [n for n in _notes(session, moved, "booking.changed") if n.channel == "sms"]
    assert changed.title == "ᠪᠣᠯᠵᠢᠶᠠᠯ\u202fᠤᠨ ᠴᠠᠭ ᠥᠭᠡᠷᠡᠴᠢᠯᠡᠭᠳᠡᠪᠡ"
    assert format_moment(b.start_at, "mn-Mong") in changed.body
    assert format_moment(moved.start_at, "mn-Mong") in changed.body
    clock.at = moved.start_at - timedelta(hours=20)
    assert service.send_reminders(session=session, now=clock()) >= 1
    [reminder] = [n for n in _notes(session, moved, "booking.reminder") if n.channel == "sms"]
    assert reminder.title.startswith("ᠡᠮᠴᠢ")
    service.cancel_booking(
        session=session, booking_id=moved.id, by=county, now=clock(), reason="医生出诊"
    )
    [gone] = [n for n in _notes(session, moved, "booking.cancelled") if n.channel == "sms"]
    assert gone.title == "ᠪᠣᠯᠵᠢᠶᠠᠯ ᠴᠤᠴᠠᠯᠠᠭᠳᠠᠪᠠ" and gone.body.endswith("医生出诊")


def test_the_ics_of_a_mongolian_patient_is_in_mongolian(
    client: TestClient, login: Login, session: Session, make_rule: Callable[..., ScheduleRule]
) -> None:
    slot = slots_of(session, make_rule())[0]
    ph = login("patient")
    client.put("/api/v1/auth/me/language", json={"language": "mn-Mong"}, headers=ph)
    b = client.post("/api/v1/bookings", json={"slot_id": str(slot.id)}, headers=ph).json()
    ics = client.get(f"/api/v1/bookings/{b['id']}.ics", headers=ph)
    assert ics.status_code == 200
    [event] = Calendar.from_ical(ics.content).walk("VEVENT")
    summary = event["summary"]
    assert str(summary).startswith("ᠪᠣᠯᠵᠢᠶᠠᠯ᠄ ") and slot.institution_name in str(summary)
    assert summary.params["LANGUAGE"] == "mn-Mong"
    assert event["description"].params["LANGUAGE"] == "mn-Mong"
    assert str(event["location"]) == slot.institution_name  # the institution's own name
