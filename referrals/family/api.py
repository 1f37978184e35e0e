"""Routes of family-doctor teams, service packages, contracts and follow-ups (mounted by
`referrals.api`)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from referrals.deps import VisibleContract, read_list, require_team_reader
from referrals.family import contract_queries, contracts, packages, teams
from referrals.family import follow_ups as follow_up_service
from referrals.family.responses import (
    contract_public,
    contracts_public,
    package_public,
    team_public,
    teams_public,
)
from referrals.family.schemas import (
    ContractCreate,
    ContractPublic,
    ContractRenew,
    FollowUpDone,
    FollowUpPublic,
    MemberIn,
    PackageOffer,
    PackagePublic,
    ReasonIn,
    TeamCreate,
    TeamPublic,
)
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden, Invalid
from telemed.identity.deps import CurrentUser, StaffUser
from telemed.identity.models import Role

router = APIRouter(prefix="/family-doctors", tags=["family doctors"])


@router.get("/packages", response_model=list[PackagePublic])
def list_packages(session: SessionDep) -> list[PackagePublic]:
    """Service packages: basic (基础包) and personalised ones, with fees and insurance share."""
    return [package_public(p) for p in packages.list_packages(session=session)]


@router.get("/patients/{patient_id}/packages", response_model=list[PackageOffer])
def packages_for_patient(
    patient_id: uuid.UUID, user: CurrentUser, session: SessionDep, now: NowDep
) -> list[PackageOffer]:
    """The packages as offered to one resident today (Beijing date): each with `eligible` and
    the reason it is not, by the rule signing applies; for whoever may read or sign the
    resident (the read audited)."""
    patient = contracts.signable_patient(session=session, by=user, patient_id=patient_id)
    on = contract_queries.today(now)
    return [
        PackageOffer(
            **package_public(pkg).model_dump(), eligible=reason is None, ineligible_reason=reason
        )
        for pkg, reason in packages.offers(session=session, patient=patient, on=on)
    ]


@router.post("/teams", response_model=TeamPublic, status_code=201)
def create_team(
    data: TeamCreate, user: StaffUser, session: SessionDep, now: NowDep, settings: SettingsDep
) -> TeamPublic:
    """Create a family-doctor team at a primary institution."""
    team = teams.create_team(
        session=session,
        institution_id=data.institution_id,
        name=data.name,
        lead_doctor_id=data.lead_doctor_id,
        members=[(m.user_id, m.role) for m in data.members],
        served_areas=data.served_areas,
        capacity=data.capacity,
        by=user,
        now=now,
    )
    return team_public(session, team, settings)


@router.get("/teams", response_model=list[TeamPublic])
def list_teams(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    institution_id: uuid.UUID | None = None,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> list[TeamPublic]:
    """Teams (no patient data): residents choose one to sign with."""
    rows = teams.list_teams(session=session, institution_id=institution_id, county_code=county)
    return teams_public(session, rows, settings)


@router.get("/teams/{team_id}", response_model=TeamPublic)
def get_team(
    team_id: uuid.UUID, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> TeamPublic:
    """One team with its members."""
    return team_public(session, teams.get_team(session=session, team_id=team_id), settings)


@router.post("/teams/{team_id}/members", response_model=TeamPublic)
def add_member(
    team_id: uuid.UUID, data: MemberIn, user: StaffUser, session: SessionDep, settings: SettingsDep
) -> TeamPublic:
    """The team lead (or an admin) adds a member."""
    team = teams.get_team(session=session, team_id=team_id)
    if user.role != Role.ADMIN and user.id != team.lead_doctor_id:
        raise Forbidden("the team lead or an admin adds members")
    teams.add_member(session=session, team=team, user_id=data.user_id, role=data.role)
    return team_public(session, team, settings)


@router.post("/contracts", response_model=ContractPublic, status_code=201)
def sign_contract(
    data: ContractCreate, user: CurrentUser, session: SessionDep, now: NowDep, settings: SettingsDep
) -> ContractPublic:
    """Sign a resident: by the resident in the app (pending until the team confirms) or by a
    team doctor with the resident's recorded consent."""
    c = contracts.sign_contract(
        session=session,
        patient_id=data.patient_id,
        team_id=data.team_id,
        package_codes=data.package_codes,
        by=user,
        now=now,
        settings=settings,
        consent=data.consent.model_dump() if data.consent else None,
        term_start=data.term_start,
        moving=data.moving,
    )
    return contract_public(session, c)


@router.get("/contracts", response_model=list[ContractPublic])
def list_contracts(
    user: CurrentUser,
    session: SessionDep,
    patient_id: uuid.UUID | None = None,
    team_id: uuid.UUID | None = None,
    status: Literal["pending", "active", "expired", "terminated"] | None = None,
) -> list[ContractPublic]:
    """A resident's contracts (`patient_id`, newest term first), or a team's (`team_id`,
    members of the team and admins only; oldest signing first) — `status=pending` is the
    team's queue of app signings to confirm."""
    if patient_id is None and team_id is None:
        raise Invalid("give patient_id or team_id", field="patient_id")
    if team_id is not None:
        require_team_reader(session, user, team_id)
        rows = contract_queries.contracts_of_team(session=session, team_id=team_id, status=status)
        if patient_id is not None:
            rows = [c for c in rows if c.patient_id == patient_id]
    else:
        assert patient_id is not None
        rows = [
            c
            for c in contract_queries.visible_contracts_of_patient(
                session=session, user=user, patient_id=patient_id
            )
            if status is None or c.status == status
        ]
    read_list(session, user, "contract", rows)
    return contracts_public(session, rows)


@router.get("/contracts/{contract_id}", response_model=ContractPublic)
def get_contract(contract: VisibleContract, session: SessionDep) -> ContractPublic:
    """One contract the caller may see."""
    return contract_public(session, contract)


@router.post("/contracts/{contract_id}/confirm", response_model=ContractPublic)
def confirm_contract(
    user: StaffUser, contract: VisibleContract, session: SessionDep, now: NowDep
) -> ContractPublic:
    """A doctor of the team confirms a resident's app signing."""
    c = contracts.confirm(session=session, contract=contract, by=user, now=now)
    return contract_public(session, c)


@router.post("/contracts/{contract_id}/renew", response_model=ContractPublic, status_code=201)
def renew_contract(
    contract_id: uuid.UUID,
    data: ContractRenew,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> ContractPublic:
    """Create the next term; the resident may choose another team here."""
    c = contract_queries.read_contract(session=session, user=user, contract_id=contract_id)
    nxt = contracts.renew(
        session=session,
        contract=c,
        by=user,
        now=now,
        settings=settings,
        team_id=data.team_id,
        package_codes=data.package_codes,
        consent=data.consent.model_dump() if data.consent else None,
    )
    return contract_public(session, nxt)


@router.post("/contracts/{contract_id}/terminate", response_model=ContractPublic)
def terminate_contract(
    contract_id: uuid.UUID, data: ReasonIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> ContractPublic:
    """End a contract early (the resident, or a doctor of the team)."""
    c = contract_queries.read_contract(session=session, user=user, contract_id=contract_id)
    own = user.role == Role.PATIENT and user.patient_id == c.patient_id
    if not own and not teams.is_member(session=session, user=user, team_id=c.team_id):
        raise Forbidden("the resident or the team ends a contract", code="not_team_member")
    c = contracts.terminate(session=session, contract=c, by=user, now=now, reason=data.reason)
    return contract_public(session, c)


@router.get("/contracts/{contract_id}/follow-ups", response_model=list[FollowUpPublic])
def follow_ups(contract: VisibleContract, session: SessionDep) -> list[FollowUpPublic]:
    """The follow-up schedule of a contract's term."""
    return [
        FollowUpPublic.model_validate(f, from_attributes=True)
        for f in follow_up_service.follow_ups_of(session=session, contract_id=contract.id)
    ]


@router.post("/follow-ups/{follow_up_id}/done", response_model=FollowUpPublic)
def follow_up_done(
    follow_up_id: uuid.UUID, data: FollowUpDone, user: StaffUser, session: SessionDep, now: NowDep
) -> FollowUpPublic:
    """A member of the resident's team records a follow-up."""
    fu = follow_up_service.complete_follow_up(
        session=session,
        follow_up_id=follow_up_id,
        by=user,
        now=now,
        notes=data.notes,
        measurements=data.measurements,
    )
    return FollowUpPublic.model_validate(fu, from_attributes=True)
