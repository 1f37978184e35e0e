"""Home sick beds (家庭病床): admission, planned visits, discharge, the beds due a visit."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from referrals.family.changes import record_change
from referrals.family.home_visits import contracted_team, require_team_staff
from referrals.family.models import HomeBedVisit, HomeSickBed, HomeVisitRequest
from referrals.family.states import HOME_BED, HOME_VISIT, next_or
from referrals.family.teams import is_member
from telemed.core import audit
from telemed.core.clock import as_utc, to_shanghai
from telemed.core.errors import Conflict, Invalid
from telemed.identity import permissions
from telemed.identity.models import Role, User


def admit_home_bed(
    *,
    session: Session,
    patient_id: uuid.UUID,
    by: User,
    now: datetime,
    diagnosis_code: str,
    reason: str,
    visit_interval_days: int,
    planned_services: list[str],
) -> HomeSickBed:
    """Admit a contracted resident to a home sick bed with a visit plan."""
    permissions.require_patient_read(session, by, patient_id)  # 404 to outsiders
    team_id = contracted_team(session, patient_id)
    require_team_staff(session, by, team_id)
    open_bed = session.execute(
        select(HomeSickBed.id).where(
            HomeSickBed.patient_id == patient_id, HomeSickBed.status == "admitted"
        )
    ).first()
    if open_bed is not None:
        raise Conflict("the resident has a home sick bed already", code="home_bed_open")
    bed = HomeSickBed(
        patient_id=patient_id,
        team_id=team_id,
        diagnosis_code=diagnosis_code,
        reason=reason,
        visit_interval_days=visit_interval_days,
        planned_services=planned_services,
        admitted_at=now,
        admitted_by_id=by.id,
    )
    session.add(bed)
    session.flush()
    record_change(session, by, "admit", bed, now=now)
    return bed


def get_bed(*, session: Session, bed_id: uuid.UUID, user: User) -> HomeSickBed:
    bed = session.get(HomeSickBed, bed_id)
    visible = bed is not None and (
        user.role == Role.ADMIN
        or (user.role == Role.PATIENT and user.patient_id == bed.patient_id)
        or is_member(session=session, user=user, team_id=bed.team_id)
    )
    return audit.visible_or_404(
        session,
        user,
        bed,
        visible=visible,
        object_type="home_bed",
        ident=bed_id,
        label="home sick bed",
        reason="neither the patient nor a member of the bed's team",
    )


def carried_out_by(req: HomeVisitRequest, at: datetime) -> bool:
    """Whether a bed visit at `at` may be the scheduled home visit `req`: one scheduled for
    the same Beijing day or an earlier one (late), never one of a later day."""
    if req.scheduled_at is None:
        return True
    return to_shanghai(as_utc(req.scheduled_at)).date() <= to_shanghai(as_utc(at)).date()


def record_bed_visit(
    *,
    session: Session,
    bed: HomeSickBed,
    by: User,
    now: datetime,
    notes: str,
    vitals: dict[str, Any],
    home_visit_id: uuid.UUID | None = None,
) -> HomeBedVisit:
    """Record a visit of the bed; with `home_visit_id` the scheduled home visit of the same
    resident and team it carried out is marked done in the same transaction."""
    require_team_staff(session, by, bed.team_id)
    next_or(
        HOME_BED,
        bed.status,
        "visit",
        Conflict("the home sick bed is discharged", code="home_bed_discharged"),
    )
    if home_visit_id is not None:
        req = session.get(HomeVisitRequest, home_visit_id, with_for_update=True)
        if req is None or req.patient_id != bed.patient_id or req.team_id != bed.team_id:
            raise Invalid("not a home visit of this resident", field="home_visit_id")
        target = next_or(
            HOME_VISIT,
            req.status,
            "done",
            Conflict(f"home visit is {req.status}", code="not_scheduled"),
        )
        if not carried_out_by(req, now):
            raise Conflict(
                "the home visit is scheduled for a later day than this visit",
                code="home_visit_not_due",
                scheduled_at=as_utc(req.scheduled_at).isoformat() if req.scheduled_at else None,
            )
        req.status = target
        req.done_at = now
        record_change(session, by, "done", req, now=now, detail={"home_bed_id": str(bed.id)})
    visit = HomeBedVisit(bed_id=bed.id, visited_at=now, by_id=by.id, notes=notes, vitals=vitals)
    session.add(visit)
    session.flush()
    record_change(session, by, "visit", bed, now=now, detail={"visit_id": str(visit.id)})
    return visit


def discharge_bed(
    *, session: Session, bed: HomeSickBed, by: User, now: datetime, summary: str
) -> HomeSickBed:
    require_team_staff(session, by, bed.team_id)
    target = next_or(
        HOME_BED,
        bed.status,
        "discharge",
        Conflict("the home sick bed is discharged already", code="home_bed_discharged"),
    )
    if not summary.strip():
        raise Invalid("a discharge summary is required", field="summary")
    bed.status = target
    bed.discharged_at = now
    bed.discharge_summary = summary
    session.flush()
    record_change(session, by, "discharge", bed, now=now)
    return bed


def visits_by_bed(
    *, session: Session, bed_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[HomeBedVisit]]:
    """The visits of each bed, oldest first, in one query."""
    ids = list(dict.fromkeys(bed_ids))
    out: dict[uuid.UUID, list[HomeBedVisit]] = {i: [] for i in ids}
    if ids:
        for v in session.execute(
            select(HomeBedVisit)
            .where(col(HomeBedVisit.bed_id).in_(ids))
            .order_by(col(HomeBedVisit.visited_at))
        ).scalars():
            out[v.bed_id].append(v)
    return out


def beds_of_team(
    *, session: Session, team_id: uuid.UUID, status: str | None = None
) -> list[HomeSickBed]:
    """The team's home sick beds (admitted or discharged), newest admission first."""
    stmt = select(HomeSickBed).where(HomeSickBed.team_id == team_id)
    if status is not None:
        stmt = stmt.where(HomeSickBed.status == status)
    return list(
        session.execute(
            stmt.order_by(col(HomeSickBed.admitted_at).desc(), col(HomeSickBed.id))
        ).scalars()
    )


def next_visit_due(bed: HomeSickBed, visits: list[HomeBedVisit]) -> datetime | None:
    """When the next planned visit of an admitted bed is due (its last visit of `visits`, or
    its admission, plus the interval); None once discharged."""
    if bed.status != "admitted":
        return None
    last = max((as_utc(v.visited_at) for v in visits), default=None)
    base = last if last is not None else as_utc(bed.admitted_at)
    return base + timedelta(days=bed.visit_interval_days)


def beds_due(
    *, session: Session, team_id: uuid.UUID, now: datetime
) -> list[tuple[HomeSickBed, datetime]]:
    """Admitted beds of the team with the date their next planned visit is due."""
    last = (
        select(HomeBedVisit.bed_id, func.max(HomeBedVisit.visited_at).label("last"))
        .group_by(col(HomeBedVisit.bed_id))
        .subquery()
    )
    rows = session.execute(
        select(HomeSickBed, last.c.last)
        .outerjoin(last, last.c.bed_id == HomeSickBed.id)
        .where(HomeSickBed.team_id == team_id, HomeSickBed.status == "admitted")
    ).all()
    out = []
    for bed, last_at in rows:
        base = as_utc(last_at) if last_at is not None else bed.admitted_at
        due = base + timedelta(days=bed.visit_interval_days)
        if due <= now + timedelta(days=1):
            out.append((bed, due))
    return sorted(out, key=lambda x: x[1])
