"""Who may do what with bookings: see, manage, book for a patient, book online at all."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from scheduling.models import Booking, BookingStatus
from telemed.core.db import get_or_404
from telemed.core.errors import Forbidden
from telemed.core.settings import SchedulingSettings, get_settings
from telemed.identity.models import Patient, Role, User
from telemed.identity.permissions import can_act_for_patient

__all__ = [
    "NOSHOW_WINDOW_DAYS",
    "PATIENT_SERVICE_CLASSES",
    "can_see_booking",
    "check_noshow_policy",
    "may_manage",
    "resolve_patient",
    "settings",
]

PATIENT_SERVICE_CLASSES = {"outpatient", "home_visit", "training"}
NOSHOW_WINDOW_DAYS = 180


def settings() -> SchedulingSettings:
    """The scheduling settings in force."""
    return get_settings().scheduling


def can_see_booking(*, session: Session, user: User, booking: Booking) -> bool:
    """Booker, the patient, the specialist, staff of the slot's institution, admins."""
    if user.role == Role.ADMIN or user.id in (booking.booked_by_id, booking.specialist_id):
        return True
    if user.role == Role.PATIENT:
        return booking.patient_id is not None and user.patient_id == booking.patient_id
    return (
        user.role == Role.COORDINATOR
        and user.institution_id == booking.institution_id
        or (user.institution_id == booking.institution_id and user.role == Role.SPECIALIST)
    )


def may_manage(session: Session, user: User, booking: Booking) -> bool:
    """Staff who run the slot: its specialist, coordinators of its institution, admins."""
    if user.role == Role.ADMIN or user.id == booking.specialist_id:
        return True
    return user.role in (Role.COORDINATOR, Role.SPECIALIST, Role.COUNTY_DOCTOR) and (
        user.institution_id == booking.institution_id
    )


def resolve_patient(session: Session, by: User, patient_id: uuid.UUID | None) -> uuid.UUID | None:
    """Who the booking is for, refusing what the booker may not do (403/404)."""
    if by.role == Role.PATIENT:
        if patient_id is not None and patient_id != by.patient_id:
            raise Forbidden("patients book only for themselves", code="not_your_patient")
        return by.patient_id
    if patient_id is None:
        return None
    patient = get_or_404(session, Patient, patient_id, "patient")
    if not can_act_for_patient(session, by, patient):
        raise Forbidden(
            "your role does not allow booking for this patient", code="not_your_patient"
        )
    return patient_id


def check_noshow_policy(
    session: Session,
    by: User,
    patient_id: uuid.UUID | None,
    now: datetime,
    *,
    count: int | None = None,
) -> None:
    """Refuse online booking by a patient who missed too many appointments lately.
    `count`: the patient's no-shows in the window, already read (the booking path folds
    the count into its first statement); else it is counted here."""
    if by.role != Role.PATIENT or patient_id is None:
        return
    limit = settings().noshow_limit
    if not limit:
        return
    if count is not None:
        _refuse_over(count, limit)
        return
    count = session.execute(
        select(func.count())
        .select_from(Booking)
        .where(
            Booking.patient_id == patient_id,
            Booking.status == BookingStatus.NOSHOW,
            col(Booking.start_at) > now - timedelta(days=NOSHOW_WINDOW_DAYS),
        )
    ).scalar_one()
    _refuse_over(count, limit)


def _refuse_over(count: int, limit: int) -> None:
    if count >= limit:
        raise Forbidden(
            f"{count} missed appointments in {NOSHOW_WINDOW_DAYS} days: online booking is "
            "suspended; please book through your doctor",
            code="noshow_limit",
        )
