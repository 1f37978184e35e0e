"""Routes of scheduling: slots, holds, bookings, schedules, holidays, waitlist, exports."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from pydantic import TypeAdapter
from sqlmodel import Session

from scheduling import full_slots, service
from scheduling.holidays import Calendar
from scheduling.horizon import expire_holds, materialize
from scheduling.ics import booking_ics
from scheduling.models import Booking, Holiday, ScheduleRule
from scheduling.schemas import (
    BookingCreate,
    BookingListItem,
    BookingPublic,
    CancelRequest,
    DayPublic,
    ExceptionCreate,
    ExceptionPublic,
    HoldCreate,
    HolidayCreate,
    HorizonPublic,
    RescheduleRequest,
    RuleCreate,
    RulePublic,
    RuleUpdate,
    SlotView,
    WaitlistCreate,
    WaitlistPublic,
)
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Conflict, Forbidden, Invalid
from telemed.core.pagination import OffsetQuery
from telemed.core.settings import get_settings
from telemed.identity.deps import CurrentUser, StaffUser
from telemed.identity.models import Role

router = APIRouter(prefix="/api/v1", tags=["scheduling"])
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
FHIR_JSON = "application/fhir+json"


_SLOT_LIST = TypeAdapter(list[SlotView])


@router.get("/slots", response_model=list[SlotView])
def search_slots(
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    specialty: str | None = None,
    service_class: str | None = None,
    institution_id: uuid.UUID | None = None,
    tier: str | None = None,
    league: str | None = None,
    alliance_id: uuid.UUID | None = None,
    specialist_id: uuid.UUID | None = None,
    title: str | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: OffsetQuery = 0,
    patient_id: uuid.UUID | None = None,
) -> Response:
    """Free slots across the network, earliest first; with `patient_id`, only those at
    times that patient is free."""
    views = service.search_slots(
        session=session,
        viewer=user,
        now=now,
        specialty=specialty,
        service_class=service_class,
        institution_id=institution_id,
        tier=tier,
        league=league,
        alliance_id=alliance_id,
        specialist_id=specialist_id,
        title=title,
        start_from=start_from,
        start_to=start_to,
        limit=limit,
        offset=offset,
        patient_id=patient_id,
    )
    # Serialized once here (the hot path): no second validation pass by FastAPI.
    return Response(_SLOT_LIST.dump_json(views), media_type="application/json")


def _remember_full(settings: Any, slot_id: uuid.UUID | None, exc: Conflict) -> None:
    """A slot refused 409 slot_full is remembered by this worker for a short time (the
    admission middleware answers the next unkeyed attempts: `scheduling.full_slots`)."""
    if isinstance(exc, full_slots.SlotFull) and exc.for_everyone and slot_id is not None:
        full_slots.remember(slot_id, settings.scheduling.full_slot_memory_seconds)


@router.post("/slots/{slot_id}/hold", response_model=BookingPublic, status_code=201)
def hold_slot(
    slot_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    now: NowDep,
    idempotency_key: IdempotencyKey = None,
    body: HoldCreate | None = None,
) -> Booking:
    """Hold one place for a few minutes while the booking flow completes (admitted by the
    booking routes' admission middleware, `telemed.core.admission`)."""
    try:
        hold = service.hold_slot(
            session=session,
            slot_id=slot_id,
            by=user,
            patient_id=body.patient_id if body else None,
            now=now,
            idempotency_key=idempotency_key,
            atomic=False,  # the request's transaction is the unit
        )
    except Conflict as exc:
        _remember_full(settings, slot_id, exc)
        raise
    return _committed(session, hold)


@router.post("/bookings", response_model=BookingPublic, status_code=201)
def create_booking(
    body: BookingCreate,
    session: SessionDep,
    settings: SettingsDep,
    user: CurrentUser,
    now: NowDep,
    idempotency_key: IdempotencyKey = None,
) -> Booking:
    """Book from a hold or straight from a slot (admitted by the booking routes' admission
    middleware, `telemed.core.admission`)."""
    try:
        booking = service.book(
            session=session,
            slot_id=body.slot_id,
            by=user,
            patient_id=body.patient_id,
            now=now,
            idempotency_key=idempotency_key,
            reference_type=body.reference_type,
            reference_id=body.reference_id,
            hold_id=body.hold_id,
            atomic=False,  # the request's transaction is the unit
        )
    except Conflict as exc:
        _remember_full(settings, None if body.hold_id else body.slot_id, exc)
        raise
    return _committed(session, booking)


def _committed(session: Session, booking: Booking) -> Booking:
    """Commit in the handler's own thread, right after the place was taken: the slot's row
    lock is then held for the commit only, not also while the request waits for another
    worker thread to run the session's end (which a booking rush makes long)."""
    session.commit()
    return booking


@router.get("/bookings", response_model=list[BookingListItem])
def my_bookings(
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: OffsetQuery = 0,
) -> list[BookingListItem]:
    """The caller's bookings (as booker or patient), newest first, each with its doctor,
    specialty, hospital and fee (one statement)."""
    return service.appointments_for(session=session, user=user, limit=limit, offset=offset)


@router.get("/bookings/{booking_id}.ics")
def booking_calendar(
    booking_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> Response:
    """The booking as an iCalendar file."""
    booking = service.read_booking(session=session, user=user, booking_id=booking_id, what="ics")
    slot = service.slot_of(session=session, booking=booking)
    return Response(
        booking_ics(
            booking,
            slot,
            now=now,
            language=service.patient_language(session=session, booking=booking),
        ),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"'},
    )


@router.get("/bookings/{booking_id}", response_model=BookingPublic)
def get_booking(booking_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Booking:
    return service.read_booking(session=session, user=user, booking_id=booking_id)


@router.post("/bookings/{booking_id}/cancel", response_model=BookingPublic)
def cancel_booking(
    booking_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    body: CancelRequest | None = None,
) -> Booking:
    """Cancel (patients: up to the configured time before the start)."""
    return service.cancel_booking(
        session=session, booking_id=booking_id, by=user, now=now, reason=body.reason if body else ""
    )


@router.post("/bookings/{booking_id}/reschedule", response_model=BookingPublic, status_code=201)
def reschedule_booking(
    booking_id: uuid.UUID,
    body: RescheduleRequest,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    idempotency_key: IdempotencyKey = None,
) -> Booking:
    """Move a booking to another slot; answers the new booking."""
    return service.reschedule(
        session=session,
        booking_id=booking_id,
        new_slot_id=body.slot_id,
        by=user,
        now=now,
        reason=body.reason,
        idempotency_key=idempotency_key,
    )


def _mark(action: str) -> Any:
    def handler(
        booking_id: uuid.UUID, session: SessionDep, user: StaffUser, now: NowDep
    ) -> Booking:
        return service.mark(session=session, booking_id=booking_id, action=action, by=user, now=now)

    handler.__doc__ = f"Record `{action}` for a booking (staff running the slot)."
    return handler


router.post("/bookings/{booking_id}/arrive", response_model=BookingPublic)(_mark("arrive"))
router.post("/bookings/{booking_id}/noshow", response_model=BookingPublic)(_mark("noshow"))
router.post("/bookings/{booking_id}/fulfil", response_model=BookingPublic)(_mark("fulfil"))


# ------------------------------------------------------------ schedules


@router.get("/schedules", response_model=list[RulePublic])
def list_schedules(
    session: SessionDep,
    user: CurrentUser,
    institution_id: uuid.UUID | None = None,
    specialist_id: uuid.UUID | None = None,
) -> list[ScheduleRule]:
    return service.list_rules(
        session=session, institution_id=institution_id, specialist_id=specialist_id
    )


@router.post("/schedules", response_model=RulePublic, status_code=201)
def create_schedule(
    body: RuleCreate, session: SessionDep, user: StaffUser, now: NowDep
) -> ScheduleRule:
    """Create a weekly rule (coordinators of the hospital); its slots are materialized."""
    return service.create_rule(session=session, data=body, by=user, now=now)


@router.get("/schedules/{rule_id}", response_model=RulePublic)
def get_schedule(rule_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> ScheduleRule:
    return service.get_rule(session=session, rule_id=rule_id)


@router.patch("/schedules/{rule_id}", response_model=RulePublic)
def update_schedule(
    rule_id: uuid.UUID, body: RuleUpdate, session: SessionDep, user: StaffUser, now: NowDep
) -> ScheduleRule:
    """Change a rule; bookings on removed slots are flagged for rescheduling."""
    rule, _ = service.update_rule(session=session, rule_id=rule_id, data=body, by=user, now=now)
    return rule


@router.delete("/schedules/{rule_id}", response_model=RulePublic)
def deactivate_schedule(
    rule_id: uuid.UUID, session: SessionDep, user: StaffUser, now: NowDep
) -> ScheduleRule:
    """Deactivate a rule (kept for history); its free future slots go, booked ones are flagged."""
    rule, _ = service.update_rule(
        session=session, rule_id=rule_id, data=RuleUpdate(active=False), by=user, now=now
    )
    return rule


@router.post("/schedules/exceptions", response_model=ExceptionPublic, status_code=201)
def add_exception(body: ExceptionCreate, session: SessionDep, user: StaffUser, now: NowDep) -> Any:
    """Leave or an extra session."""
    ex, _ = service.add_exception(session=session, data=body, by=user, now=now)
    return ex


@router.post("/schedules/materialize", response_model=HorizonPublic)
def run_horizon(session: SessionDep, user: StaffUser, now: NowDep) -> HorizonPublic:
    """Run the rolling-horizon job now (admins, coordinators); safe to repeat."""
    if user.role not in (Role.ADMIN, Role.COORDINATOR):
        raise Forbidden("only coordinators and admins run the horizon job")
    expire_holds(session=session, now=now)
    r = materialize(session=session, now=now, horizon_days=get_settings().scheduling.horizon_days)
    return HorizonPublic(**r.__dict__)


@router.get("/holidays", response_model=list[DayPublic])
def list_holidays(
    session: SessionDep, user: CurrentUser, start: date, end: date
) -> list[DayPublic]:
    """Days off and adjusted working days (调休) between two dates, named in the caller's
    language (`code`: the built-in holiday's code; "" for a day an operator entered)."""
    if (end - start).days > 800:
        raise Invalid("at most 800 days at a time", field="end")
    cal = Calendar.load(session=session, start=start, end=end)
    out = []
    day = start
    while day <= end:
        kind, code, name = cal.day(day, user.language)
        if kind in ("holiday", "adjusted_workday"):
            out.append(DayPublic(day=day, kind=kind, code=code, name=name))
        day += timedelta(days=1)
    return out


@router.post("/holidays", response_model=DayPublic, status_code=201)
def put_holiday(body: HolidayCreate, session: SessionDep, user: StaffUser) -> DayPublic:
    """Add or correct a calendar day (admins), e.g. the next year's notice."""
    if user.role != Role.ADMIN:
        raise Forbidden("only admins maintain the holiday calendar")
    row = session.get(Holiday, body.day) or Holiday(day=body.day, kind=body.kind)
    row.kind, row.name, row.source = body.kind, body.name, body.source
    session.add(row)
    session.flush()
    kind, code, name = Calendar({row.day: row}).day(row.day, user.language)
    return DayPublic(day=row.day, kind=kind, code=code, name=name)


# ------------------------------------------------------------ waitlist


@router.post("/waitlist", response_model=WaitlistPublic, status_code=201)
def join_waitlist(body: WaitlistCreate, session: SessionDep, user: CurrentUser, now: NowDep) -> Any:
    """Wait for a slot; a cancellation offers it to the first in line as a hold."""
    return service.join_waitlist(session=session, data=body, by=user, now=now)


@router.get("/waitlist", response_model=list[WaitlistPublic])
def my_waitlist(
    session: SessionDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: OffsetQuery = 0,
) -> Any:
    """The caller's waitlist requests (made by them or for them), newest first."""
    return service.waitlist_for(session=session, user=user, limit=limit, offset=offset)


@router.get("/waitlist/{entry_id}", response_model=WaitlistPublic)
def waitlist_entry(entry_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    return service.read_waitlist_entry(session=session, user=user, entry_id=entry_id)


@router.post("/waitlist/{entry_id}/cancel", response_model=WaitlistPublic)
def leave_waitlist(entry_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep) -> Any:
    """Withdraw the request (409 when it has ended); a place offered to it goes to the next."""
    return service.leave_waitlist(session=session, entry_id=entry_id, by=user, now=now)
