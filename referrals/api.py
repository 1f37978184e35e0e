"""Routes of referrals, family-doctor teams and contracts (their FHIR form: telemed.fhir)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from referrals import contracts, home, imaging, policy, reports, service
from referrals.models import Contract, FamilyDoctorTeam, Referral, ServicePackage
from referrals.schemas import (
    ActionIn,
    BedVisitIn,
    BookIn,
    CompleteIn,
    ContactByIn,
    ContractCreate,
    ContractPublic,
    ContractRenew,
    DischargeIn,
    FilingPublic,
    FollowUpDone,
    FollowUpPublic,
    HomeBedCreate,
    HomeBedPublic,
    HomeVisitCreate,
    HomeVisitPublic,
    HomeVisitSchedule,
    MemberIn,
    MemberPublic,
    OutcomeIn,
    PackagePublic,
    ReasonIn,
    ReceiverProposal,
    ReferralCreate,
    ReferralEventPublic,
    ReferralPublic,
    ReferralReport,
    RoutingReason,
    StudyLinkIn,
    TeamCreate,
    TeamPublic,
    TeamWorklist,
)
from referrals.states import REFERRAL
from telemed.core import audit, idempotency
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import Forbidden, Invalid, NotFound
from telemed.core.pagination import Page, PageDep, paginate
from telemed.identity.deps import AdminUser, ClientIP, CurrentUser, StaffUser
from telemed.identity.models import Role, User
from telemed.identity.permissions import require_patient_read
from telemed.network.models import Institution

router = APIRouter(prefix="/api/v1", tags=["referrals"])


def _fields(obj: Any, model: type[BaseModel] | None = None) -> dict[str, Any]:
    """Column values read through attributes (a model_dump would miss expired ones)."""
    from sqlalchemy import inspect as sa_inspect

    names = (
        list(model.model_fields)
        if model is not None
        else [c.key for c in sa_inspect(type(obj)).mapper.column_attrs]
    )
    return {n: getattr(obj, n) for n in names if hasattr(obj, n)}


def _json(obj: Any) -> dict[str, Any]:
    from fastapi.encoders import jsonable_encoder

    out: dict[str, Any] = jsonable_encoder(_fields(obj))
    return out


# ---------------------------------------------------------------- family doctors


def _package(p: ServicePackage) -> PackagePublic:
    return PackagePublic(
        **{k: v for k, v in _fields(p).items() if k != "fee_fen"}, fee_yuan=p.fee_fen / 100
    )


@router.get("/family-doctors/packages", response_model=list[PackagePublic], tags=["family doctors"])
def list_packages(session: SessionDep) -> list[PackagePublic]:
    """Service packages: basic (基础包) and personalised ones, with fees and insurance share."""
    return [_package(p) for p in contracts.list_packages(session=session)]


def _team(session: Any, team: FamilyDoctorTeam, settings: Any) -> TeamPublic:
    return TeamPublic(
        id=team.id,
        institution_id=team.institution_id,
        name=team.name,
        lead_doctor_id=team.lead_doctor_id,
        served_areas=team.served_areas,
        capacity=contracts.capacity_of(session=session, team=team, settings=settings),
        contracted=contracts.contracted_count(session=session, team_id=team.id),
        members=[
            MemberPublic(user_id=m.user_id, role=m.role)
            for m in contracts.members_of(session=session, team_id=team.id)
        ],
    )


@router.post(
    "/family-doctors/teams", response_model=TeamPublic, status_code=201, tags=["family doctors"]
)
def create_team(
    data: TeamCreate, user: StaffUser, session: SessionDep, now: NowDep, settings: SettingsDep
) -> TeamPublic:
    """Create a family-doctor team at a primary institution."""
    team = contracts.create_team(
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
    return _team(session, team, settings)


@router.get("/family-doctors/teams", response_model=list[TeamPublic], tags=["family doctors"])
def list_teams(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    institution_id: uuid.UUID | None = None,
    county: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> list[TeamPublic]:
    """Teams (no patient data): residents choose one to sign with."""
    return [
        _team(session, t, settings)
        for t in contracts.list_teams(
            session=session, institution_id=institution_id, county_code=county
        )
    ]


@router.get("/family-doctors/teams/{team_id}", response_model=TeamPublic, tags=["family doctors"])
def get_team(
    team_id: uuid.UUID, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> TeamPublic:
    return _team(session, contracts.get_team(session=session, team_id=team_id), settings)


@router.post(
    "/family-doctors/teams/{team_id}/members", response_model=TeamPublic, tags=["family doctors"]
)
def add_member(
    team_id: uuid.UUID, data: MemberIn, user: StaffUser, session: SessionDep, settings: SettingsDep
) -> TeamPublic:
    team = contracts.get_team(session=session, team_id=team_id)
    if user.role != Role.ADMIN and user.id != team.lead_doctor_id:
        raise Forbidden("the team lead or an admin adds members")
    contracts.add_member(session=session, team=team, user_id=data.user_id, role=data.role)
    return _team(session, team, settings)


def _team_member_or_admin(session: Any, user: User, team_id: uuid.UUID) -> FamilyDoctorTeam:
    team = session.get(FamilyDoctorTeam, team_id)
    return audit.visible_or_404(
        session,
        user,
        team,
        visible=team is not None
        and (
            user.role == Role.ADMIN
            or contracts.is_member(session=session, user=user, team_id=team_id)
        ),
        object_type="team_worklist",
        ident=team_id,
        label="team",
        reason="not a member of the team",
    )


@router.get(
    "/family-doctors/teams/{team_id}/worklist", response_model=TeamWorklist, tags=["family doctors"]
)
def team_worklist(
    team_id: uuid.UUID, user: CurrentUser, session: SessionDep, now: NowDep
) -> TeamWorklist:
    """What the team must do: overdue follow-ups, care plans from referrals, home visits,
    home sick beds due a visit, referrals waiting at the team's institution."""
    team = _team_member_or_admin(session, user, team_id)
    overdue = contracts.overdue_follow_ups(session=session, team_id=team_id, now=now)
    plans = service.care_plans_of_team(session=session, team_id=team_id)
    visits = home.open_home_visits(session=session, team_id=team_id)
    beds = home.beds_due(session=session, team_id=team_id, now=now)
    waiting = [
        r for r in service.receiver_worklist(session=session, institution_id=team.institution_id)
    ]
    pids = {
        *(f.patient_id for f in overdue),
        *(p.patient_id for p in plans),
        *(v.patient_id for v in visits),
        *(b.patient_id for b, _ in beds),
        *(r.patient_id for r in waiting),
    }
    audit.read(session, user, object_type="team_worklist", object_id=team_id, patient_ids=pids)
    labels = _labels(session, pids)

    def named(row: dict[str, Any], pid: uuid.UUID) -> dict[str, Any]:
        name, masked = labels.get(pid, (None, None))
        return {**row, "patient_name": name, "patient_resident_id_masked": masked}

    return TeamWorklist(
        team_id=team_id,
        overdue_follow_ups=[named(_json(f), f.patient_id) for f in overdue],
        care_plans=[named(_json(p), p.patient_id) for p in plans],
        home_visits=[named(_json(v), v.patient_id) for v in visits],
        home_beds_due=[
            named(
                {"bed_id": str(b.id), "patient_id": str(b.patient_id), "due_at": d.isoformat()},
                b.patient_id,
            )
            for b, d in beds
        ],
        waiting_referrals=[named(_waiting(r, now), r.patient_id) for r in waiting],
    )


def _contract(
    session: Any, c: Contract, labels: dict[uuid.UUID, tuple[str, str]] | None = None
) -> ContractPublic:
    labels = labels if labels is not None else _labels(session, {c.patient_id})
    name, masked = labels.get(c.patient_id, (None, None))
    extra = {"package_codes", "patient_name", "patient_resident_id_masked"}
    return ContractPublic(
        **{k: v for k, v in _fields(c, ContractPublic).items() if k not in extra},
        package_codes=contracts.packages_of(session=session, contract_id=c.id),
        patient_name=name,
        patient_resident_id_masked=masked,
    )


def _require_team_reader(session: Any, user: User, team_id: uuid.UUID) -> None:
    """Team-wide lists are for the team's members and admins: others get 403."""
    contracts.get_team(session=session, team_id=team_id)
    if user.role != Role.ADMIN and not contracts.is_member(
        session=session, user=user, team_id=team_id
    ):
        raise Forbidden("only members of the team see its residents", code="not_team_member")


def _visible_contract(session: Any, user: User, contract_id: uuid.UUID) -> Contract:
    return contracts.read_contract(session=session, user=user, contract_id=contract_id)


@router.post(
    "/family-doctors/contracts",
    response_model=ContractPublic,
    status_code=201,
    tags=["family doctors"],
)
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
    return _contract(session, c)


@router.get(
    "/family-doctors/contracts", response_model=list[ContractPublic], tags=["family doctors"]
)
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
        _require_team_reader(session, user, team_id)
        rows = contracts.contracts_of_team(session=session, team_id=team_id, status=status)
        if patient_id is not None:
            rows = [c for c in rows if c.patient_id == patient_id]
    else:
        assert patient_id is not None
        rows = [
            c
            for c in contracts.visible_contracts_of_patient(
                session=session, user=user, patient_id=patient_id
            )
            if status is None or c.status == status
        ]
    audit.read(
        session,
        user,
        object_type="contract",
        patient_ids=[c.patient_id for c in rows],
        object_ids=[c.id for c in rows],
    )
    labels = _labels(session, {c.patient_id for c in rows})
    return [_contract(session, c, labels) for c in rows]


@router.get(
    "/family-doctors/contracts/{contract_id}",
    response_model=ContractPublic,
    tags=["family doctors"],
)
def get_contract(contract_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> ContractPublic:
    return _contract(session, _visible_contract(session, user, contract_id))


@router.post(
    "/family-doctors/contracts/{contract_id}/confirm",
    response_model=ContractPublic,
    tags=["family doctors"],
)
def confirm_contract(
    contract_id: uuid.UUID, user: StaffUser, session: SessionDep, now: NowDep
) -> ContractPublic:
    c = _visible_contract(session, user, contract_id)
    return _contract(session, contracts.confirm(session=session, contract=c, by=user, now=now))


@router.post(
    "/family-doctors/contracts/{contract_id}/renew",
    response_model=ContractPublic,
    status_code=201,
    tags=["family doctors"],
)
def renew_contract(
    contract_id: uuid.UUID,
    data: ContractRenew,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> ContractPublic:
    """Create the next term; the resident may choose another team here."""
    c = _visible_contract(session, user, contract_id)
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
    return _contract(session, nxt)


@router.post(
    "/family-doctors/contracts/{contract_id}/terminate",
    response_model=ContractPublic,
    tags=["family doctors"],
)
def terminate_contract(
    contract_id: uuid.UUID,
    data: ReasonIn,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
) -> ContractPublic:
    """End a contract early (the resident, or a doctor of the team)."""
    c = _visible_contract(session, user, contract_id)
    own = user.role == Role.PATIENT and user.patient_id == c.patient_id
    if not own and not contracts.is_member(session=session, user=user, team_id=c.team_id):
        raise Forbidden("the resident or the team ends a contract", code="not_team_member")
    return _contract(
        session,
        contracts.terminate(session=session, contract=c, by=user, now=now, reason=data.reason),
    )


@router.get(
    "/family-doctors/contracts/{contract_id}/follow-ups",
    response_model=list[FollowUpPublic],
    tags=["family doctors"],
)
def follow_ups(
    contract_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> list[FollowUpPublic]:
    c = _visible_contract(session, user, contract_id)
    return [
        FollowUpPublic.model_validate(f, from_attributes=True)
        for f in contracts.follow_ups_of(session=session, contract_id=c.id)
    ]


@router.post(
    "/family-doctors/follow-ups/{follow_up_id}/done",
    response_model=FollowUpPublic,
    tags=["family doctors"],
)
def follow_up_done(
    follow_up_id: uuid.UUID, data: FollowUpDone, user: StaffUser, session: SessionDep, now: NowDep
) -> FollowUpPublic:
    fu = contracts.complete_follow_up(
        session=session,
        follow_up_id=follow_up_id,
        by=user,
        now=now,
        notes=data.notes,
        measurements=data.measurements,
    )
    return FollowUpPublic.model_validate(fu, from_attributes=True)


@router.post("/family-doctors/care-plans/{task_id}/done", tags=["family doctors"])
def care_plan_done(
    task_id: uuid.UUID, user: StaffUser, session: SessionDep, now: NowDep
) -> dict[str, Any]:
    task = service.complete_care_plan(session=session, task_id=task_id, by=user, now=now)
    return _json(task)


def _labels(session: Any, patient_ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    return contracts.patient_labels(session=session, patient_ids=patient_ids)


def _bed(
    session: Any, bed: Any, labels: dict[uuid.UUID, tuple[str, str]] | None = None
) -> HomeBedPublic:
    labels = labels if labels is not None else _labels(session, {bed.patient_id})
    name, masked = labels.get(bed.patient_id, (None, None))
    extra = {
        "visits",
        "patient_name",
        "patient_resident_id_masked",
        "next_visit_due",
        "home_visits",
    }
    return HomeBedPublic(
        **{k: v for k, v in _fields(bed, HomeBedPublic).items() if k not in extra},
        visits=[_json(v) for v in home.visits_of(session=session, bed_id=bed.id)],
        patient_name=name,
        patient_resident_id_masked=masked,
        next_visit_due=home.next_visit_due(session=session, bed=bed),
        home_visits=[
            _json(v)
            for v in home.home_visits_of_patient(
                session=session, team_id=bed.team_id, patient_id=bed.patient_id
            )
        ],
    )


@router.get(
    "/family-doctors/home-beds", response_model=list[HomeBedPublic], tags=["family doctors"]
)
def list_home_beds(
    team_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    status: Literal["admitted", "discharged"] | None = None,
) -> list[HomeBedPublic]:
    """The team's home sick beds (members of the team and admins), newest admission first."""
    _require_team_reader(session, user, team_id)
    beds = home.beds_of_team(session=session, team_id=team_id, status=status)
    audit.read(
        session,
        user,
        object_type="home_bed",
        patient_ids=[b.patient_id for b in beds],
        object_ids=[b.id for b in beds],
    )
    labels = _labels(session, {b.patient_id for b in beds})
    return [_bed(session, b, labels) for b in beds]


@router.post(
    "/family-doctors/home-beds",
    response_model=HomeBedPublic,
    status_code=201,
    tags=["family doctors"],
)
def admit_home_bed(
    data: HomeBedCreate, user: StaffUser, session: SessionDep, now: NowDep
) -> HomeBedPublic:
    """Admit a contracted resident to a home sick bed (家庭病床)."""
    bed = home.admit_home_bed(
        session=session,
        patient_id=data.patient_id,
        by=user,
        now=now,
        diagnosis_code=data.diagnosis_code,
        reason=data.reason,
        visit_interval_days=data.visit_interval_days,
        planned_services=data.planned_services,
    )
    return _bed(session, bed)


@router.get(
    "/family-doctors/home-beds/{bed_id}", response_model=HomeBedPublic, tags=["family doctors"]
)
def get_home_bed(bed_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> HomeBedPublic:
    bed = home.get_bed(session=session, bed_id=bed_id, user=user)
    audit.read(
        session, user, object_type="home_bed", object_id=bed.id, patient_ids=[bed.patient_id]
    )
    return _bed(session, bed)


@router.post(
    "/family-doctors/home-beds/{bed_id}/visits",
    response_model=HomeBedPublic,
    tags=["family doctors"],
)
def home_bed_visit(
    bed_id: uuid.UUID, data: BedVisitIn, user: StaffUser, session: SessionDep, now: NowDep
) -> HomeBedPublic:
    bed = home.get_bed(session=session, bed_id=bed_id, user=user)
    home.record_bed_visit(
        session=session,
        bed=bed,
        by=user,
        now=now,
        notes=data.notes,
        vitals=data.vitals,
        home_visit_id=data.home_visit_id,
    )
    return _bed(session, bed)


@router.post(
    "/family-doctors/home-beds/{bed_id}/discharge",
    response_model=HomeBedPublic,
    tags=["family doctors"],
)
def home_bed_discharge(
    bed_id: uuid.UUID, data: DischargeIn, user: StaffUser, session: SessionDep, now: NowDep
) -> HomeBedPublic:
    bed = home.get_bed(session=session, bed_id=bed_id, user=user)
    return _bed(
        session,
        home.discharge_bed(session=session, bed=bed, by=user, now=now, summary=data.summary),
    )


@router.post(
    "/family-doctors/home-visits",
    response_model=HomeVisitPublic,
    status_code=201,
    tags=["family doctors"],
)
def request_home_visit(
    data: HomeVisitCreate, user: CurrentUser, session: SessionDep, now: NowDep
) -> HomeVisitPublic:
    """A resident (or their team) asks for a home visit (上门服务)."""
    req = home.request_home_visit(
        session=session,
        patient_id=data.patient_id,
        by=user,
        now=now,
        reason=data.reason,
        preferred_date=data.preferred_date,
    )
    return HomeVisitPublic.model_validate(req, from_attributes=True)


@router.get(
    "/family-doctors/home-visits",
    response_model=list[HomeVisitPublic],
    tags=["family doctors"],
)
def list_home_visits(
    patient_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> list[HomeVisitPublic]:
    """A resident's home visits: all of them for the resident, their team's for its members."""
    rows = home.home_visits_for(session=session, patient_id=patient_id, user=user)
    audit.read(
        session,
        user,
        object_type="home_visit",
        patient_ids=[req.patient_id for req in rows],
        object_ids=[req.id for req in rows],
    )
    return [HomeVisitPublic.model_validate(r, from_attributes=True) for r in rows]


@router.get(
    "/family-doctors/home-visits/{visit_id}",
    response_model=HomeVisitPublic,
    tags=["family doctors"],
)
def get_home_visit(visit_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> HomeVisitPublic:
    req = home.get_home_visit(session=session, visit_id=visit_id, user=user)
    audit.read(
        session, user, object_type="home_visit", object_id=req.id, patient_ids=[req.patient_id]
    )
    return HomeVisitPublic.model_validate(req, from_attributes=True)


@router.post(
    "/family-doctors/home-visits/{visit_id}/schedule",
    response_model=HomeVisitPublic,
    tags=["family doctors"],
)
def schedule_home_visit(
    visit_id: uuid.UUID, data: HomeVisitSchedule, user: StaffUser, session: SessionDep, now: NowDep
) -> HomeVisitPublic:
    req = home.get_home_visit(session=session, visit_id=visit_id, user=user)
    req = home.schedule_home_visit(
        session=session,
        req=req,
        by=user,
        now=now,
        slot_id=data.slot_id,
        scheduled_at=data.scheduled_at,
    )
    return HomeVisitPublic.model_validate(req, from_attributes=True)


@router.post(
    "/family-doctors/home-visits/{visit_id}/{outcome}",
    response_model=HomeVisitPublic,
    tags=["family doctors"],
)
def finish_home_visit(
    visit_id: uuid.UUID,
    outcome: Literal["done", "cancel"],
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
) -> HomeVisitPublic:
    req = home.get_home_visit(session=session, visit_id=visit_id, user=user)
    req = home.finish_home_visit(session=session, req=req, by=user, now=now, done=outcome == "done")
    return HomeVisitPublic.model_validate(req, from_attributes=True)


@router.post("/referrals/jobs/run", tags=["referrals"])
def run_jobs(
    admin: AdminUser, session: SessionDep, now: NowDep, settings: SettingsDep
) -> dict[str, int]:
    """Run the periodic jobs now: contract expiry/activation/reminders and breach escalation
    (operators call this from cron; see docs/referrals.md)."""
    out = contracts.run_contract_jobs(session=session, now=now, settings=settings)
    out["escalated"] = service.escalate_breaches(session=session, now=now)
    return out


# ---------------------------------------------------------------- referrals


def _public(
    session: Any,
    r: Referral,
    user: User,
    now: datetime,
    labels: dict[uuid.UUID, tuple[str, str]] | None = None,
) -> ReferralPublic:
    """The referral as `user` sees it, with the patient's name and masked resident ID (whoever
    sees the referral may read its patient; reads are audited by the routes)."""
    parties = policy.parties_of(user, r)
    actions = [a for a in REFERRAL.allowed(r.status) if parties & set(policy.PARTIES.get(a, ()))]
    labels = labels if labels is not None else _labels(session, {r.patient_id})
    name, masked = labels.get(r.patient_id, (None, None))
    extra = {"allowed_actions", "contact_by_breached", "patient_name", "patient_resident_id_masked"}
    return ReferralPublic(
        **{k: v for k, v in _fields(r, ReferralPublic).items() if k not in extra},
        patient_name=name,
        patient_resident_id_masked=masked,
        allowed_actions=actions,
        contact_by_breached=bool(
            r.contact_by
            and r.contact_by < now
            and r.status in ("requested", "received", "accepted")
        ),
    )


def _waiting(r: Referral, now: datetime) -> dict[str, Any]:
    return {
        "referral_id": str(r.id),
        "patient_id": str(r.patient_id),
        "status": r.status,
        "urgency": r.urgency,
        "direction": r.direction,
        "contact_by": r.contact_by.isoformat() if r.contact_by else None,
        "breached": bool(r.contact_by and r.contact_by < now),
        "escalation_level": r.escalation_level,
    }


@router.post("/referrals", response_model=ReferralPublic, status_code=201)
def create_referral(
    data: ReferralCreate,
    user: StaffUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """Create a draft referral (checked against the tier policy); submit it next."""
    key = None
    if idempotency_key:
        key = idempotency.scoped_key(scope="referral.create", user_id=user.id, key=idempotency_key)
        previous = idempotency.claim(
            session=session, key=key, payload=data.model_dump(mode="json"), now=now
        )
        if previous is not None:
            return JSONResponse(previous.response, status_code=previous.status_code)
    r = service.create_referral(session=session, data=data, by=user, now=now, settings=settings)
    out = _public(session, r, user, now)
    if key:
        idempotency.store(
            session=session, key=key, status_code=201, response=out.model_dump(mode="json")
        )
    return out


@router.get("/referrals", response_model=Page[ReferralPublic])
def list_referrals(
    user: CurrentUser,
    session: SessionDep,
    page: PageDep,
    now: NowDep,
    role: Literal["sent", "received"] | None = None,
    status: str | None = None,
    patient_id: uuid.UUID | None = None,
) -> Page[ReferralPublic]:
    """Referrals the caller sees: sent, received, their own (patients) or their residents'."""
    stmt = service.list_for_user(
        session=session, user=user, role=role, status=status, patient_id=patient_id
    )
    rows, total = paginate(session, stmt, page)
    audit.read(
        session,
        user,
        object_type="referral",
        patient_ids=[r.patient_id for r in rows],
        object_ids=[r.id for r in rows],
    )
    labels = _labels(session, {r.patient_id for r in rows})
    return Page(
        items=[_public(session, r, user, now, labels) for r in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/referrals/worklist", response_model=list[dict[str, Any]])
def referral_worklist(user: StaffUser, session: SessionDep, now: NowDep) -> list[dict[str, Any]]:
    """Referrals waiting at the caller's institution with the date the patient will be
    contacted by (breached ones flagged): no referral waits unseen."""
    if user.institution_id is None:
        return []
    rows = service.receiver_worklist(session=session, institution_id=user.institution_id)
    audit.read(
        session,
        user,
        object_type="referral",
        patient_ids=[r.patient_id for r in rows],
        object_ids=[r.id for r in rows],
        what="worklist",
    )
    return [_waiting(r, now) for r in rows]


@router.get("/referrals/receivers", response_model=list[ReceiverProposal])
def propose_receivers(
    patient_id: uuid.UUID,
    direction: Literal["up", "down", "lateral"],
    user: StaffUser,
    session: SessionDep,
    specialty: str | None = None,
) -> list[ReceiverProposal]:
    """Candidate receivers for a referral in the order of the routing rule seen from the
    patient (docs/routing.md), each with its reason; down to the contracted team first."""
    patient = require_patient_read(session, user, patient_id)
    if user.institution_id is None:
        return []
    src = session.get(Institution, user.institution_id)
    assert src is not None
    if direction == "down":
        contract = contracts.active_contract_for(session=session, patient_id=patient.id)
        if contract is not None:
            team = contracts.get_team(session=session, team_id=contract.team_id)
            inst = session.get(Institution, team.institution_id)
            assert inst is not None
            return [
                ReceiverProposal(
                    institution_id=inst.id,
                    name_zh=inst.name_zh,
                    tier=inst.tier,
                    league_code=inst.league_code,
                    in_alliance=True,
                    alliance_ids=[],
                )
            ]
    props = policy.propose_receivers(
        session=session,
        src=src,
        direction=direction,
        patient_institution_id=patient.institution_id,
        specialty=specialty,
        where=policy.patient_place(session=session, patient=patient, src=src),
    )
    return [
        ReceiverProposal(
            institution_id=p.institution.id,
            name_zh=p.institution.name_zh,
            tier=p.institution.tier,
            league_code=p.institution.league_code,
            in_alliance=p.in_alliance,
            alliance_ids=p.alliance_ids,
            routing_tier=p.placement.tier.code,
            routing_rank=p.placement.tier.rank,
            distance_km=p.placement.distance_km,
            reason=RoutingReason(code=p.reason_code, params=p.reason_params),
        )
        for p in props
    ]


@router.get("/referrals/reports", response_model=ReferralReport)
def referral_reports(
    user: StaffUser,
    session: SessionDep,
    now: NowDep,
    since: datetime | None = None,
    until: datetime | None = None,
    league: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
) -> ReferralReport:
    """Aggregates (no patient data): up/down per alliance and league, acceptance times,
    closure rate, referrals waiting past their contact date."""
    return reports.referral_report(
        session=session, now=now, since=since, until=until, league_code=league
    )


@router.get("/referrals/{referral_id}", response_model=ReferralPublic)
def get_referral(
    referral_id: uuid.UUID, user: CurrentUser, session: SessionDep, now: NowDep
) -> ReferralPublic:
    r = service.get_referral(session=session, referral_id=referral_id, user=user)
    audit.read(session, user, object_type="referral", object_id=r.id, patient_ids=[r.patient_id])
    return _public(session, r, user, now)


@router.get("/referrals/{referral_id}/events", response_model=list[ReferralEventPublic])
def referral_events(
    referral_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> list[ReferralEventPublic]:
    """Where the referral stands: every transition with who, when and why."""
    r = service.get_referral(session=session, referral_id=referral_id, user=user)
    audit.read(session, user, object_type="referral", object_id=r.id, patient_ids=[r.patient_id])
    return [
        ReferralEventPublic.model_validate(e, from_attributes=True)
        for e in service.events_of(session=session, referral_id=r.id)
    ]


def _act(
    request_action: str,
    referral_id: uuid.UUID,
    user: User,
    session: Any,
    now: datetime,
    settings: Any,
    **kw: Any,
) -> ReferralPublic:
    r = service.transition(
        session=session,
        referral_id=referral_id,
        action=request_action,
        by=user,
        now=now,
        settings=settings,
        **kw,
    )
    return _public(session, r, user, now)


ACTIONS = {
    "submit": "submit",
    "receive": "receive",
    "accept": "accept",
    "reject": "reject",
    "return": "return_with_advice",
    "arrive": "arrive",
    "close": "close",
    "cancel": "cancel",
}


@router.post("/referrals/{referral_id}/book", response_model=ReferralPublic)
def book_referral(
    referral_id: uuid.UUID,
    data: BookIn,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> ReferralPublic:
    """Book the accepted referral into a slot (reserved capacity for the resident's own
    family doctor) or record an appointment time."""
    return _act(
        "book",
        referral_id,
        user,
        session,
        now,
        settings,
        slot_id=data.slot_id,
        appointment_at=data.appointment_at,
        idempotency_key=idempotency_key,
    )


@router.post("/referrals/{referral_id}/complete", response_model=ReferralPublic)
def complete_referral(
    referral_id: uuid.UUID,
    data: CompleteIn,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
) -> ReferralPublic:
    """The receiver completes the visit, optionally sending the outcome with it."""
    return _act("complete", referral_id, user, session, now, settings, outcome=data.outcome)


@router.post("/referrals/{referral_id}/outcome", response_model=ReferralPublic)
def referral_outcome(
    referral_id: uuid.UUID, data: OutcomeIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> ReferralPublic:
    """The receiver sends the outcome back (discharge or visit summary, recommendations)."""
    r = service.send_outcome(
        session=session, referral_id=referral_id, by=user, now=now, outcome=data
    )
    return _public(session, r, user, now)


@router.post("/referrals/{referral_id}/contact-by", response_model=ReferralPublic)
def referral_contact_by(
    referral_id: uuid.UUID, data: ContactByIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> ReferralPublic:
    """The receiver sets by when the waiting patient will be contacted."""
    r = service.set_contact_by(
        session=session,
        referral_id=referral_id,
        by=user,
        now=now,
        contact_by=data.contact_by,
        reason=data.reason,
    )
    return _public(session, r, user, now)


@router.get("/referrals/{referral_id}/studies")
def referral_studies(referral_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> list[Any]:
    """Imaging studies linked to the referral (visible to its participants)."""
    r = service.get_referral(session=session, referral_id=referral_id, user=user)
    audit.read(
        session, user, object_type="referral_studies", object_id=r.id, patient_ids=[r.patient_id]
    )
    return imaging.studies(session=session, referral_id=r.id)


@router.post("/referrals/{referral_id}/studies", response_model=ReferralPublic)
def link_referral_study(
    referral_id: uuid.UUID, data: StudyLinkIn, user: CurrentUser, session: SessionDep, now: NowDep
) -> ReferralPublic:
    """Attach an imaging study (who may: `dicom.policy`; referrer or receiver, while open)."""
    r = service.link_study(
        session=session, referral_id=referral_id, study_uid=data.study_uid, by=user, now=now
    )
    return _public(session, r, user, now)


@router.delete("/referrals/{referral_id}/studies/{study_uid}", response_model=ReferralPublic)
def unlink_referral_study(
    referral_id: uuid.UUID,
    study_uid: str,
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    ip: ClientIP,
) -> ReferralPublic:
    """Unlink a study from the referral (same rule as linking); its readers lose it at once."""
    r = service.unlink_study(
        session=session, referral_id=referral_id, study_uid=study_uid, by=user, now=now, ip=ip
    )
    return _public(session, r, user, now)


@router.get("/referrals/{referral_id}/filing", response_model=FilingPublic)
def referral_filing(referral_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> FilingPublic:
    """The cross-region treatment filing (异地就医备案) of a referral, when it needs one."""
    r = service.get_referral(session=session, referral_id=referral_id, user=user)
    filing = service.filing_of(session=session, referral_id=r.id)
    if filing is None:
        raise NotFound("this referral needs no cross-region filing")
    audit.read(
        session,
        user,
        object_type="referral_filing",
        object_id=filing.id,
        patient_ids=[r.patient_id],
    )
    return FilingPublic.model_validate(filing, from_attributes=True)


# Declared last: the generic action path would shadow the named ones above.
@router.post("/referrals/{referral_id}/{action}", response_model=ReferralPublic)
def referral_action(
    referral_id: uuid.UUID,
    action: Literal["submit", "receive", "accept", "reject", "return", "arrive", "close", "cancel"],
    user: CurrentUser,
    session: SessionDep,
    now: NowDep,
    settings: SettingsDep,
    data: ActionIn | None = None,
) -> ReferralPublic:
    """Move the referral on: submit, receive, accept, reject (reason), return (advice),
    arrive, close (the referrer acknowledges the outcome), cancel (reason)."""
    return _act(
        ACTIONS[action],
        referral_id,
        user,
        session,
        now,
        settings,
        reason=data.reason if data else None,
    )
