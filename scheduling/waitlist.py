"""The waitlist: requests waiting for a place; a freed place is offered as a hold."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Unpack

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from scheduling.access import PageQuery, own_page, record_change, shown
from scheduling.models import Booking, BookingStatus, Slot, WaitlistEntry
from scheduling.notices import notify
from scheduling.places import cancel_place, reserve, take_place
from scheduling.policy import resolve_patient
from scheduling.schemas import WaitlistCreate
from scheduling.states import WAITLIST
from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.identity.models import User

__all__ = [
    "WAITLIST_OFFER_MINUTES",
    "join_waitlist",
    "leave_waitlist",
    "offer_freed",
    "offer_waitlist",
    "read_waitlist_entry",
    "visible_waitlist_entry",
    "waitlist_for",
    "waitlist_page",
]

WAITLIST_OFFER_MINUTES = 120


def join_waitlist(
    *, session: Session, data: WaitlistCreate, by: User, now: datetime
) -> WaitlistEntry:
    """Wait for a slot of a specialty (and institution, class) in a date range."""
    if data.end_at <= now:
        raise Invalid("the range is in the past", field="end_at")
    patient_id = resolve_patient(session, by, data.patient_id)
    entry = WaitlistEntry(
        requested_by_id=by.id,
        patient_id=patient_id,
        specialty_code=data.specialty_code,
        service_class=data.service_class,
        institution_id=data.institution_id,
        start_at=data.start_at,
        end_at=data.end_at,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    record_change(session, by, "create", entry, now=now)
    return entry


def _waitlist_filter(user: User) -> Any:
    mine = col(WaitlistEntry.requested_by_id) == user.id
    if user.patient_id is not None:
        return mine | (col(WaitlistEntry.patient_id) == user.patient_id)
    return mine


def waitlist_for(
    *, session: Session, user: User, limit: int = 50, offset: int = 0
) -> list[WaitlistEntry]:
    """The caller's waitlist requests (made by them or for them as the patient), newest first."""
    return waitlist_page(session=session, user=user, limit=limit, offset=offset, count=False)[0]


def waitlist_page(
    *, session: Session, user: User, **query: Unpack[PageQuery]
) -> tuple[list[WaitlistEntry], int | None]:
    """One page of `waitlist_for`, optionally narrowed (`PageQuery`: the period's start in
    [start_from, start_to)); with the total unless `count=False`. The read audited."""
    order = (col(WaitlistEntry.created_at).desc(), col(WaitlistEntry.id).desc())
    return own_page(session, user, WaitlistEntry, _waitlist_filter(user), order, query)


def visible_waitlist_entry(*, session: Session, user: User, entry_id: uuid.UUID) -> WaitlistEntry:
    """A waitlist request the caller made or is the patient of; 404 otherwise."""
    entry = session.execute(
        select(WaitlistEntry).where(WaitlistEntry.id == entry_id, _waitlist_filter(user))
    ).scalar_one_or_none()
    if entry is not None:
        return entry
    return audit.visible_or_404(
        session,
        user,
        session.get(WaitlistEntry, entry_id),
        visible=False,
        object_type="waitlist",
        ident=entry_id,
        label="waitlist request",
        reason="neither made the request nor is its patient",
    )


def read_waitlist_entry(
    *, session: Session, user: User, entry_id: uuid.UUID, what: str | None = None
) -> WaitlistEntry:
    """A waitlist request the caller may see, for display; the read audited."""
    entry = visible_waitlist_entry(session=session, user=user, entry_id=entry_id)
    return shown(session, user, entry, object_type="waitlist", what=what)


def leave_waitlist(
    *, session: Session, entry_id: uuid.UUID, by: User, now: datetime
) -> WaitlistEntry:
    """Withdraw a waitlist request; a place offered to it is released to the next in line."""
    with session.begin_nested():
        entry = visible_waitlist_entry(session=session, user=by, entry_id=entry_id)
        session.refresh(entry, with_for_update=True)
        if entry.status == "offered" and entry.offered_booking_id is not None:
            hold = session.get(Booking, entry.offered_booking_id)
            if hold is not None and hold.status == BookingStatus.PENDING:
                # cancelling the offered hold ends the request too (see cancel_place)
                _, slot = cancel_place(
                    session=session, booking_id=hold.id, by=by, now=now, reason="left waitlist"
                )
                offer_freed(session=session, slot=slot, now=now)
                session.refresh(entry)
                record_change(session, by, "leave", entry, now=now)
                return entry
        entry.status = WAITLIST.next(entry.status, "leave")
        record_change(session, by, "leave", entry, now=now)
        session.flush()
        return entry


def offer_waitlist(*, session: Session, slot: Slot, now: datetime) -> Booking | None:
    """Offer a freed place to the first matching waiting request, as a hold; notify it."""
    stmt = (
        select(WaitlistEntry)
        .where(
            WaitlistEntry.status == "waiting",
            WaitlistEntry.specialty_code == slot.specialty_code,
            col(WaitlistEntry.start_at) <= slot.start_at,
            col(WaitlistEntry.end_at) >= slot.end_at,
            (col(WaitlistEntry.institution_id).is_(None))
            | (col(WaitlistEntry.institution_id) == slot.institution_id),
            (col(WaitlistEntry.service_class).is_(None))
            | (col(WaitlistEntry.service_class) == slot.service_class),
        )
        .order_by(col(WaitlistEntry.created_at), col(WaitlistEntry.id))
        .with_for_update(skip_locked=True)
        .limit(20)
    )
    for entry in session.execute(stmt).scalars().all():
        requester = session.get(User, entry.requested_by_id)
        if requester is None:
            continue
        try:
            with session.begin_nested():
                pending = reserve(
                    session,
                    slot_id=slot.id,
                    by=requester,
                    patient_id=entry.patient_id,
                    now=now,
                    status=BookingStatus.PENDING,
                    hold_minutes=WAITLIST_OFFER_MINUTES,
                )
                hold = take_place(session, pending, now)
                hold.waitlist_entry_id = entry.id
                entry.status = WAITLIST.next(entry.status, "offer")
                entry.offered_booking_id = hold.id
                record_change(session, None, "offer", entry, now=now)
                notify(
                    session,
                    hold,
                    kind="waitlist.offer",
                    now=now,
                    params={"minutes": WAITLIST_OFFER_MINUTES},
                )
                session.flush()
                return hold
        except (Conflict, Forbidden, Invalid, NotFound, IntegrityError):
            continue  # this request cannot take it (overlap, policy): next in line
    return None


def offer_freed(*, session: Session, slot: Slot, now: datetime, places: int = 1) -> None:
    """Offer the places just freed in a slot (still active, in the future) to the waitlist,
    in order, while waiting requests take them."""
    if slot.status != "active" or slot.start_at <= now:
        return
    for _ in range(places):
        if offer_waitlist(session=session, slot=slot, now=now) is None:
            return
