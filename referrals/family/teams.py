"""Family-doctor teams (家庭医生团队): members, capacity, and who belongs to which team."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from referrals.family.models import (
    DOCTOR_TEAM_ROLES,
    Contract,
    ContractStatus,
    FamilyDoctorTeam,
    TeamMember,
    TeamRole,
)
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.settings import Settings
from telemed.identity.models import Role, User
from telemed.network.models import PRIMARY_TIERS, Institution


def create_team(
    *,
    session: Session,
    institution_id: uuid.UUID,
    name: str,
    lead_doctor_id: uuid.UUID,
    members: list[tuple[uuid.UUID, str]],
    served_areas: list[str],
    capacity: int | None,
    by: User,
    now: datetime,
) -> FamilyDoctorTeam:
    """Create a team at a primary institution; the lead is one of its family doctors."""
    inst = session.get(Institution, institution_id)
    if inst is None:
        raise NotFound(f"institution {institution_id} not found")
    if by.role != Role.ADMIN and by.institution_id != institution_id:
        raise Forbidden("teams are created by staff of their own institution")
    if inst.tier not in PRIMARY_TIERS:
        raise Invalid(
            "family-doctor teams belong to primary institutions (township, community, village)",
            field="institution_id",
            code="not_primary_institution",
        )
    lead = session.get(User, lead_doctor_id)
    if lead is None or lead.role != Role.FAMILY_DOCTOR or lead.institution_id != institution_id:
        raise Invalid(
            "the lead must be a family doctor of this institution", field="lead_doctor_id"
        )
    team = FamilyDoctorTeam(
        institution_id=institution_id,
        name=name,
        lead_doctor_id=lead_doctor_id,
        capacity=capacity,
        served_areas=served_areas,
        created_at=now,
    )
    session.add(team)
    session.flush()
    session.add(TeamMember(team_id=team.id, user_id=lead_doctor_id, role=TeamRole.LEAD))
    for user_id, role in members:
        if user_id == lead_doctor_id:
            continue
        add_member(session=session, team=team, user_id=user_id, role=role)
    session.flush()
    return team


def add_member(
    *, session: Session, team: FamilyDoctorTeam, user_id: uuid.UUID, role: str
) -> TeamMember:
    if role not in {r.value for r in TeamRole} or role == TeamRole.LEAD:
        raise Invalid(f"unknown team role {role!r}", field="role")
    user = session.get(User, user_id)
    if user is None or user.role == Role.PATIENT:
        raise Invalid(f"user {user_id} is not staff", field="user_id")
    exists = session.execute(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user_id)
    ).scalar_one_or_none()
    if exists is not None:
        raise Conflict("already a member of this team", code="already_member")
    member = TeamMember(team_id=team.id, user_id=user_id, role=role)
    session.add(member)
    session.flush()
    return member


def get_team(*, session: Session, team_id: uuid.UUID) -> FamilyDoctorTeam:
    team = session.get(FamilyDoctorTeam, team_id)
    if team is None:
        raise NotFound(f"team {team_id} not found")
    return team


def members_of(*, session: Session, team_id: uuid.UUID) -> list[TeamMember]:
    """The team's members, by role."""
    return members_by_team(session=session, team_ids=[team_id])[team_id]


def members_by_team(
    *, session: Session, team_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[TeamMember]]:
    """The members of each team (by role), in one query."""
    ids = list(dict.fromkeys(team_ids))
    out: dict[uuid.UUID, list[TeamMember]] = {i: [] for i in ids}
    if ids:
        for m in session.execute(
            select(TeamMember).where(col(TeamMember.team_id).in_(ids)).order_by(TeamMember.role)
        ).scalars():
            out[m.team_id].append(m)
    return out


def is_member(*, session: Session, user: User, team_id: uuid.UUID) -> bool:
    return (
        session.execute(
            select(TeamMember.id).where(
                TeamMember.team_id == team_id, TeamMember.user_id == user.id
            )
        ).first()
        is not None
    )


def teams_of_user(*, session: Session, user_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.execute(select(TeamMember.team_id).where(TeamMember.user_id == user_id)).scalars()
    )


def capacity_of(*, session: Session, team: FamilyDoctorTeam, settings: Settings) -> int:
    """The team's capacity: explicit, or residents_per_family_doctor x its family doctors."""
    return capacities(session=session, teams=[team], settings=settings)[team.id]


def capacities(
    *, session: Session, teams: Iterable[FamilyDoctorTeam], settings: Settings
) -> dict[uuid.UUID, int]:
    """`capacity_of` of each team; the family doctors of those without an explicit capacity
    counted in one query."""
    teams = list(teams)
    counted = [t.id for t in teams if t.capacity is None]
    doctors: dict[uuid.UUID, int] = {}
    if counted:
        doctors = {
            team_id: int(n)
            for team_id, n in session.execute(
                select(TeamMember.team_id, func.count())
                .where(
                    col(TeamMember.team_id).in_(counted),
                    col(TeamMember.role).in_([r.value for r in DOCTOR_TEAM_ROLES]),
                )
                .group_by(col(TeamMember.team_id))
            ).all()
        }
    per_doctor = settings.referrals.residents_per_family_doctor
    return {
        t.id: t.capacity if t.capacity is not None else doctors.get(t.id, 0) * per_doctor
        for t in teams
    }


def contracted_count(*, session: Session, team_id: uuid.UUID) -> int:
    """Distinct residents with a pending or active contract with the team."""
    return contracted_counts(session=session, team_ids=[team_id])[team_id]


def contracted_counts(*, session: Session, team_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """`contracted_count` of each team, in one query."""
    ids = list(dict.fromkeys(team_ids))
    out = dict.fromkeys(ids, 0)
    if ids:
        for team_id, n in session.execute(
            select(Contract.team_id, func.count(func.distinct(Contract.patient_id)))
            .where(
                col(Contract.team_id).in_(ids),
                col(Contract.status).in_([ContractStatus.PENDING, ContractStatus.ACTIVE]),
            )
            .group_by(col(Contract.team_id))
        ).all():
            out[team_id] = int(n)
    return out


def list_teams(
    *, session: Session, institution_id: uuid.UUID | None = None, county_code: str | None = None
) -> list[FamilyDoctorTeam]:
    stmt = select(FamilyDoctorTeam).where(FamilyDoctorTeam.is_active.is_(True))  # type: ignore[attr-defined]
    if institution_id:
        stmt = stmt.where(FamilyDoctorTeam.institution_id == institution_id)
    if county_code:
        stmt = stmt.join(Institution, col(Institution.id) == FamilyDoctorTeam.institution_id).where(
            Institution.county_code == county_code
        )
    return list(session.execute(stmt.order_by(FamilyDoctorTeam.name)).scalars())


def lock_team(session: Session, team_id: uuid.UUID) -> FamilyDoctorTeam:
    team = session.execute(
        select(FamilyDoctorTeam)
        .where(FamilyDoctorTeam.id == team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if team is None or not team.is_active:
        raise NotFound(f"team {team_id} not found")
    return team


def check_capacity(session: Session, team: FamilyDoctorTeam, settings: Settings) -> None:
    cap = capacity_of(session=session, team=team, settings=settings)
    used = contracted_count(session=session, team_id=team.id)
    if used >= cap:
        raise Conflict(
            f"team {team.name!r} is at capacity ({used} of {cap} residents)",
            code="team_over_capacity",
            capacity=cap,
            contracted=used,
        )
