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

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from referrals.family.changes import record_change
from referrals.family.contract_queries import (
    active_contract_for,
    add_months,
    packages_of,
    patient_user_ids,
    today,
)
from referrals.family.follow_ups import generate_follow_ups
from referrals.family.models import (
    Contract,
    ContractPackage,
    ContractStatus,
    FamilyDoctorTeam,
    FollowUp,
    ServicePackage,
)
from referrals.family.packages import resolve_packages
from referrals.family.states import CONTRACT
from referrals.family.teams import check_capacity, is_member, lock_team, teams_of_user
from referrals.messages import MESSAGES
from telemed.core import audit, notifications
from telemed.core.errors import Conflict, Forbidden, Invalid, NotFound
from telemed.core.i18n import render
from telemed.core.settings import Settings
from telemed.identity import service as identity_service
from telemed.identity.models import DOCTOR_ROLES, Patient, Role, User
from telemed.identity.permissions import can_read_patient
from telemed.network.models import Institution

CONSENT_METHODS = ("written", "electronic_signature", "verbal_witnessed", "fingerprint")


def _may_sign_for(session: Session, doctor: User, team: FamilyDoctorTeam, patient: Patient) -> bool:
    """A team doctor signs residents of the team's county, or patients they may read."""
    inst = session.get(Institution, team.institution_id)
    if inst is not None and inst.county_code and patient.county_code == inst.county_code:
        return True
    return can_read_patient(session, doctor, patient)


def signable_patient(*, session: Session, by: User, patient_id: uuid.UUID) -> Patient:
    """A resident `by` may read or sign (a doctor of a team: residents of its county, found by
    their resident ID before they are contracted); the read audited, else 404 (refusal
    audited)."""
    patient = session.get(Patient, patient_id)
    visible = patient is not None and (
        can_read_patient(session, by, patient)
        or (
            by.role in DOCTOR_ROLES
            and any(
                _may_sign_for(session, by, team, patient)
                for team in session.execute(
                    select(FamilyDoctorTeam).where(
                        col(FamilyDoctorTeam.id).in_(teams_of_user(session=session, user_id=by.id))
                    )
                ).scalars()
            )
        )
    )
    found = audit.visible_or_404(
        session,
        by,
        patient,
        visible=visible,
        object_type="patient",
        ident=patient_id,
        patient_id=patient_id,
        reason="neither may read the resident nor sign them",
    )
    audit.read(session, by, object_type="patient", object_id=found.id, patient_ids=[found.id])
    return found


def _refuse_patient(session: Session, by: User, patient: Patient, reason: str) -> NotFound:
    """The 404 for a patient the caller may not sign (no existence leak); refusal audited."""
    audit.refused(
        session, by, object_type="patient", object_id=patient.id, patient_id=patient.id,
        reason=reason,
    )  # fmt: skip
    return NotFound(f"patient {patient.id} not found")


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


def _second_active() -> Conflict:
    """The 409 of the partial unique index: one active contract per resident."""
    return Conflict(
        "the resident already has an active family-doctor contract", code="active_contract_exists"
    )


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
        raise _second_active() from exc
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
    team = lock_team(session, team_id)
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
    check_capacity(session, team, settings)
    packages = resolve_packages(session, package_codes, patient, start)
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
    record_change(session, by, "sign", contract, now=now, detail={"channel": channel})
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
    record_change(session, by, "confirm", contract, now=now)
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
        raise _second_active() from exc
    _on_activated(session, contract, now)
    return contract


def _tell(
    session: Session,
    contract: Contract,
    code: str,
    user_ids: list[uuid.UUID],
    now: datetime,
    *,
    kind: str | None = None,
    texted: bool = False,
) -> None:
    """Message `code` about `contract` (its term's `start` and `end` filled in) to each of
    `user_ids` in their language; with `texted` the resident's SMS too, in theirs."""
    params: dict[str, object] = {"start": contract.term_start, "end": contract.term_end}
    data = {"contract_id": str(contract.id), "term_end": contract.term_end.isoformat()}
    languages = identity_service.user_languages(session=session, user_ids=user_ids)
    for user_id in user_ids:
        text = render(MESSAGES, code, languages.get(user_id), **params)
        notifications.enqueue(
            session=session,
            user_id=user_id,
            kind=kind or code,
            code=code,
            params=params,
            title=text.title,
            body=text.body,
            data=data,
            now=now,
        )
    if texted:
        language = identity_service.patient_language(
            session=session, patient_id=contract.patient_id
        )
        text = render(MESSAGES, code, language, **params)
        notifications.text_patient(
            session=session,
            patient_id=contract.patient_id,
            kind=kind or code,
            code=code,
            params=params,
            title=text.title,
            body=text.body,
            data=data,
            now=now,
        )


def _on_activated(session: Session, contract: Contract, now: datetime) -> None:
    generate_follow_ups(session=session, contract=contract)
    residents = patient_user_ids(session=session, patient_id=contract.patient_id)
    _tell(session, contract, "contract.active", residents, now)


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
    record_change(session, by, "terminate", contract, now=now, detail={"reason": reason[:200]})
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
    team = lock_team(session, new_team_id)
    channel, consent_record, confirmed = _signing(
        session=session, team=team, patient=patient, by=by, consent=consent, now=now
    )
    if new_team_id != contract.team_id:
        check_capacity(session, team, settings)
    codes = (
        package_codes
        if package_codes is not None
        else packages_of(session=session, contract_id=contract.id)
    )
    packages = resolve_packages(session, codes, patient, contract.term_end)
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
    record_change(
        session, by, "renew", nxt, now=now, detail={"previous_contract_id": str(contract.id)}
    )
    return nxt


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
        _tell(session, c, "contract.expiring", residents, now, texted=True)
        # the team lead reads it in the app; SMS speaks to the resident (account or not)
        if team:
            _tell(
                session,
                c,
                "contract.expiring.staff",
                [team.lead_doctor_id],
                now,
                kind="contract.expiring",
            )
        c.reminder_sent_at = now
        reminded += 1
    session.flush()
    return {"expired": expired, "activated": activated, "reminded": reminded}
