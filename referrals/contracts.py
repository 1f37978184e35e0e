"""Family-doctor teams, service packages and contracts (家庭医生签约服务).

A resident signs with one team for one year: pending -> active -> expired | terminated.
Renewal creates the next term (pending, activated when the current one expires);
switching team happens only at renewal unless the resident moves. One active
contract per resident is a partial unique index in the database; a concurrent
second activation fails there and is reported as 409 `active_contract_exists`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from referrals.models import (
    DOCTOR_TEAM_ROLES,
    Contract,
    ContractPackage,
    ContractStatus,
    FamilyDoctorTeam,
    FollowUp,
    ServicePackage,
    TeamMember,
    TeamRole,
)
from referrals.packages import CATALOGUE
from referrals.states import CONTRACT
from telemed.core import audit, notifications
from telemed.core.clock import to_shanghai
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.settings import Settings
from telemed.identity.models import DOCTOR_ROLES, Patient, Role, User
from telemed.identity.permissions import can_read_patient
from telemed.network.models import PRIMARY_TIERS, Institution

CONSENT_METHODS = ("written", "electronic_signature", "verbal_witnessed", "fingerprint")


def today(now: datetime) -> date:
    """The calendar day in Asia/Shanghai: contract terms are local dates."""
    return to_shanghai(now).date()


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- packages


def ensure_packages(*, session: Session) -> list[ServicePackage]:
    """Load the package catalogue (idempotent)."""
    rows = []
    for spec in CATALOGUE:
        row = session.get(ServicePackage, spec.code)
        if row is None:
            row = ServicePackage(
                code=spec.code,
                name_zh=spec.name_zh,
                name_en=spec.name_en,
                kind=spec.kind,
                services=list(spec.services),
                visits_per_year=spec.visits_per_year,
                follow_up_interval_days=spec.follow_up_interval_days,
                fee_fen=spec.fee_fen,
                insurance_share_pct=spec.insurance_share_pct,
                eligibility=spec.eligibility,
            )
            session.add(row)
        rows.append(row)
    session.flush()
    return rows


def list_packages(*, session: Session) -> list[ServicePackage]:
    return list(session.execute(select(ServicePackage).order_by(ServicePackage.code)).scalars())


def _check_eligibility(pkg: ServicePackage, patient: Patient, on: date) -> None:
    age = (
        on.year
        - patient.birth_date.year
        - ((on.month, on.day) < (patient.birth_date.month, patient.birth_date.day))
    )
    ok = {
        None: True,
        "age65": age >= 65,
        "child0_6": age <= 6,
        "female": patient.sex == "female",
    }.get(pkg.eligibility, True)
    if not ok:
        raise Invalid(
            f"package {pkg.code!r} is not for this resident ({pkg.eligibility})",
            field="package_codes",
            code="package_not_eligible",
        )


# ---------------------------------------------------------------- teams


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
    return list(
        session.execute(
            select(TeamMember).where(TeamMember.team_id == team_id).order_by(TeamMember.role)
        ).scalars()
    )


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
    if team.capacity is not None:
        return team.capacity
    doctors = session.execute(
        select(func.count()).where(
            TeamMember.team_id == team.id,
            col(TeamMember.role).in_([r.value for r in DOCTOR_TEAM_ROLES]),
        )
    ).scalar_one()
    return int(doctors) * settings.referrals.residents_per_family_doctor


def contracted_count(*, session: Session, team_id: uuid.UUID) -> int:
    """Distinct residents with a pending or active contract with the team."""
    return int(
        session.execute(
            select(func.count(func.distinct(Contract.patient_id))).where(
                Contract.team_id == team_id,
                col(Contract.status).in_([ContractStatus.PENDING, ContractStatus.ACTIVE]),
            )
        ).scalar_one()
    )


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


# ---------------------------------------------------------------- contracts


def active_contract_for(*, session: Session, patient_id: uuid.UUID) -> Contract | None:
    """The resident's active contract, if any."""
    return session.execute(
        select(Contract).where(
            Contract.patient_id == patient_id, Contract.status == ContractStatus.ACTIVE
        )
    ).scalar_one_or_none()


def contract_institution_of(*, session: Session, patient_id: uuid.UUID) -> uuid.UUID | None:
    """The institution of the team holding the resident's active contract, if any."""
    contract = active_contract_for(session=session, patient_id=patient_id)
    if contract is None:
        return None
    team = session.get(FamilyDoctorTeam, contract.team_id)
    return team.institution_id if team else None


def contract_institution_column(patient_id: Any) -> Any:
    """`contract_institution_of` as a scalar subquery correlated to `patient_id` (a column or
    bound parameter), for callers that read the patient's place in one statement."""
    return (
        select(FamilyDoctorTeam.institution_id)
        .join(Contract, col(Contract.team_id) == FamilyDoctorTeam.id)
        .where(Contract.patient_id == patient_id, Contract.status == ContractStatus.ACTIVE)
        .scalar_subquery()
    )


def is_contracted_doctor(*, session: Session, user: User, patient_id: uuid.UUID) -> bool:
    """True when `user` is a doctor of the team holding the resident's active contract."""
    if user.role not in DOCTOR_ROLES:
        return False
    contract = active_contract_for(session=session, patient_id=patient_id)
    return contract is not None and is_member(session=session, user=user, team_id=contract.team_id)


def packages_of(*, session: Session, contract_id: uuid.UUID) -> list[str]:
    return list(
        session.execute(
            select(ContractPackage.package_code)
            .where(ContractPackage.contract_id == contract_id)
            .order_by(ContractPackage.package_code)
        ).scalars()
    )


def get_contract(*, session: Session, contract_id: uuid.UUID) -> Contract:
    contract = session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"contract {contract_id} not found")
    return contract


def visible_contract(*, session: Session, user: User, contract_id: uuid.UUID) -> Contract:
    """A contract the user may see; 404 otherwise (the refusal audited)."""
    c = session.get(Contract, contract_id)
    return audit.visible_or_404(
        session,
        user,
        c,
        visible=c is not None and can_see_contract(session=session, user=user, contract=c),
        object_type="contract",
        ident=contract_id,
        reason="neither the resident nor staff of the contract's team or institution",
    )


def read_contract(*, session: Session, user: User, contract_id: uuid.UUID) -> Contract:
    """`visible_contract`, the read audited (the REST and FHIR reads of one contract)."""
    c = visible_contract(session=session, user=user, contract_id=contract_id)
    audit.read(session, user, object_type="contract", object_id=c.id, patient_ids=[c.patient_id])
    return c


def visible_contracts_of_patient(
    *, session: Session, user: User, patient_id: uuid.UUID
) -> list[Contract]:
    """A resident's contracts the user may see, newest term first (not audited: the caller
    audits what it shows)."""
    return [
        c
        for c in contracts_of_patient(session=session, patient_id=patient_id)
        if can_see_contract(session=session, user=user, contract=c)
    ]


def can_see_contract(*, session: Session, user: User, contract: Contract) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.PATIENT:
        return user.patient_id == contract.patient_id
    team = session.get(FamilyDoctorTeam, contract.team_id)
    if team is not None and user.institution_id == team.institution_id:
        return True
    return is_member(session=session, user=user, team_id=contract.team_id)


def contracts_of_patient(*, session: Session, patient_id: uuid.UUID) -> list[Contract]:
    return list(
        session.execute(
            select(Contract)
            .where(Contract.patient_id == patient_id)
            .order_by(col(Contract.term_start).desc(), col(Contract.created_at).desc())
        ).scalars()
    )


def contracts_of_team(
    *, session: Session, team_id: uuid.UUID, status: str | None = None
) -> list[Contract]:
    """A team's contracts (optionally of one status), oldest signing first: the pending ones
    are the app signings waiting for a doctor of the team to confirm."""
    stmt = select(Contract).where(Contract.team_id == team_id)
    if status is not None:
        stmt = stmt.where(Contract.status == status)
    return list(session.execute(stmt.order_by(col(Contract.signed_at), col(Contract.id))).scalars())


def patient_labels(
    *, session: Session, patient_ids: set[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Display name and masked resident ID of each patient (callers authorize and audit)."""
    if not patient_ids:
        return {}
    rows = session.execute(
        select(Patient.id, Patient.name, Patient.resident_id_masked).where(
            col(Patient.id).in_(patient_ids)
        )
    ).all()
    return {pid: (name, masked) for pid, name, masked in rows}


def _may_sign_for(session: Session, doctor: User, team: FamilyDoctorTeam, patient: Patient) -> bool:
    """A team doctor signs residents of the team's county, or patients they may read."""
    inst = session.get(Institution, team.institution_id)
    if inst is not None and inst.county_code and patient.county_code == inst.county_code:
        return True
    return can_read_patient(session, doctor, patient)


def _refuse_patient(session: Session, by: User, patient: Patient, reason: str) -> NotFound:
    """The 404 for a patient the caller may not sign (no existence leak); refusal audited."""
    audit.refused(
        session, by, object_type="patient", object_id=patient.id, patient_id=patient.id,
        reason=reason,
    )  # fmt: skip
    return NotFound(f"patient {patient.id} not found")


def _audit(
    session: Session,
    by: User | None,
    action: str,
    contract: Contract,
    *,
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """The audit row of a change of a contract, naming its resident."""
    audit.record(
        session=session,
        by=by,
        actor_role=None if by else "system",
        action=action,
        object_type="contract",
        object_id=contract.id,
        patient_id=contract.patient_id,
        detail={"status": contract.status, **(detail or {})},
        at=now,
    )


def _signing(
    *,
    session: Session,
    team: FamilyDoctorTeam,
    patient: Patient,
    by: User,
    consent: dict[str, Any] | None,
    now: datetime,
) -> tuple[str, dict[str, Any], bool]:
    """Who signs and how: (channel, consent record, confirmed)."""
    if by.role == Role.PATIENT:
        if by.patient_id != patient.id:
            raise _refuse_patient(session, by, patient, "a resident signs only for themselves")
        return "app", {"method": "in_app", "recorded_at": now.isoformat(), "by": str(by.id)}, False
    if by.role not in DOCTOR_ROLES or not is_member(session=session, user=by, team_id=team.id):
        raise Forbidden(
            "only the resident or a doctor of this team may sign", code="not_team_doctor"
        )
    if not _may_sign_for(session, by, team, patient):
        raise _refuse_patient(session, by, patient, "signs a resident outside the team's county")
    if not consent or consent.get("method") not in CONSENT_METHODS:
        raise Invalid(
            f"signing on the resident's behalf needs their recorded consent "
            f"(method one of {', '.join(CONSENT_METHODS)})",
            field="consent",
            code="consent_required",
        )
    record = {**consent, "recorded_at": now.isoformat(), "recorded_by": str(by.id)}
    return "doctor", record, True


def _lock_team(session: Session, team_id: uuid.UUID) -> FamilyDoctorTeam:
    team = session.execute(
        select(FamilyDoctorTeam)
        .where(FamilyDoctorTeam.id == team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if team is None or not team.is_active:
        raise NotFound(f"team {team_id} not found")
    return team


def _check_capacity(session: Session, team: FamilyDoctorTeam, settings: Settings) -> None:
    cap = capacity_of(session=session, team=team, settings=settings)
    used = contracted_count(session=session, team_id=team.id)
    if used >= cap:
        raise Conflict(
            f"team {team.name!r} is at capacity ({used} of {cap} residents)",
            code="team_over_capacity",
            capacity=cap,
            contracted=used,
        )


def _resolve_packages(
    session: Session, codes: list[str], patient: Patient, on: date
) -> list[ServicePackage]:
    wanted = ["basic", *[c for c in codes if c != "basic"]]
    pkgs = []
    for code in dict.fromkeys(wanted):
        pkg = session.get(ServicePackage, code)
        if pkg is None:
            raise Invalid(f"unknown package {code!r}", field="package_codes")
        _check_eligibility(pkg, patient, on)
        pkgs.append(pkg)
    return pkgs


def _insert_contract(
    session: Session, contract: Contract, packages: list[ServicePackage]
) -> Contract:
    try:
        with session.begin_nested():
            session.add(contract)
            session.flush()
            for pkg in packages:
                session.add(ContractPackage(contract_id=contract.id, package_code=pkg.code))
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "the resident already has an active family-doctor contract",
            code="active_contract_exists",
        ) from exc
    return contract


def sign_contract(
    *,
    session: Session,
    patient_id: uuid.UUID,
    team_id: uuid.UUID,
    package_codes: list[str],
    by: User,
    now: datetime,
    settings: Settings,
    consent: dict[str, Any] | None = None,
    term_start: date | None = None,
    moving: bool = False,
) -> Contract:
    """Sign a resident with a team: in the app (pending until the team confirms) or by a
    team doctor with recorded consent (active at once when the term has started)."""
    patient = session.get(Patient, patient_id)
    if patient is None:
        raise NotFound(f"patient {patient_id} not found")
    team = _lock_team(session, team_id)
    channel, consent_record, confirmed = _signing(
        session=session, team=team, patient=patient, by=by, consent=consent, now=now
    )
    start = term_start or today(now)
    if start < today(now):
        raise Invalid("a contract cannot start in the past", field="term_start")
    current = active_contract_for(session=session, patient_id=patient_id)
    if current is not None:
        if current.team_id == team_id:
            raise Conflict(
                "the resident is already contracted with this team; renew instead",
                code="already_contracted",
                contract_id=str(current.id),
            )
        if not moving:
            raise Conflict(
                "residents switch teams only at renewal, unless they move",
                code="switch_only_at_renewal",
                contract_id=str(current.id),
            )
        terminate(session=session, contract=current, by=by, now=now, reason="resident moved")
    pending = session.execute(
        select(Contract.id).where(
            Contract.patient_id == patient_id, Contract.status == ContractStatus.PENDING
        )
    ).first()
    if pending is not None:
        raise Conflict(
            "the resident has a pending contract",
            code="contract_pending",
            contract_id=str(pending[0]),
        )
    _check_capacity(session, team, settings)
    packages = _resolve_packages(session, package_codes, patient, start)
    activate_now = confirmed and start <= today(now)
    contract = Contract(
        patient_id=patient_id,
        team_id=team_id,
        status=ContractStatus.ACTIVE if activate_now else ContractStatus.PENDING,
        term_start=start,
        term_end=add_months(start, settings.referrals.contract_months),
        signing_channel=channel,
        signed_by_id=by.id,
        signed_at=now,
        consent=consent_record,
        confirmed_at=now if confirmed else None,
        activated_at=now if activate_now else None,
        created_at=now,
    )
    _insert_contract(session, contract, packages)
    _audit(session, by, "sign", contract, now=now, detail={"channel": channel})
    if activate_now:
        _on_activated(session, contract, now)
    return contract


def confirm(*, session: Session, contract: Contract, by: User, now: datetime) -> Contract:
    """A team doctor confirms a resident's app signing; active once the term has started."""
    if by.role not in DOCTOR_ROLES or not is_member(
        session=session, user=by, team_id=contract.team_id
    ):
        raise Forbidden("only a doctor of the team confirms", code="not_team_doctor")
    if contract.status != ContractStatus.PENDING:
        raise Conflict(f"contract is {contract.status}", code="not_pending")
    contract.confirmed_at = now
    session.flush()
    _audit(session, by, "confirm", contract, now=now)
    if contract.term_start <= today(now):
        activate(session=session, contract=contract, now=now)
    return contract


def activate(*, session: Session, contract: Contract, now: datetime) -> Contract:
    """pending -> active; a second active contract fails on the database index."""
    contract.status = CONTRACT.next(contract.status, "activate")
    contract.activated_at = now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "the resident already has an active family-doctor contract",
            code="active_contract_exists",
        ) from exc
    _on_activated(session, contract, now)
    return contract


def _on_activated(session: Session, contract: Contract, now: datetime) -> None:
    generate_follow_ups(session=session, contract=contract)
    for user_id in patient_user_ids(session=session, patient_id=contract.patient_id):
        notifications.enqueue(
            session=session,
            user_id=user_id,
            kind="contract.active",
            title="家庭医生签约已生效 Family-doctor contract active",
            body=f"{contract.term_start} – {contract.term_end}",
            data={"contract_id": str(contract.id)},
            now=now,
        )


def terminate(
    *, session: Session, contract: Contract, by: User, now: datetime, reason: str
) -> Contract:
    """End a contract early (resident's wish, move, death ...); the reason is recorded."""
    if not reason.strip():
        raise Invalid("a reason is required", field="reason")
    contract.status = CONTRACT.next(contract.status, "terminate")
    contract.ended_at = now
    contract.end_reason = reason
    contract.ended_by_id = by.id
    # Follow-ups of the ended term drop off the worklist.
    for fu in session.execute(
        select(FollowUp).where(FollowUp.contract_id == contract.id, col(FollowUp.done_at).is_(None))
    ).scalars():
        session.delete(fu)
    session.flush()
    _audit(session, by, "terminate", contract, now=now, detail={"reason": reason[:200]})
    return contract


def renew(
    *,
    session: Session,
    contract: Contract,
    by: User,
    now: datetime,
    settings: Settings,
    team_id: uuid.UUID | None = None,
    package_codes: list[str] | None = None,
    consent: dict[str, Any] | None = None,
) -> Contract:
    """Create the next term (pending, starting when this one ends); the team may change."""
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(
            f"only an active contract is renewed; this one is {contract.status}", code="not_active"
        )
    existing = session.execute(
        select(Contract.id).where(Contract.previous_contract_id == contract.id)
    ).first()
    if existing is not None:
        raise Conflict(
            "the next term exists already", code="renewal_exists", contract_id=str(existing[0])
        )
    patient = session.get(Patient, contract.patient_id)
    assert patient is not None
    new_team_id = team_id or contract.team_id
    team = _lock_team(session, new_team_id)
    channel, consent_record, confirmed = _signing(
        session=session, team=team, patient=patient, by=by, consent=consent, now=now
    )
    if new_team_id != contract.team_id:
        _check_capacity(session, team, settings)
    codes = (
        package_codes
        if package_codes is not None
        else packages_of(session=session, contract_id=contract.id)
    )
    packages = _resolve_packages(session, codes, patient, contract.term_end)
    nxt = Contract(
        patient_id=contract.patient_id,
        team_id=new_team_id,
        status=ContractStatus.PENDING,
        term_start=contract.term_end,
        term_end=add_months(contract.term_end, settings.referrals.contract_months),
        signing_channel=channel,
        signed_by_id=by.id,
        signed_at=now,
        consent=consent_record,
        confirmed_at=now if confirmed else None,
        previous_contract_id=contract.id,
        created_at=now,
    )
    _insert_contract(session, nxt, packages)
    _audit(session, by, "renew", nxt, now=now, detail={"previous_contract_id": str(contract.id)})
    return nxt


def patient_user_ids(*, session: Session, patient_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.execute(select(User.id).where(User.patient_id == patient_id)).scalars())


def run_contract_jobs(*, session: Session, now: datetime, settings: Settings) -> dict[str, int]:
    """Expire ended terms, activate the next ones, remind residents before expiry."""
    day = today(now)
    expired = activated = reminded = 0
    for c in session.execute(
        select(Contract)
        .where(Contract.status == ContractStatus.ACTIVE, Contract.term_end <= day)
        .with_for_update(skip_locked=True)
    ).scalars():
        c.status = CONTRACT.next(c.status, "expire")
        c.ended_at = now
        c.end_reason = "term ended"
        expired += 1
    session.flush()
    for c in session.execute(
        select(Contract)
        .where(
            Contract.status == ContractStatus.PENDING,
            col(Contract.confirmed_at).is_not(None),
            Contract.term_start <= day,
        )
        .order_by(col(Contract.term_start))
        .with_for_update(skip_locked=True)
    ).scalars():
        if active_contract_for(session=session, patient_id=c.patient_id) is None:
            activate(session=session, contract=c, now=now)
            activated += 1
    horizon = day + timedelta(days=settings.referrals.expiry_reminder_days)
    renewed = select(Contract.previous_contract_id).where(
        col(Contract.previous_contract_id).is_not(None)
    )
    for c in session.execute(
        select(Contract).where(
            Contract.status == ContractStatus.ACTIVE,
            Contract.term_end <= horizon,
            col(Contract.reminder_sent_at).is_(None),
            col(Contract.id).not_in(renewed),
        )
    ).scalars():
        team = session.get(FamilyDoctorTeam, c.team_id)
        residents = patient_user_ids(session=session, patient_id=c.patient_id)
        title = "家庭医生签约即将到期 Contract expires soon"
        body = f"the contract ends on {c.term_end}; renew to keep your family doctor"
        data = {"contract_id": str(c.id), "term_end": c.term_end.isoformat()}
        for user_id in [*residents, *([team.lead_doctor_id] if team else [])]:
            notifications.enqueue(
                session=session,
                user_id=user_id,
                kind="contract.expiring",
                title=title,
                body=body,
                data=data,
                now=now,
            )
        # SMS speaks to the resident (account or not); the team lead reads it in the app
        notifications.text_patient(
            session=session,
            patient_id=c.patient_id,
            kind="contract.expiring",
            title=title,
            body=body,
            data=data,
            now=now,
        )
        c.reminder_sent_at = now
        reminded += 1
    session.flush()
    return {"expired": expired, "activated": activated, "reminded": reminded}


# ---------------------------------------------------------------- follow-ups


def generate_follow_ups(*, session: Session, contract: Contract) -> list[FollowUp]:
    """The follow-up schedule of the term for every chronic package of the contract."""
    rows = []
    for code in packages_of(session=session, contract_id=contract.id):
        pkg = session.get(ServicePackage, code)
        if pkg is None or not pkg.follow_up_interval_days:
            continue
        due = contract.term_start + timedelta(days=pkg.follow_up_interval_days)
        while due <= contract.term_end:
            row = FollowUp(
                contract_id=contract.id,
                team_id=contract.team_id,
                patient_id=contract.patient_id,
                package_code=code,
                due_on=due,
            )
            session.add(row)
            rows.append(row)
            due += timedelta(days=pkg.follow_up_interval_days)
    session.flush()
    return rows


def follow_ups_of(*, session: Session, contract_id: uuid.UUID) -> list[FollowUp]:
    return list(
        session.execute(
            select(FollowUp)
            .where(FollowUp.contract_id == contract_id)
            .order_by(col(FollowUp.due_on))
        ).scalars()
    )


def complete_follow_up(
    *,
    session: Session,
    follow_up_id: uuid.UUID,
    by: User,
    now: datetime,
    notes: str,
    measurements: dict[str, Any],
) -> FollowUp:
    found = session.get(FollowUp, follow_up_id)
    fu = audit.visible_or_404(
        session,
        by,
        found,
        visible=found is not None
        and (by.role == Role.ADMIN or is_member(session=session, user=by, team_id=found.team_id)),
        object_type="follow_up",
        ident=follow_up_id,
        label="follow-up",
        reason="not a member of the resident's team",
    )
    if fu.done_at is not None:
        raise Conflict("follow-up already recorded", code="already_done")
    fu.done_at = now
    fu.done_by_id = by.id
    fu.notes = notes
    fu.measurements = measurements
    session.flush()
    audit.record(
        session=session,
        by=by,
        action="done",
        object_type="follow_up",
        object_id=fu.id,
        patient_id=fu.patient_id,
        detail={"contract_id": str(fu.contract_id)},
        at=now,
    )
    return fu


def overdue_follow_ups(*, session: Session, team_id: uuid.UUID, now: datetime) -> list[FollowUp]:
    return list(
        session.execute(
            select(FollowUp)
            .join(Contract, col(Contract.id) == FollowUp.contract_id)
            .where(
                FollowUp.team_id == team_id,
                col(FollowUp.done_at).is_(None),
                FollowUp.due_on < today(now),
                Contract.status == ContractStatus.ACTIVE,
            )
            .order_by(col(FollowUp.due_on))
        ).scalars()
    )
