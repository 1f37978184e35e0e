"""Loader dependencies of the referral and family-doctor routes: each fetches its object once,
404 when the caller may not see it (the refusal audited) and, where the route shows it, the
read audited.

Routes with a body or other parameters to validate call the loader functions themselves,
after FastAPI has parsed them: a malformed request is a 422 whatever object it names, as
before (a dependency would run first).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Protocol

from fastapi import Depends
from sqlmodel import Session

from referrals import service
from referrals.family import contract_queries, home_beds, home_visits, teams
from referrals.family.models import Contract, FamilyDoctorTeam, HomeSickBed, HomeVisitRequest
from referrals.models import Referral
from telemed.core import audit
from telemed.core.deps import SessionDep
from telemed.core.errors import Forbidden
from telemed.identity.deps import CurrentUser
from telemed.identity.models import Role, User


class _PatientRow(Protocol):
    @property
    def id(self) -> uuid.UUID: ...

    @property
    def patient_id(self) -> uuid.UUID: ...


def read_list(
    session: Session,
    user: User,
    object_type: str,
    rows: Sequence[_PatientRow],
    what: str | None = None,
) -> None:
    """Audit a list read: one row naming every object and patient shown."""
    audit.read(
        session,
        user,
        object_type=object_type,
        patient_ids=[r.patient_id for r in rows],
        object_ids=[r.id for r in rows],
        what=what,
    )


def _read_one(session: Session, user: User, object_type: str, row: _PatientRow) -> None:
    audit.read(
        session, user, object_type=object_type, object_id=row.id, patient_ids=[row.patient_id]
    )


# ---------------------------------------------------------------- referrals


def visible_referral(referral_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Referral:
    """The referral of the path, when the caller takes part in it."""
    return service.get_referral(session=session, referral_id=referral_id, user=user)


VisibleReferral = Annotated[Referral, Depends(visible_referral)]


def read_referral(r: VisibleReferral, user: CurrentUser, session: SessionDep) -> Referral:
    """`VisibleReferral`, the read audited."""
    _read_one(session, user, "referral", r)
    return r


ReadReferral = Annotated[Referral, Depends(read_referral)]

# ---------------------------------------------------------------- family doctors


def read_contract(contract_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Contract:
    """The contract of the path, when the caller may see it; the read audited."""
    return contract_queries.read_contract(session=session, user=user, contract_id=contract_id)


VisibleContract = Annotated[Contract, Depends(read_contract)]


def member_team(team_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> FamilyDoctorTeam:
    """The team of the path, for its members and admins (404 to others, audited)."""
    team = session.get(FamilyDoctorTeam, team_id)
    return audit.visible_or_404(
        session,
        user,
        team,
        visible=team is not None
        and (
            user.role == Role.ADMIN or teams.is_member(session=session, user=user, team_id=team_id)
        ),
        object_type="team_worklist",
        ident=team_id,
        label="team",
        reason="not a member of the team",
    )


TeamMember = Annotated[FamilyDoctorTeam, Depends(member_team)]


def require_team_reader(session: Session, user: User, team_id: uuid.UUID) -> FamilyDoctorTeam:
    """Team-wide lists are for the team's members and admins: others get 403."""
    team = teams.get_team(session=session, team_id=team_id)
    if user.role != Role.ADMIN and not teams.is_member(session=session, user=user, team_id=team_id):
        raise Forbidden("only members of the team see its residents", code="not_team_member")
    return team


def visible_bed(bed_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> HomeSickBed:
    """The home sick bed of the path: its patient, members of its team, admins."""
    return home_beds.get_bed(session=session, bed_id=bed_id, user=user)


VisibleBed = Annotated[HomeSickBed, Depends(visible_bed)]


def read_bed(bed: VisibleBed, user: CurrentUser, session: SessionDep) -> HomeSickBed:
    """`VisibleBed`, the read audited."""
    _read_one(session, user, "home_bed", bed)
    return bed


ReadBed = Annotated[HomeSickBed, Depends(read_bed)]


def visible_home_visit(
    visit_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> HomeVisitRequest:
    """The home visit of the path: its patient, members of its team, admins."""
    return home_visits.get_home_visit(session=session, visit_id=visit_id, user=user)


VisibleHomeVisit = Annotated[HomeVisitRequest, Depends(visible_home_visit)]


def read_home_visit(
    req: VisibleHomeVisit, user: CurrentUser, session: SessionDep
) -> HomeVisitRequest:
    """`VisibleHomeVisit`, the read audited."""
    _read_one(session, user, "home_visit", req)
    return req


ReadHomeVisit = Annotated[HomeVisitRequest, Depends(read_home_visit)]
