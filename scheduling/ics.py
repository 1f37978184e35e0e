"""iCalendar (RFC 5545) export of a booking, for common calendar apps, in the language of
the booking's patient (SUMMARY, DESCRIPTION with a LANGUAGE parameter); zh-CN when the
patient chose none. The service class and the status are named in that language."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from scheduling.models import Booking, Slot
from telemed.core.i18n import DEFAULT_LANGUAGE, Catalogue, Message, Term, mongolian, render

PRODID = "-//telemed//scheduling//ZH"

# The event's texts per language: {place} and {who} (the doctor or resource) stay as
# written (Chinese names embed in the Mongolian text); {service}, {status} are codes named
# per language below (Mongolian falls back to Chinese names).
CALENDAR_TEXTS: Catalogue = {
    "booking.ics": {
        "zh-CN": Message("预约 {place} {who}", "服务: {service}; 状态: {status}"),
        "en": Message("Appointment {place} {who}", "service: {service}; status: {status}"),
        "mn-Mong": Message(
            mongolian("ᠪᠣᠯᠵᠢᠶᠠᠯ᠄ {place} {who}"),
            mongolian("ᠦᠢᠯᠡᠴᠢᠯᠭᠡ᠄ {service}᠂ ᠪᠠᠶᠢᠳᠠᠯ᠄ {status}"),
        ),
    }
}

SERVICE_NAMES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "consultation": "远程会诊",
        "imaging_reading": "远程影像诊断",
        "outpatient": "门诊",
        "mdt": "多学科会诊",
        "training": "培训",
        "home_visit": "上门服务",
    },
    "en": {
        "consultation": "Remote consultation",
        "imaging_reading": "Remote image reading",
        "outpatient": "Outpatient",
        "mdt": "Multidisciplinary team",
        "training": "Training",
        "home_visit": "Home visit",
    },
}
STATUS_NAMES: dict[str, dict[str, str]] = {
    "zh-CN": {
        "proposed": "待确认",
        "pending": "保留中",
        "booked": "已预约",
        "arrived": "已到诊",
        "fulfilled": "已完成",
        "cancelled": "已取消",
        "noshow": "爽约",
        "waitlist": "候补中",
    },
    "en": {
        "proposed": "Proposed",
        "pending": "Held",
        "booked": "Booked",
        "arrived": "Arrived",
        "fulfilled": "Done",
        "cancelled": "Cancelled",
        "noshow": "No-show",
        "waitlist": "Waiting list",
    },
}


def booking_ics(
    booking: Booking, slot: Slot, *, now: datetime, language: str | None = None
) -> bytes:
    """One VEVENT in UTC; cancelled bookings are exported with STATUS:CANCELLED. `language`:
    the patient's (None: zh-CN)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    ev = Event()
    ev.add("uid", f"{booking.id}@telemed")
    ev.add("dtstamp", now)
    ev.add("dtstart", booking.start_at)
    ev.add("dtend", booking.end_at)
    who = slot.specialist_name or slot.resource_name or ""
    text = render(
        CALENDAR_TEXTS,
        "booking.ics",
        language,
        place=slot.institution_name,
        who=who,
        service=Term(SERVICE_NAMES, booking.service_class),
        status=Term(STATUS_NAMES, booking.status),
    )
    lang = {"LANGUAGE": language or DEFAULT_LANGUAGE}
    ev.add("summary", text.title.strip(), parameters=lang)
    ev.add("location", slot.institution_name)
    ev.add("description", text.body, parameters=lang)
    ev.add("status", "CANCELLED" if booking.status in ("cancelled", "noshow") else "CONFIRMED")
    cal.add_component(ev)
    return cal.to_ical()
