"""Slot search across the network, with the capacity the viewer may use."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, exists, func, or_, text
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from scheduling.appointments import fee_join
from scheduling.eligibility import eligible
from scheduling.models import ACTIVE_STATUSES, Booking, BookingStatus, Slot
from scheduling.schemas import SlotView
from telemed.consultations.models import FeeSchedule
from telemed.core.db import UTCDateTime
from telemed.core.errors import Invalid
from telemed.identity.models import Role, User
from telemed.identity.permissions import require_patient_read
from telemed.network.models import AllianceMember


def viewer_eligible(*, session: Session, viewer: User | None) -> bool:
    """Whether reserved places count for this viewer in search results."""
    if viewer is None:
        return False
    if viewer.role == Role.FAMILY_DOCTOR:
        return True
    return eligible(session, viewer, viewer.patient_id)


def search_slots(
    *,
    session: Session,
    viewer: User | None,
    now: datetime,
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
    limit: int = 20,
    offset: int = 0,
    rule_id: uuid.UUID | None = None,
    patient_id: uuid.UUID | None = None,
) -> list[SlotView]:
    """Free slots across the network, earliest first, with the capacity the viewer may use;
    with `patient_id` (a patient the viewer may see) only those at times the patient has no
    appointment or live hold (a booking there would be refused `person_overlap`)."""
    if patient_id is not None:
        if viewer is None:
            raise Invalid("patient_id needs a signed-in viewer", field="patient_id")
        require_patient_read(session, viewer, patient_id)
    eligible, present, params = _prepare(
        session=session,
        viewer=viewer,
        now=now,
        start_from=start_from,
        filters={
            "specialty_code": specialty,
            "service_class": service_class,
            "institution_id": institution_id,
            "tier": tier,
            "league_code": league,
            "specialist_id": specialist_id,
            "title": title,
            "start_to": start_to,
            "alliance_id": alliance_id,
            "rule_id": rule_id,
            "free_for": patient_id,
        },
    )
    params.update(limit=limit, offset=offset)
    stmt = _search_statement(eligible, present)
    fields = list(SlotView.model_fields)
    return [
        SlotView.model_construct(**dict(zip(fields, row, strict=True)))
        for row in session.execute(stmt, params).all()
    ]


def count_slots(
    *,
    session: Session,
    viewer: User | None,
    now: datetime,
    specialty: str | None = None,
    service_class: str | None = None,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    rule_id: uuid.UUID | None = None,
) -> int:
    """How many slots `search_slots` finds with these filters (one count query)."""
    eligible, present, params = _prepare(
        session=session,
        viewer=viewer,
        now=now,
        start_from=start_from,
        filters={
            "specialty_code": specialty,
            "service_class": service_class,
            "start_to": start_to,
            "rule_id": rule_id,
        },
    )
    return int(session.execute(_count_statement(eligible, present), params).scalar_one())


def _prepare(
    *,
    session: Session,
    viewer: User | None,
    now: datetime,
    start_from: datetime | None,
    filters: dict[str, Any],
) -> tuple[bool, tuple[str, ...], dict[str, Any]]:
    """(viewer eligible, filters present, bound parameters) of a slot search."""
    start_to = filters.get("start_to")
    if start_from is not None and start_to is not None and start_to < start_from:
        raise Invalid("start_to must not be before start_from", field="start_to")
    eligible = viewer_eligible(session=session, viewer=viewer)
    present = tuple(k for k, v in filters.items() if v is not None and v != "")
    params: dict[str, Any] = {k: filters[k] for k in present}
    params.update(now=now, lower=max(now, start_from) if start_from is not None else now)
    return eligible, present, params


def earliest_slots(
    *,
    session: Session,
    viewer: User | None,
    now: datetime,
    specialist_ids: Sequence[uuid.UUID],
    service_class: str | None = None,
) -> dict[uuid.UUID, tuple[uuid.UUID, datetime]]:
    """Each specialist's earliest free slot (id, start) the viewer may use, in one
    statement: a correlated `LIMIT 1` per specialist on the (specialist, start) index.
    Specialists without a free slot are absent."""
    if not specialist_ids:
        return {}
    eligible = viewer_eligible(session=session, viewer=viewer)
    stmt = _earliest_statement(eligible, service_class is not None)
    params: dict[str, Any] = {"now": now, "ids": list(dict.fromkeys(specialist_ids))}
    if service_class is not None:
        params["service_class"] = service_class
    return {sid: (slot_id, start) for sid, slot_id, start in session.execute(stmt, params).all()}


def _remaining_of(slot: Any, eligible: bool) -> Any:
    """Places of `slot` the viewer may use (reserved ones only when eligible or released)."""
    if eligible:
        return slot.capacity - slot.booked
    return case(
        (slot.release_at <= bindparam("now", type_=UTCDateTime()), slot.capacity - slot.booked),
        else_=slot.capacity - slot.reserved - (slot.booked - slot.reserved_booked),
    )


@lru_cache(maxsize=8)
def _earliest_statement(eligible: bool, by_class: bool) -> Any:
    """Earliest free slot per specialist (built once per shape)."""
    inner = aliased(Slot, name="s2")
    first = select(inner.id).where(
        # a literal, as in the search: the partial index stays usable under generic plans
        text("s2.status = 'active'"),
        inner.specialist_id == User.id,
        inner.start_at > bindparam("now", type_=UTCDateTime()),
        _remaining_of(inner, eligible) > 0,
    )
    if by_class:
        first = first.where(inner.service_class == bindparam("service_class"))
    first_id = (
        first.order_by(col(inner.start_at), col(inner.id))
        .limit(1)
        .correlate(User)
        .scalar_subquery()
    )
    picked = select(first_id).where(col(User.id).in_(bindparam("ids", expanding=True)))
    return select(Slot.specialist_id, Slot.id, Slot.start_at).where(col(Slot.id).in_(picked))


@lru_cache(maxsize=256)
def _search_statement(eligible: bool, present: tuple[str, ...]) -> Any:
    """The search query for one combination of filters, built once (hot path), with each
    slot's fee (an outer join on the small, unique fee schedule)."""
    return (
        _filtered(eligible, present)
        .add_columns(FeeSchedule.amount_cents, FeeSchedule.currency)
        .outerjoin(FeeSchedule, fee_join(Slot))
        .order_by(col(Slot.start_at), col(Slot.id))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@lru_cache(maxsize=64)
def _count_statement(eligible: bool, present: tuple[str, ...]) -> Any:
    return select(func.count()).select_from(_filtered(eligible, present).subquery())


def _filtered(eligible: bool, present: tuple[str, ...]) -> Any:
    """The slots a search finds, unordered (its filters for one combination)."""
    remaining = _remaining_of(Slot, eligible)
    stmt = select(  # type: ignore[call-overload]
        Slot.id,
        Slot.institution_id,
        Slot.institution_name,
        Slot.specialist_id,
        Slot.specialist_name,
        Slot.specialty_code,
        Slot.title,
        Slot.service_class,
        Slot.start_at,
        Slot.end_at,
        remaining.label("remaining"),
        Slot.tier,
        Slot.league_code,
        Slot.capacity,
    ).where(
        # A literal, not a bound parameter: the partial search index (WHERE status =
        # 'active') must stay usable when psycopg switches to a prepared, generic plan.
        text("scheduling_slot.status = 'active'"),
        col(Slot.start_at) > bindparam("lower", type_=UTCDateTime()),
        remaining > 0,
    )
    for name in present:
        if name == "start_to":
            stmt = stmt.where(col(Slot.start_at) < bindparam("start_to", type_=UTCDateTime()))
        elif name == "alliance_id":
            members = select(AllianceMember.institution_id).where(
                col(AllianceMember.alliance_id) == bindparam("alliance_id")
            )
            stmt = stmt.where(col(Slot.institution_id).in_(members))
        elif name == "free_for":
            stmt = stmt.where(~exists(_busy()))
        else:
            column = getattr(Slot, name)
            stmt = stmt.where(column == bindparam(name, type_=column.type))
    return stmt


def _busy() -> Any:
    """The person's bookings overlapping the slot: active ones, less holds that have run out
    (the booking path releases those: `places._clear_person_overlap`)."""
    return select(Booking.id).where(
        col(Booking.person_id) == bindparam("free_for"),
        col(Booking.status).in_(ACTIVE_STATUSES),
        col(Booking.start_at) < Slot.end_at,
        col(Booking.end_at) > Slot.start_at,
        or_(
            col(Booking.status) != BookingStatus.PENDING,
            col(Booking.hold_expires_at).is_(None),
            col(Booking.hold_expires_at) > bindparam("now", type_=UTCDateTime()),
        ),
    )
