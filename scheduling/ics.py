"""iCalendar (RFC 5545) export of a booking, for common calendar apps, in the language of
the booking's patient (SUMMARY, DESCRIPTION with a LANGUAGE parameter); the bilingual
texts when the patient chose none."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from scheduling.models import Booking, Slot
from telemed.core.i18n import Catalogue, Message, localized, mongolian

PRODID = "-//telemed//scheduling//ZH"

# The event's texts per language: {place} and {who} (the doctor or resource) stay as
# written (Chinese names embed in the Mongolian text); {service}, {status} are codes.
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


def booking_ics(
    booking: Booking, slot: Slot, *, now: datetime, language: str | None = None
) -> bytes:
    """One VEVENT in UTC; cancelled bookings are exported with STATUS:CANCELLED. `language`:
    the patient's (None: the texts as before any language was chosen)."""
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
    text = localized(
        CALENDAR_TEXTS,
        "booking.ics",
        language,
        place=slot.institution_name,
        who=who,
        service=booking.service_class,
        status=booking.status,
    )
    if text is None:
        text = Message(
            f"预约 {slot.institution_name} {who}",
            f"service: {booking.service_class}; status: {booking.status}",
        )
    lang = {"LANGUAGE": language} if language else {}
    ev.add("summary", text.title.strip(), parameters=lang)
    ev.add("location", slot.institution_name)
    ev.add("description", text.body, parameters=lang)
    ev.add("status", "CANCELLED" if booking.status in ("cancelled", "noshow") else "CONFIRMED")
    cal.add_component(ev)
    return cal.to_ical()
