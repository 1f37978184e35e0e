"""Reports of scheduling: slots offered and their use per hospital, specialty and week, and
each specialist's load in one week. One GROUP BY per figure; the network dashboard reads
them (`telemed.dashboard.utilization`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from scheduling.models import Booking, BookingStatus, Slot
from telemed.core.db import local_week

# A place counts as booked once confirmed, whatever happened after (attended or not);
# holds (pending) and cancelled bookings do not.
BOOKED_STATUSES = (
    BookingStatus.BOOKED,
    BookingStatus.ARRIVED,
    BookingStatus.FULFILLED,
    BookingStatus.NOSHOW,
)
USED_STATUSES = (BookingStatus.ARRIVED, BookingStatus.FULFILLED)

Key = tuple[uuid.UUID, str, date]  # institution, specialty, Monday of the ISO week


@dataclass
class SlotUse:
    """Places offered and what became of them, in one group."""

    offered: int = 0
    booked: int = 0
    used: int = 0
    noshows: int = 0


def _window(since: datetime, until: datetime, scope: Any | None) -> list[Any]:
    conds: list[Any] = [
        col(Slot.status) == "active",
        col(Slot.start_at) >= since,
        col(Slot.start_at) < until,
    ]
    if scope is not None:
        conds.append(col(Slot.institution_id).in_(scope))
    return conds


def slot_use(
    *, session: Session, since: datetime, until: datetime, tz: str, scope: Any | None = None
) -> dict[Key, SlotUse]:
    """Per hospital, specialty and ISO week (in `tz`) of the slot's start, over active slots
    starting in [since, until): places offered (sum of capacities), booked, used (arrived or
    fulfilled) and no-shows. `scope`: a SELECT of institution ids to keep."""
    week = local_week(session, col(Slot.start_at), tz)
    keys = [col(Slot.institution_id), col(Slot.specialty_code), week]
    out: dict[Key, SlotUse] = {}
    for inst, spec, monday, offered in session.execute(
        select(*keys, func.sum(Slot.capacity)).where(*_window(since, until, scope)).group_by(*keys)
    ).all():
        out[(inst, spec, monday)] = SlotUse(offered=int(offered or 0))

    def n(statuses: tuple[str, ...]) -> Any:
        return func.count().filter(col(Booking.status).in_(statuses))

    for inst, spec, monday, booked, used, noshows in session.execute(
        select(*keys, n(BOOKED_STATUSES), n(USED_STATUSES), n((BookingStatus.NOSHOW,)))
        .select_from(Booking)
        .join(Slot, col(Slot.id) == Booking.slot_id)
        .where(*_window(since, until, scope))
        .group_by(*keys)
    ).all():
        use = out.setdefault((inst, spec, monday), SlotUse())
        use.booked, use.used, use.noshows = int(booked), int(used), int(noshows)
    return out


def specialist_load(
    *, session: Session, since: datetime, until: datetime, scope: Any | None = None
) -> dict[uuid.UUID, SlotUse]:
    """Per specialist: places offered and booked in their active slots starting in
    [since, until) (used and no-shows too); slots of resources without a specialist left out."""
    conds = [*_window(since, until, scope), col(Slot.specialist_id).is_not(None)]
    out: dict[uuid.UUID, SlotUse] = {}
    for spec_id, offered in session.execute(
        select(col(Slot.specialist_id), func.sum(Slot.capacity))
        .where(*conds)
        .group_by(col(Slot.specialist_id))
    ).all():
        out[spec_id] = SlotUse(offered=int(offered or 0))

    def n(statuses: tuple[str, ...]) -> Any:
        return func.count().filter(col(Booking.status).in_(statuses))

    for spec_id, booked, used, noshows in session.execute(
        select(
            col(Slot.specialist_id),
            n(BOOKED_STATUSES),
            n(USED_STATUSES),
            n((BookingStatus.NOSHOW,)),
        )
        .select_from(Booking)
        .join(Slot, col(Slot.id) == Booking.slot_id)
        .where(*conds)
        .group_by(col(Slot.specialist_id))
    ).all():
        use = out.setdefault(spec_id, SlotUse())
        use.booked, use.used, use.noshows = int(booked), int(used), int(noshows)
    return out
