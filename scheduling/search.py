"""Slot search across the network, with the capacity the viewer may use."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, case, text
from sqlmodel import Session, col, select

from scheduling.eligibility import _eligible
from scheduling.models import Slot
from scheduling.schemas import SlotView
from telemed.core.db import UTCDateTime
from telemed.core.errors import Invalid
from telemed.identity.models import Role, User
from telemed.network.models import AllianceMember


def viewer_eligible(*, session: Session, viewer: User | None) -> bool:
    """Whether reserved places count for this viewer in search results."""
    if viewer is None:
        return False
    if viewer.role == Role.FAMILY_DOCTOR:
        return True
    return _eligible(session, viewer, viewer.patient_id)


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
) -> list[SlotView]:
    """Free slots across the network, earliest first, with the capacity the viewer may use."""
    if start_from is not None and start_to is not None and start_to < start_from:
        raise Invalid("start_to must not be before start_from", field="start_to")
    eligible = viewer_eligible(session=session, viewer=viewer)
    filters = {
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
    }
    present = tuple(k for k, v in filters.items() if v is not None and v != "")
    params: dict[str, Any] = {k: filters[k] for k in present}
    params.update(
        now=now,
        lower=max(now, start_from) if start_from is not None else now,
        limit=limit,
        offset=offset,
    )
    stmt = _search_statement(eligible, present)
    fields = list(SlotView.model_fields)
    return [
        SlotView.model_construct(**dict(zip(fields, row, strict=True)))
        for row in session.execute(stmt, params).all()
    ]


@lru_cache(maxsize=256)
def _search_statement(eligible: bool, present: tuple[str, ...]) -> Any:
    """The search query for one combination of filters, built once (hot path)."""
    now = bindparam("now", type_=UTCDateTime())
    if eligible:
        remaining: Any = Slot.capacity - Slot.booked
    else:
        remaining = case(
            (col(Slot.release_at) <= now, Slot.capacity - Slot.booked),
            else_=Slot.capacity - Slot.reserved - (Slot.booked - Slot.reserved_booked),
        )
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
        else:
            column = getattr(Slot, name)
            stmt = stmt.where(column == bindparam(name, type_=column.type))
    return (
        stmt.order_by(col(Slot.start_at), col(Slot.id))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
