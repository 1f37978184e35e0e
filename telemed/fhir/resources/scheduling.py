"""Schedule, Slot and Appointment: the scheduling domain's queries and FHIR views
(`scheduling.fhir`); an Appointment is booked through `scheduling.service.book`, the same
no-overbooking path as the REST API."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from scheduling import fhir as scheduling_fhir
from scheduling import service as scheduling_service
from scheduling.models import Booking, ScheduleRule, Slot
from telemed.core.errors import Invalid, NotFound
from telemed.fhir.registry import (
    Context,
    Handler,
    Include,
    Page,
    Resource,
    SearchParam,
    date_range,
    ident,
    reference,
    referenced,
    sliced,
    token,
)
from telemed.fhir.resources.loading import REFERRAL, load


def read_slot(ctx: Context, id: str) -> Resource:
    slot = scheduling_service.get_slot(session=ctx.session, slot_id=ident(id, "Slot"))
    return scheduling_fhir.slot_resource(slot)


def slot_page(
    ctx: Context | None,
    params: dict[str, list[str]],
    count: int,
    offset: int,
    *,
    session: Any = None,
    now: Any = None,
) -> Page:
    """Slots with free capacity for the viewer (no viewer: the publicly bookable share)."""
    session = ctx.session if ctx else session
    now = ctx.now if ctx else now
    lo, hi = date_range(params.get("start", []), "start")
    rule_id = None
    for value in params.get("schedule", []):
        rule_id = reference(value, "Schedule", "schedule")
    views = scheduling_service.search_slots(
        session=session,
        viewer=ctx.user if ctx else None,
        now=now,
        specialty=_one(params, "specialty"),
        service_class=_one(params, "service-type"),
        start_from=lo,
        start_to=hi,
        rule_id=rule_id,
        limit=count + 1,
        offset=offset,
    )
    views, more = views[:count], len(views) > count
    total = scheduling_service.count_slots(
        session=session,
        viewer=ctx.user if ctx else None,
        now=now,
        specialty=_one(params, "specialty"),
        service_class=_one(params, "service-type"),
        start_from=lo,
        start_to=hi,
        rule_id=rule_id,
    )
    slots = {
        s.id: s
        for s in session.execute(
            select(Slot).where(col(Slot.id).in_([v.id for v in views]))
        ).scalars()
    }
    found = [scheduling_fhir.slot_resource(slots[v.id], remaining=v.remaining) for v in views]
    return Page(resources=found, total=total, more=more)


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name, [])
    return token(values[-1]) if values else None


def search_slots(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
    return slot_page(ctx, params, count, offset)


def read_schedule(ctx: Context, id: str) -> Resource:
    rule = scheduling_service.get_rule(session=ctx.session, rule_id=ident(id, "Schedule"))
    return scheduling_fhir.schedule_resource(rule)


def schedules(session: Any, params: dict[str, list[str]]) -> list[ScheduleRule]:
    """Active schedule rules, narrowed by actor, specialty and service type."""
    specialist_id = institution_id = None
    for value in params.get("actor", []):
        if value.startswith(("Organization/", "Location/")):
            kind = value.split("/", 1)[0]
            institution_id = reference(value, kind, "actor")
        else:
            specialist_id = reference(value, "Practitioner", "actor")
    rules = scheduling_service.list_rules(
        session=session, institution_id=institution_id, specialist_id=specialist_id
    )
    specialty, service_type = _one(params, "specialty"), _one(params, "service-type")
    return [
        r
        for r in rules
        if r.active
        and (specialty is None or r.specialty_code == specialty)
        and (service_type is None or r.service_class == service_type)
    ]


def search_schedules(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
    rules = schedules(ctx.session, params)
    page, more = sliced(rules, count, offset)
    return Page(
        resources=[scheduling_fhir.schedule_resource(r) for r in page],
        total=len(rules),
        more=more,
    )


def read_appointment(ctx: Context, id: str) -> Resource:
    """A booking, or a waitlist request (status `waitlist`)."""
    uid = ident(id, "Appointment")
    if ctx.session.get(Booking, uid) is not None:
        booking = scheduling_service.read_booking(
            session=ctx.session, user=ctx.user, booking_id=uid, what="fhir"
        )
        return scheduling_fhir.appointment_resource(booking)
    entry = scheduling_service.read_waitlist_entry(
        session=ctx.session, user=ctx.user, entry_id=uid, what="fhir"
    )
    return scheduling_fhir.waitlist_appointment_resource(entry)


def search_appointments(
    ctx: Context, params: dict[str, list[str]], count: int, offset: int
) -> Page:
    """The caller's own bookings (as booker or patient), as the REST `/bookings` list, then
    their waitlist requests (`/waitlist`), each with the status its read shows."""
    patient_id = None
    for value in params.get("patient", []):
        patient_id = reference(value, "Patient", "patient")
    statuses = None
    if params.get("status"):
        statuses = [token(s) for v in params["status"] for s in v.split(",")]
    lo, hi = date_range(params.get("date", []), "date")
    rows, b_total = scheduling_service.bookings_page(
        session=ctx.session,
        user=ctx.user,
        limit=count,
        offset=offset,
        patient_id=patient_id,
        statuses=statuses,
        start_from=lo,
        start_to=hi,
    )
    assert b_total is not None
    entry_statuses = None
    if statuses is not None:
        entry_statuses = [
            state for state, code in scheduling_fhir.WAITLIST_STATUS.items() if code in statuses
        ]
    entries: list[Any] = []
    w_total = 0
    if entry_statuses != []:
        entries, w = scheduling_service.waitlist_page(
            session=ctx.session,
            user=ctx.user,
            limit=count - len(rows),  # 0 when the bookings fill the page: the count only
            offset=max(0, offset - b_total),
            patient_id=patient_id,
            statuses=entry_statuses,
            start_from=lo,
            start_to=hi,
        )
        w_total = w or 0
    total = b_total + w_total
    return Page(
        resources=[scheduling_fhir.appointment_resource(b) for b in rows]
        + [scheduling_fhir.waitlist_appointment_resource(e) for e in entries],
        total=total,
        more=offset + count < total,
    )


def create_appointment(ctx: Context, body: Resource) -> tuple[Resource, bool]:
    """Book the Slot named in `slot` for the Patient among the participants (the REST
    booking path: capacity checked in the database, Idempotency-Key honoured)."""
    slots = body.get("slot") or []
    if len(slots) != 1:
        raise Invalid("an Appointment books exactly one Slot", field="slot")
    slot_id = reference(str(slots[0].get("reference", "")), "Slot", "slot")
    patient_id = None
    for p in body.get("participant", []):
        ref = str((p.get("actor") or {}).get("reference", ""))
        if ref.startswith("Patient/"):
            patient_id = reference(ref, "Patient", "participant")
    reference_type = reference_id = None
    for based in body.get("basedOn", []):
        ref = str(based.get("reference", ""))
        if ref.startswith("ServiceRequest/"):
            found = load(ctx, ref.removeprefix("ServiceRequest/"), "ServiceRequest")
            reference_type = REFERRAL if type(found).__name__ == "Referral" else "consultation"
            reference_id = found.id
    if ctx.session.get(Slot, slot_id) is None:
        raise NotFound(f"Slot/{slot_id} not found")
    booking = scheduling_service.book(
        session=ctx.session,
        slot_id=slot_id,
        by=ctx.user,
        patient_id=patient_id,
        now=ctx.now,
        idempotency_key=ctx.headers.get("idempotency-key"),
        reference_type=reference_type,
        reference_id=reference_id,
    )
    return scheduling_fhir.appointment_resource(booking), True


_START = SearchParam("start", "date", "slot start, eq/ge/gt/le/lt prefixes (Asia/Shanghai)")


HANDLERS: tuple[Handler, ...] = (
    Handler(
        type="Slot",
        documentation="Slots with capacity left for the caller (the family-doctor reserved "
        "share only for those entitled to it).",
        read=read_slot,
        search=search_slots,
        params=(
            _START,
            SearchParam("schedule", "reference", "Schedule/<id>"),
            SearchParam("specialty", "token", "specialty code, e.g. cardiology"),
            SearchParam("service-type", "token", "service class, e.g. outpatient"),
        ),
        includes=(
            Include(
                "Slot:schedule",
                lambda ctx, slots: referenced(ctx, slots, "Schedule", lambda r: [r["schedule"]]),
            ),
        ),
    ),
    Handler(
        type="Schedule",
        documentation="Active weekly schedule rules of specialists and resources.",
        read=read_schedule,
        search=search_schedules,
        params=(
            SearchParam(
                "actor", "reference", "Practitioner/<id>, or Location/<id> or Organization/<id>"
            ),
            SearchParam("specialty", "token", "specialty code"),
            SearchParam("service-type", "token", "service class"),
        ),
    ),
    Handler(
        type="Appointment",
        documentation="Bookings (and, by id, waitlist requests as status waitlist). Search "
        "returns the caller's own bookings.",
        read=read_appointment,
        search=search_appointments,
        params=(
            SearchParam("patient", "reference", "Patient/<id>"),
            SearchParam("date", "date", "appointment start, eq/ge/gt/le/lt prefixes"),
            SearchParam("status", "token", "Appointment status(es), comma-separated"),
        ),
        includes=(
            Include(
                "Appointment:patient",
                lambda ctx, appointments: referenced(
                    ctx,
                    appointments,
                    "Patient",
                    lambda r: [p.get("actor", {}) for p in r.get("participant", [])],
                ),
            ),
        ),
        create=create_appointment,
    ),
)
