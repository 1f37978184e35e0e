"""Reading contracts: a resident's active contract, who may see a contract, lists, labels."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from referrals.family.models import Contract, ContractPackage, ContractStatus, FamilyDoctorTeam
from referrals.family.teams import is_member, teams_of_user
from telemed.core import audit
from telemed.core.clock import to_shanghai
from telemed.core.errors import NotFound
from telemed.identity.models import DOCTOR_ROLES, Patient, Role, User


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
    """The codes of the contract's packages, sorted."""
    return packages_by_contract(session=session, contract_ids=[contract_id])[contract_id]


def packages_by_contract(
    *, session: Session, contract_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    """The package codes of each contract (sorted), in one query."""
    ids = list(dict.fromkeys(contract_ids))
    out: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    if ids:
        for contract_id, code in session.execute(
            select(ContractPackage.contract_id, ContractPackage.package_code)
            .where(col(ContractPackage.contract_id).in_(ids))
            .order_by(col(ContractPackage.package_code))
        ).all():
            out[contract_id].append(code)
    return out


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
    rows = contracts_of_patient(session=session, patient_id=patient_id)
    if user.role in (Role.ADMIN, Role.PATIENT):
        return [c for c in rows if can_see_contract(session=session, user=user, contract=c)]
    mine = set(teams_of_user(session=session, user_id=user.id))  # once, not per contract
    return [c for c in rows if c.team_id in mine or _at_team_institution(session, user, c)]


def can_see_contract(*, session: Session, user: User, contract: Contract) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.PATIENT:
        return user.patient_id == contract.patient_id
    if _at_team_institution(session, user, contract):
        return True
    return is_member(session=session, user=user, team_id=contract.team_id)


def _at_team_institution(session: Session, user: User, contract: Contract) -> bool:
    """Staff of the institution of the contract's team."""
    team = session.get(FamilyDoctorTeam, contract.team_id)
    return team is not None and user.institution_id == team.institution_id


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


def patient_user_ids(*, session: Session, patient_id: uuid.UUID) -> list[uuid.UUID]:
    return list(session.execute(select(User.id).where(User.patient_id == patient_id)).scalars())
