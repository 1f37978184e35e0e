"""iCalendar (RFC 5545) export of a booking, for common calendar apps."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from scheduling.models import Booking, Slot

PRODID = "-//telemed//scheduling//ZH"


def booking_ics(booking: Booking, slot: Slot, *, now: datetime) -> bytes:
    """One VEVENT in UTC; cancelled bookings are exported with STATUS:CANCELLED."""
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
    ev.add("summary", f"预约 {slot.institution_name} {who}".strip())
    ev.add("location", slot.institution_name)
    ev.add("description", f"service: {booking.service_class}; status: {booking.status}")
    ev.add("status", "CANCELLED" if booking.status in ("cancelled", "noshow") else "CONFIRMED")
    cal.add_component(ev)
    return cal.to_ical()
