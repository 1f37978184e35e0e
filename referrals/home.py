"""Home services of a family-doctor team: home sick beds (家庭病床) and home visits (上门服务)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from referrals import booking, contracts
from referrals.models import HomeBedVisit, HomeSickBed, HomeVisitRequest
from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.targets import Access
from telemed.identity import permissions
from telemed.identity.models import Role, User


def _audit(
    session: Session,
    by: User,
    action: str,
    obj: HomeSickBed | HomeVisitRequest,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit row of a change of a home sick bed or home visit, naming its resident."""
    audit.record(
        session=session,
        by=by,
        action=action,
        object_type="home_bed" if isinstance(obj, HomeSickBed) else "home_visit",
        object_id=obj.id,
        patient_id=obj.patient_id,
        detail={"status": obj.status, **(detail or {})},
        at=now,
    )


def _require_team_staff(session: Session, user: User, team_id: uuid.UUID) -> None:
    if not contracts.is_member(session=session, user=user, team_id=team_id):
        raise Forbidden("only members of the resident's team do this", code="not_team_member")


def _contracted_team(session: Session, patient_id: uuid.UUID) -> uuid.UUID:
    contract = contracts.active_contract_for(session=session, patient_id=patient_id)
    if contract is None:
        raise Conflict(
            "home services need an active family-doctor contract", code="no_active_contract"
        )
    return contract.team_id


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
    team_id = _contracted_team(session, patient_id)
    _require_team_staff(session, by, team_id)
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
    _audit(session, by, "admit", bed, now=now)
    return bed


def get_bed(*, session: Session, bed_id: uuid.UUID, user: User) -> HomeSickBed:
    bed = session.get(HomeSickBed, bed_id)
    visible = bed is not None and (
        user.role == Role.ADMIN
        or (user.role == Role.PATIENT and user.patient_id == bed.patient_id)
        or contracts.is_member(session=session, user=user, team_id=bed.team_id)
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
    _require_team_staff(session, by, bed.team_id)
    if bed.status != "admitted":
        raise Conflict("the home sick bed is discharged", code="home_bed_discharged")
    if home_visit_id is not None:
        req = session.get(HomeVisitRequest, home_visit_id, with_for_update=True)
        if req is None or req.patient_id != bed.patient_id or req.team_id != bed.team_id:
            raise Invalid("not a home visit of this resident", field="home_visit_id")
        if req.status != "scheduled":
            raise Conflict(f"home visit is {req.status}", code="not_scheduled")
        req.status = "done"
        req.done_at = now
        _audit(session, by, "done", req, now=now, detail={"home_bed_id": str(bed.id)})
    visit = HomeBedVisit(bed_id=bed.id, visited_at=now, by_id=by.id, notes=notes, vitals=vitals)
    session.add(visit)
    session.flush()
    _audit(session, by, "visit", bed, now=now, detail={"visit_id": str(visit.id)})
    return visit


def discharge_bed(
    *, session: Session, bed: HomeSickBed, by: User, now: datetime, summary: str
) -> HomeSickBed:
    _require_team_staff(session, by, bed.team_id)
    if bed.status != "admitted":
        raise Conflict("the home sick bed is discharged already", code="home_bed_discharged")
    if not summary.strip():
        raise Invalid("a discharge summary is required", field="summary")
    bed.status = "discharged"
    bed.discharged_at = now
    bed.discharge_summary = summary
    session.flush()
    _audit(session, by, "discharge", bed, now=now)
    return bed


def visits_of(*, session: Session, bed_id: uuid.UUID) -> list[HomeBedVisit]:
    return list(
        session.execute(
            select(HomeBedVisit)
            .where(HomeBedVisit.bed_id == bed_id)
            .order_by(col(HomeBedVisit.visited_at))
        ).scalars()
    )


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


def next_visit_due(*, session: Session, bed: HomeSickBed) -> datetime | None:
    """When the next planned visit of an admitted bed is due (last visit or admission plus
    the interval); None once discharged."""
    if bed.status != "admitted":
        return None
    from telemed.core.clock import as_utc

    last = session.execute(
        select(func.max(HomeBedVisit.visited_at)).where(HomeBedVisit.bed_id == bed.id)
    ).scalar_one_or_none()
    base = as_utc(last) if last is not None else as_utc(bed.admitted_at)
    return base + timedelta(days=bed.visit_interval_days)


def home_visits_of_patient(
    *, session: Session, team_id: uuid.UUID, patient_id: uuid.UUID
) -> list[HomeVisitRequest]:
    """The team's home visits of one resident, newest first."""
    return list(
        session.execute(
            select(HomeVisitRequest)
            .where(HomeVisitRequest.team_id == team_id, HomeVisitRequest.patient_id == patient_id)
            .order_by(col(HomeVisitRequest.created_at).desc())
        ).scalars()
    )


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
        from telemed.core.clock import as_utc

        base = as_utc(last_at) if last_at is not None else bed.admitted_at
        due = base + timedelta(days=bed.visit_interval_days)
        if due <= now + timedelta(days=1):
            out.append((bed, due))
    return sorted(out, key=lambda x: x[1])


def request_home_visit(
    *,
    session: Session,
    patient_id: uuid.UUID,
    by: User,
    now: datetime,
    reason: str,
    preferred_date: date | None,
) -> HomeVisitRequest:
    """The resident (in the app) or a team member asks for a home visit."""
    permissions.require_patient_read(session, by, patient_id)  # 404 to outsiders
    team_id = _contracted_team(session, patient_id)
    if by.role == Role.PATIENT:
        if by.patient_id != patient_id:
            raise NotFound(f"patient {patient_id} not found")
    else:
        _require_team_staff(session, by, team_id)
    req = HomeVisitRequest(
        patient_id=patient_id,
        team_id=team_id,
        requested_by_id=by.id,
        reason=reason,
        preferred_date=preferred_date,
        created_at=now,
    )
    session.add(req)
    session.flush()
    _audit(session, by, "request", req, now=now)
    return req


def _visible(session: Session, user: User, req: HomeVisitRequest) -> bool:
    """The resident themself, members of the request's team, admins."""
    return (
        user.role == Role.ADMIN
        or (user.role == Role.PATIENT and user.patient_id == req.patient_id)
        or contracts.is_member(session=session, user=user, team_id=req.team_id)
    )


def booking_reference_access(session: Session, user: User, visit_id: uuid.UUID) -> Access:
    """Booking-reference resolver for scheduling: members of the request's team book for a
    home visit that is still requested (or scheduled, to rebook)."""
    req = session.get(HomeVisitRequest, visit_id)
    if req is None:
        return Access.MISSING
    if not _visible(session, user, req):
        return Access.HIDDEN
    if not contracts.is_member(session=session, user=user, team_id=req.team_id):
        return Access.READ_ONLY
    return Access.WRITE if req.status in ("requested", "scheduled") else Access.CLOSED


def get_home_visit(*, session: Session, visit_id: uuid.UUID, user: User) -> HomeVisitRequest:
    req = session.get(HomeVisitRequest, visit_id)
    return audit.visible_or_404(
        session,
        user,
        req,
        visible=req is not None and _visible(session, user, req),
        object_type="home_visit",
        ident=visit_id,
        label="home visit",
        reason="neither the patient nor a member of their team",
    )


def home_visits_for(
    *, session: Session, patient_id: uuid.UUID, user: User
) -> list[HomeVisitRequest]:
    """A resident's home visits the user may see (their own, or their team's), newest first."""
    if user.role == Role.PATIENT and user.patient_id != patient_id:
        raise NotFound(f"patient {patient_id} not found")
    rows = session.execute(
        select(HomeVisitRequest)
        .where(HomeVisitRequest.patient_id == patient_id)
        .order_by(col(HomeVisitRequest.created_at).desc())
    ).scalars()
    return [r for r in rows if _visible(session, user, r)]


def schedule_home_visit(
    *,
    session: Session,
    req: HomeVisitRequest,
    by: User,
    now: datetime,
    slot_id: uuid.UUID | None,
    scheduled_at: datetime | None,
) -> HomeVisitRequest:
    """Schedule through a `home_visit` slot of the scheduling service (or a given time)."""
    _require_team_staff(session, by, req.team_id)
    if req.status != "requested":
        raise Conflict(f"home visit is {req.status}", code="not_requested")
    if slot_id is not None:
        b = booking.book_slot(
            session=session,
            slot_id=slot_id,
            by=by,
            patient_id=req.patient_id,
            now=now,
            reference_type="home_visit",
            reference_id=req.id,
            institution_id=contracts.get_team(session=session, team_id=req.team_id).institution_id,
        )
        req.booking_id = b.booking_id
        req.scheduled_at = b.start_at
    elif scheduled_at is not None:
        req.scheduled_at = scheduled_at
    else:
        raise Invalid("give slot_id or scheduled_at", field="slot_id")
    req.status = "scheduled"
    session.flush()
    _audit(session, by, "schedule", req, now=now)
    return req


def finish_home_visit(
    *, session: Session, req: HomeVisitRequest, by: User, now: datetime, done: bool
) -> HomeVisitRequest:
    """Mark a home visit done (team) or cancel it (team or the resident)."""
    if by.role == Role.PATIENT and not done and by.patient_id == req.patient_id:
        pass
    else:
        _require_team_staff(session, by, req.team_id)
    if req.status not in ("requested", "scheduled"):
        raise Conflict(f"home visit is {req.status}", code="visit_finished")
    if done and req.status != "scheduled":
        raise Conflict("schedule the visit first", code="not_scheduled")
    req.status = "done" if done else "cancelled"
    req.done_at = now
    session.flush()
    _audit(session, by, "done" if done else "cancel", req, now=now)
    return req


def open_home_visits(*, session: Session, team_id: uuid.UUID) -> list[HomeVisitRequest]:
    return list(
        session.execute(
            select(HomeVisitRequest)
            .where(
                HomeVisitRequest.team_id == team_id,
                col(HomeVisitRequest.status).in_(["requested", "scheduled"]),
            )
            .order_by(col(HomeVisitRequest.created_at))
        ).scalars()
    )
