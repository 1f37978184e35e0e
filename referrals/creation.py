"""Creating a referral (checked against the tier policy) and linking studies to it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from referrals import imaging, policy
from referrals.access import visible_referral
from referrals.events import lock_referral, record_event
from referrals.family.contract_queries import active_contract_for
from referrals.family.models import FamilyDoctorTeam
from referrals.family.teams import get_team
from referrals.models import Referral
from referrals.schemas import ReferralCreate
from referrals.states import OPEN
from telemed.core.errors import Conflict, Forbidden, Invalid
from telemed.core.settings import Settings
from telemed.identity import permissions
from telemed.identity.models import Patient, User
from telemed.network.models import Department, Institution


def institution(session: Session, inst_id: uuid.UUID, field: str) -> Institution:
    inst = session.get(Institution, inst_id)
    if inst is None:
        raise Invalid(f"institution {inst_id} not found", field=field)
    return inst


def _require_act_for(session: Session, user: User, patient_id: uuid.UUID) -> Patient:
    patient = permissions.require_patient_read(session, user, patient_id)
    if not permissions.can_act_for_patient(session, user, patient):
        raise Forbidden("you may not act for this patient", code="may_not_act_for_patient")
    return patient


# A referral in these states still stands for the patient at its destination: a second one
# there is most likely a mistake (a completed one has done its work, awaiting the close).
STANDING = ("draft", *(s for s in OPEN if s != "completed"))


def open_duplicate(
    session: Session,
    patient_id: uuid.UUID,
    to_institution_id: uuid.UUID,
    to_department_id: uuid.UUID | None,
) -> Referral | None:
    """The patient's standing referral to the same institution and department (either side
    naming no department counts as the same), the oldest first."""
    stmt = select(Referral).where(
        Referral.patient_id == patient_id,
        Referral.to_institution_id == to_institution_id,
        col(Referral.status).in_(STANDING),
    )
    if to_department_id is not None:
        stmt = stmt.where(
            or_(
                col(Referral.to_department_id).is_(None),
                col(Referral.to_department_id) == to_department_id,
            )
        )
    return session.execute(stmt.order_by(col(Referral.created_at)).limit(1)).scalars().first()


def _refuse_duplicate(
    session: Session,
    patient_id: uuid.UUID,
    to_institution_id: uuid.UUID,
    to_department_id: uuid.UUID | None,
) -> None:
    found = open_duplicate(session, patient_id, to_institution_id, to_department_id)
    if found is not None:
        raise Conflict(
            "the patient has an open referral to this destination; confirm to refer again",
            code="duplicate_referral",
            open_referral_id=str(found.id),
            open_referral_status=found.status,
            open_referral_urgency=found.urgency,
        )


def create_referral(
    *, session: Session, data: ReferralCreate, by: User, now: datetime, settings: Settings
) -> Referral:
    """Create a draft referral after checking the tier policy."""
    if by.role not in policy.ACT_ROLES or by.institution_id is None:
        raise Forbidden("only doctors and coordinators of an institution refer")
    patient = _require_act_for(session, by, data.patient_id)
    src = institution(session, by.institution_id, "from_institution_id")
    team: FamilyDoctorTeam | None = None
    to_institution_id = data.to_institution_id
    if data.direction == "down":
        contract = active_contract_for(session=session, patient_id=patient.id)
        if contract is not None:
            team = get_team(session=session, team_id=contract.team_id)
            if to_institution_id is not None and to_institution_id != team.institution_id:
                raise Invalid(
                    "a downward referral of a contracted resident goes to their family-doctor "
                    "team's institution",
                    field="to_institution_id",
                    code="not_contracted_team",
                    team_institution_id=str(team.institution_id),
                )
            to_institution_id = team.institution_id
        if not (data.care_plan or "").strip():
            raise Invalid(
                "downward referrals carry a care plan", field="care_plan", code="care_plan_required"
            )
    if to_institution_id is None:
        raise Invalid("the receiving institution is required", field="to_institution_id")
    dst = institution(session, to_institution_id, "to_institution_id")
    if dst.id == src.id:
        raise Invalid("a referral goes to another institution", field="to_institution_id")
    if data.to_department_id is not None:
        dept = session.get(Department, data.to_department_id)
        if dept is None or dept.institution_id != dst.id:
            raise Invalid("department not at the receiving institution", field="to_department_id")
    if data.to_specialist_id is not None:
        spec = session.get(User, data.to_specialist_id)
        if spec is None or spec.institution_id != dst.id:
            raise Invalid("specialist not at the receiving institution", field="to_specialist_id")
    if not data.confirm_duplicate:
        _refuse_duplicate(session, patient.id, dst.id, data.to_department_id)
    policy.check_tiers(
        src=src,
        dst=dst,
        direction=data.direction,
        urgency=data.urgency,
        green_channel=data.green_channel,
        green_channel_reason=data.green_channel_reason,
        reason=data.reason,
        settings=settings,
    )
    r = Referral(
        patient_id=patient.id,
        from_doctor_id=by.id,
        from_institution_id=src.id,
        to_institution_id=dst.id,
        to_department_id=data.to_department_id,
        to_specialist_id=data.to_specialist_id,
        to_team_id=team.id if team else None,
        direction=data.direction,
        urgency=data.urgency,
        green_channel=data.green_channel,
        green_channel_reason=data.green_channel_reason,
        reason=data.reason,
        diagnosis_code=data.diagnosis_code,
        diagnosis_text=data.diagnosis_text,
        clinical_summary=data.clinical_summary,
        attachments=[a.model_dump(mode="json") for a in data.attachments],
        insurance_notes=data.insurance_notes,
        care_plan=data.care_plan,
        created_at=now,
        updated_at=now,
    )
    session.add(r)
    session.flush()
    for a in data.attachments:
        if a.kind == "study" and a.study_uid:
            imaging.link(session=session, referral_id=r.id, study_uid=a.study_uid, by=by, now=now)
    record_event(session, r, "create", "draft", "draft", by, now, None, {})
    return r


def link_study(
    *, session: Session, referral_id: uuid.UUID, study_uid: str, by: User, now: datetime
) -> Referral:
    """Attach a study to the referral as imaging's link rule allows (`dicom.policy`: the
    referrer or the receiver while the referral is open, a study their hospital sent)."""
    r = visible_referral(session, by, lock_referral(session, referral_id), referral_id)
    imaging.link(session=session, referral_id=r.id, study_uid=study_uid, by=by, now=now)
    if not any(a.get("study_uid") == study_uid for a in r.attachments):
        r.attachments = [
            *r.attachments,
            {"kind": "study", "title": "study", "study_uid": study_uid},
        ]
    r.updated_at = now
    record_event(
        session, r, "link_study", r.status, r.status, by, now, None, {"study_uid": study_uid}
    )
    session.flush()
    return r


def unlink_study(
    *,
    session: Session,
    referral_id: uuid.UUID,
    study_uid: str,
    by: User,
    now: datetime,
    ip: str | None,
) -> Referral:
    """Unlink a study from the referral (the same rule as linking); its readers lose it."""
    r = visible_referral(session, by, lock_referral(session, referral_id), referral_id)
    imaging.unlink(session=session, referral_id=r.id, study_uid=study_uid, by=by, now=now, ip=ip)
    r.updated_at = now
    record_event(
        session, r, "unlink_study", r.status, r.status, by, now, None, {"study_uid": study_uid}
    )
    session.flush()
    return r
