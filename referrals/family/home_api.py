"""Routes of home sick beds (家庭病床) and home visits (上门服务) (mounted by `referrals.api`)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter

from referrals.deps import ReadBed, ReadHomeVisit, read_list, require_team_reader
from referrals.family import home_beds, home_visits
from referrals.family.responses import bed_public, beds_public
from referrals.family.schemas import (
    BedVisitIn,
    DischargeIn,
    HomeBedCreate,
    HomeBedPublic,
    HomeVisitCreate,
    HomeVisitPublic,
    HomeVisitSchedule,
)
from telemed.core.deps import NowDep, SessionDep
from telemed.identity.deps import CurrentUser, StaffUser

router = APIRouter(prefix="/family-doctors", tags=["family doctors"])


def _visit(req: object) -> HomeVisitPublic:
    return HomeVisitPublic.model_validate(req, from_attributes=True)


@router.get("/home-beds", response_model=list[HomeBedPublic])
def list_home_beds(
    team_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    status: Literal["admitted", "discharged"] | None = None,
) -> list[HomeBedPublic]:
    """The team's home sick beds (members of the team and admins), newest admission first."""
    require_team_reader(session, user, team_id)
    beds = home_beds.beds_of_team(session=session, team_id=team_id, status=status)
    read_list(session, user, "home_bed", beds)
    return beds_public(session, beds)


@router.post("/home-beds", response_model=HomeBedPublic, status_code=201)
def admit_home_bed(
    data: HomeBedCreate, user: StaffUser, session: SessionDep, now: NowDep
) -> HomeBedPublic:
    """Admit a contracted resident to a home sick bed (家庭病床)."""
    bed = home_beds.admit_home_bed(
        session=session,
        patient_id=data.patient_id,
        by=user,
        now=now,
        diagnosis_code=data.diagnosis_code,
        reason=data.reason,
        visit_interval_days=data.visit_interval_days,
        planned_services=data.planned_services,
    )
    return bed_public(session, bed)


@router.get("/home-beds/{bed_id}", response_model=HomeBedPublic)
def get_home_bed(bed: ReadBed, session: SessionDep) -> HomeBedPublic:
    """One home sick bed with its visits."""
    return bed_public(session, bed)


@router.post("/home-beds/{bed_id}/visits", response_model=HomeBedPublic)
def home_bed_visit(
    bed_id: uuid.UUID, data: BedVisitIn, user: StaffUser, session: SessionDep, now: NowDep
) -> HomeBedPublic:
    """A member of the team records a visit of the bed."""
    bed = home_beds.get_bed(session=session, bed_id=bed_id, user=user)
    home_beds.record_bed_visit(
        session=session,
        bed=bed,
        by=user,
        now=now,
        notes=data.notes,
        vitals=data.vitals,
        home_visit_id=data.home_visit_id,
    )
    return bed_public(session, bed)


@router.post("/home-beds/{bed_id}/discharge", response_model=HomeBedPublic)
def home_bed_discharge(
    bed_id: uuid.UUID, data: DischargeIn, user: StaffUser, session: SessionDep, now: NowDep
) -> HomeBedPublic:
    """Discharge the bed with a summary."""
    bed = home_beds.get_bed(session=session, bed_id=bed_id, user=user)
    bed = home_beds.discharge_bed(session=session, bed=bed, by=user, now=now, summary=data.summary)
    return bed_public(session, bed)


@router.post("/home-visits", response_model=HomeVisitPublic, status_code=201)
def request_home_visit(
    data: HomeVisitCreate, user: CurrentUser, session: SessionDep, now: NowDep
) -> HomeVisitPublic:
    """A resident (or their team) asks for a home visit (上门服务)."""
    req = home_visits.request_home_visit(
        session=session,
        patient_id=data.patient_id,
        by=user,
        now=now,
        reason=data.reason,
        preferred_date=data.preferred_date,
    )
    return _visit(req)


@router.get("/home-visits", response_model=list[HomeVisitPublic])
def list_home_visits(
    patient_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> list[HomeVisitPublic]:
    """A resident's home visits: all of them for the resident, their team's for its members."""
    rows = home_visits.home_visits_for(session=session, patient_id=patient_id, user=user)
    read_list(session, user, "home_visit", rows)
    return [_visit(r) for r in rows]


@router.get("/home-visits/{visit_id}", response_model=HomeVisitPublic)
def get_home_visit(req: ReadHomeVisit) -> HomeVisitPublic:
    """One home visit."""
    return _visit(req)


@router.post("/home-visits/{visit_id}/schedule", response_model=HomeVisitPublic)
def schedule_home_visit(
    visit_id: uuid.UUID, data: HomeVisitSchedule, user: StaffUser, session: SessionDep, now: NowDep
) -> HomeVisitPublic:
    """Schedule the visit in a slot (or at a given time)."""
    req = home_visits.get_home_visit(session=session, visit_id=visit_id, user=user)
    req = home_visits.schedule_home_visit(
        session=session,
        req=req,
        by=user,
        now=now,
        slot_id=data.slot_id,
        scheduled_at=data.scheduled_at,
    )
    return _visit(req)


@router.post("/home-visits/{visit_id}/{outcome}", response_model=HomeVisitPublic)
def finish_home_visit(
    visit_id: uuid.UUID,
    outcome: Literal["done", "cancel"],
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
) -> HomeVisitPublic:
    """Mark the visit done (team) or cancel it (team or the resident)."""
    req = home_visits.get_home_visit(session=session, visit_id=visit_id, user=user)
    req = home_visits.finish_home_visit(
        session=session, req=req, by=user, now=now, done=outcome == "done"
    )
    return _visit(req)
