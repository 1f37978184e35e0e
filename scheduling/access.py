"""Finding slots and bookings, showing them only to who may see them, and their audit rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol, TypedDict, TypeVar, cast

from sqlalchemy import func
from sqlmodel import Session, col, select

from scheduling.models import Booking, Slot, WaitlistEntry
from scheduling.policy import can_see_booking
from telemed.core import audit
from telemed.core.db import get_or_404
from telemed.identity.models import User

__all__ = [
    "PageQuery",
    "get_booking",
    "get_slot",
    "own_page",
    "read_booking",
    "record_change",
    "shown",
    "slot_of",
    "visible_booking",
]


class _OfPatient(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def patient_id(self) -> uuid.UUID | None: ...


_O = TypeVar("_O", bound=_OfPatient)
_Own = TypeVar("_Own", Booking, WaitlistEntry)


class PageQuery(TypedDict, total=False):
    """How a list of the caller's own rows is cut and narrowed (defaults in `own_page`)."""

    limit: int
    offset: int
    patient_id: uuid.UUID | None
    statuses: list[str] | None
    start_from: datetime | None  # the row's start in [start_from, start_to)
    start_to: datetime | None
    count: bool  # also the total (one more query)


def get_slot(*, session: Session, slot_id: uuid.UUID) -> Slot:
    """A slot by id; 404 when there is none."""
    slot = get_or_404(session, Slot, slot_id, "slot")
    return slot


def get_booking(*, session: Session, booking_id: uuid.UUID) -> Booking:
    """A booking by id (no authorization: callers decide who may see it)."""
    booking = get_or_404(session, Booking, booking_id, "booking")
    return booking


def slot_of(*, session: Session, booking: Booking) -> Slot:
    """The slot of a booking."""
    return get_slot(session=session, slot_id=booking.slot_id)


def shown(
    session: Session, user: User, obj: _O, *, object_type: str, what: str | None = None
) -> _O:
    """`obj` (a booking, a waitlist request), its read by `user` audited with its patient."""
    audit.read(
        session,
        user,
        object_type=object_type,
        object_id=obj.id,
        patient_ids=[obj.patient_id],
        what=what,
    )
    return obj


def visible_booking(*, session: Session, user: User, booking_id: uuid.UUID) -> Booking:
    """A booking the user may see; 404 otherwise (no existence leak)."""
    booking = session.get(Booking, booking_id)
    return audit.visible_or_404(
        session,
        user,
        booking,
        visible=booking is not None
        and can_see_booking(session=session, user=user, booking=booking),
        object_type="booking",
        ident=booking_id,
        reason="neither booker, patient, specialist nor staff of the slot's institution",
    )


def read_booking(
    *, session: Session, user: User, booking_id: uuid.UUID, what: str | None = None
) -> Booking:
    """A booking the user may see, for display; the read audited (`what`: ics, fhir ...)."""
    booking = visible_booking(session=session, user=user, booking_id=booking_id)
    return shown(session, user, booking, object_type="booking", what=what)


def record_change(
    session: Session,
    by: User | None,
    action: str,
    obj: Booking | WaitlistEntry,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit row of a change of a booking (or a waitlist request), naming its patient."""
    audit.record(
        session=session,
        by=by,
        actor_role=None if by else "system",
        action=action,
        object_type="booking" if isinstance(obj, Booking) else "waitlist",
        object_id=obj.id,
        patient_id=obj.patient_id,
        detail={"status": obj.status, **(detail or {})},
        at=now,
    )


class _Collected:
    """Stands in for the session `audit.record` adds its rows to: they are then written by
    the booking's one statement (`scheduling.placement`) instead of a flush of their own."""

    def __init__(self) -> None:
        self.rows: list[Any] = []

    def add(self, obj: Any) -> None:
        self.rows.append(obj)

    def add_all(self, objs: Any) -> None:
        self.rows.extend(objs)


def change_rows(by: User, action: str, obj: Booking, *, now: datetime) -> list[Any]:
    """The audit rows `record_change` would add (event first, then its patient link)."""
    collected = _Collected()
    record_change(cast(Session, collected), by, action, obj, now=now)
    return collected.rows


def own_page(
    session: Session, user: User, model: type[_Own], mine: Any, order: Any, query: PageQuery
) -> tuple[list[_Own], int | None]:
    """One page of the `model` rows that are the user's (`mine`), in `order`, narrowed by
    `query`; with the total when `query["count"]` (default). The read audited."""
    stmt = select(model).where(mine)
    if (patient_id := query.get("patient_id")) is not None:
        stmt = stmt.where(col(model.patient_id) == patient_id)
    if (statuses := query.get("statuses")) is not None:
        stmt = stmt.where(col(model.status).in_(statuses))
    if (start_from := query.get("start_from")) is not None:
        stmt = stmt.where(col(model.start_at) >= start_from)
    if (start_to := query.get("start_to")) is not None:
        stmt = stmt.where(col(model.start_at) < start_to)
    total = (
        int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
        if query.get("count", True)
        else None
    )
    stmt = stmt.order_by(*order).limit(query.get("limit", 50)).offset(query.get("offset", 0))
    rows = list(session.execute(stmt).scalars())
    audit.read(
        session,
        user,
        object_type="booking" if model is Booking else "waitlist",
        patient_ids=[r.patient_id for r in rows],
        object_ids=[r.id for r in rows],
    )
    return rows, total
