"""FHIR R4 views (Slot, Schedule, Appointment), validated by `fhir.resources` (R4B models)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.schedule import Schedule
from fhir.resources.R4B.slot import Slot as FhirSlot

from scheduling.models import Booking, ScheduleRule, Slot, WaitlistEntry

SYSTEM = "https://telemed.example/fhir/CodeSystem/"


def _dump(resource: Any) -> dict[str, Any]:
    return json.loads(resource.model_dump_json(exclude_none=True))


def _iso(value: datetime) -> str:
    return value.isoformat()


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": SYSTEM + system, "code": code}], "text": code}


def slot_resource(slot: Slot, *, remaining: int | None = None) -> dict[str, Any]:
    """A Slot: free while places remain (for this viewer), busy when full."""
    free = (slot.capacity - slot.booked if remaining is None else remaining) > 0
    status = "busy-unavailable" if slot.status != "active" else ("free" if free else "busy")
    data: dict[str, Any] = {
        "resourceType": "Slot",
        "id": str(slot.id),
        "schedule": {"reference": f"Schedule/{slot.rule_id}" if slot.rule_id else "Schedule/adhoc"},
        "status": status,
        "start": _iso(slot.start_at),
        "end": _iso(slot.end_at),
        "serviceType": [_concept("service-class", slot.service_class)],
        "specialty": [_concept("specialty", slot.specialty_code)],
        "overbooked": False,
        "comment": f"{slot.institution_name} {slot.specialist_name or ''}".strip(),
    }
    return _dump(FhirSlot.model_validate(data))


_SERVICE_NS = uuid.UUID("6f1d8a52-6c1e-4d55-9a59-2d0f3c1b7e10")


def healthcare_service_id(institution_id: uuid.UUID, specialty: str, service_class: str) -> str:
    """The id of the HealthcareService `institution x specialty x service class` (stable:
    derived from the three, so a Schedule can name it without a table)."""
    return str(uuid.uuid5(_SERVICE_NS, f"{institution_id}|{specialty}|{service_class}"))


def schedule_resource(rule: ScheduleRule) -> dict[str, Any]:
    """A Schedule: the rule's actor (practitioner, or the resource by name), the
    institution's Location and the HealthcareService it offers."""
    actor = (
        {"reference": f"Practitioner/{rule.specialist_id}"}
        if rule.specialist_id
        else {"display": rule.resource_name or "resource"}
    )
    service = healthcare_service_id(rule.institution_id, rule.specialty_code, rule.service_class)
    data = {
        "resourceType": "Schedule",
        "id": str(rule.id),
        "active": rule.active,
        "actor": [
            {"reference": f"Location/{rule.institution_id}"},
            actor,
            {"reference": f"HealthcareService/{service}"},
        ],
        "serviceType": [_concept("service-class", rule.service_class)],
        "specialty": [_concept("specialty", rule.specialty_code)],
        "comment": (
            f"weekdays {rule.weekdays} {rule.start_time:%H:%M}-{rule.end_time:%H:%M} "
            f"Asia/Shanghai, {rule.slot_minutes} min, capacity {rule.capacity}"
        ),
    }
    return _dump(Schedule.model_validate(data))


def _participants(*actors: tuple[str, Any, str]) -> list[dict[str, Any]]:
    """Appointment.participant entries for (resource type, id or None, status)."""
    return [
        {"actor": {"reference": f"{kind}/{ident}"}, "status": status}
        for kind, ident, status in actors
        if ident
    ]


def appointment_resource(booking: Booking) -> dict[str, Any]:
    """An Appointment with the patient (or the booking doctor) and the practitioner."""
    participants = _participants(
        ("Patient", booking.patient_id, "accepted"),
        ("Practitioner", booking.booked_by_id, "accepted"),
        ("Practitioner", booking.specialist_id, "accepted"),
    )
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(booking.id),
        "status": booking.status,
        "serviceType": [_concept("service-class", booking.service_class)],
        "start": _iso(booking.start_at),
        "end": _iso(booking.end_at),
        "slot": [{"reference": f"Slot/{booking.slot_id}"}],
        "created": _iso(booking.created_at),
        "participant": participants,
    }
    if booking.reference_id is not None:  # the referral or consultation it was booked for
        data["basedOn"] = [{"reference": f"ServiceRequest/{booking.reference_id}"}]
    if booking.status == "cancelled" and booking.status_reason:
        data["cancelationReason"] = {"text": booking.status_reason}
    return _dump(Appointment.model_validate(data))


WAITLIST_STATUS = {
    "waiting": "waitlist",
    "offered": "waitlist",  # a place is held for it: the hold is its own Appointment
    "done": "booked",
    "lapsed": "cancelled",
    "cancelled": "cancelled",
}


def waitlist_appointment_resource(entry: WaitlistEntry) -> dict[str, Any]:
    """A waitlist request (候补) as an Appointment with status `waitlist`: no slot yet, the
    period it would take a place in as `requestedPeriod`."""
    participants = _participants(
        ("Patient", entry.patient_id, "needs-action"),
        ("Practitioner", entry.requested_by_id, "accepted"),
        ("Organization", entry.institution_id, "tentative"),
    )
    data: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": str(entry.id),
        "status": WAITLIST_STATUS[entry.status],
        "specialty": [_concept("specialty", entry.specialty_code)],
        "requestedPeriod": [{"start": _iso(entry.start_at), "end": _iso(entry.end_at)}],
        "created": _iso(entry.created_at),
        "participant": participants,
    }
    if entry.service_class:
        data["serviceType"] = [_concept("service-class", entry.service_class)]
    if entry.offered_booking_id:
        data["comment"] = f"offered: Appointment/{entry.offered_booking_id}"
    return _dump(Appointment.model_validate(data))


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A searchset Bundle of the given resources."""
    data = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"fullUrl": f"{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }
    return _dump(Bundle.model_validate(data))
