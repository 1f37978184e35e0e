"""Reconciliation: the sending hospital assigns a study that matched no order to a patient."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from dicom.demographics import demographic_mismatches
from dicom.models import Study
from dicom.orders import attach
from dicom.visibility import newest_first, record_access, study_by_uid
from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden
from telemed.identity.models import DOCTOR_ROLES, Patient, User
from telemed.identity.permissions import require_patient_read


def _may_reconcile(user: User) -> bool:
    return user.role in DOCTOR_ROLES and user.institution_id is not None


def unmatched_studies(
    *, session: Session, user: User, limit: int = 50, offset: int = 0
) -> tuple[list[Study], int]:
    """The reconciliation list: studies the user's hospital sent that match no patient."""
    if not _may_reconcile(user):
        raise Forbidden("only doctors of the sending institution reconcile its studies")
    stmt = select(Study).where(
        Study.source_institution_id == user.institution_id, col(Study.patient_id).is_(None)
    )
    return newest_first(session, stmt, limit=limit, offset=offset)


def _unmatched_study(session: Session, user: User, study_uid: str) -> Study:
    if not _may_reconcile(user):
        raise Forbidden("only doctors of the sending institution reconcile its studies")
    study = study_by_uid(session, study_uid)
    return audit.visible_or_404(
        session,
        user,
        study,
        visible=study is not None and study.source_institution_id == user.institution_id,
        object_type="study",
        ident=study_uid,
        reason="reconciles a study another institution sent",
    )


def compare_for_assignment(
    *, session: Session, user: User, study_uid: str, patient_id: uuid.UUID
) -> tuple[Study, Patient, list[str]]:
    """The study, the candidate patient and what disagrees (for the reconciliation page)."""
    study = _unmatched_study(session, user, study_uid)
    patient = require_patient_read(session, user, patient_id)
    return study, patient, demographic_mismatches(study, patient)


def assign_study(
    *,
    session: Session,
    user: User,
    study_uid: str,
    patient_id: uuid.UUID,
    consultation_id: uuid.UUID | None,
    confirm_mismatch: bool,
    now: datetime,
    ip: str | None = None,
) -> tuple[Study, list[str]]:
    """Assign an unmatched study to a patient (and a consultation of that hospital)."""
    study = _unmatched_study(session, user, study_uid)
    if study.patient_id is not None:
        raise Conflict(
            f"study {study_uid} is already assigned to a patient", code="already_assigned"
        )
    patient = require_patient_read(session, user, patient_id)
    mismatches = demographic_mismatches(study, patient)
    if mismatches and not confirm_mismatch:
        raise Conflict(
            "the study's DICOM demographics disagree with the patient's on "
            + ", ".join(mismatches)
            + "; check the patient and send confirm_mismatch=true to assign anyway",
            code="demographics_mismatch",
        )
    study.patient_id = patient.id
    study.updated_at = now
    session.flush()
    assert user.institution_id is not None
    if consultation_id is not None:
        attach(session, study, "consultation", consultation_id, user.id, user.institution_id, now)
    record_access(
        session=session,
        user=user,
        study=study,
        what="reconcile",
        now=now,
        ip=ip,
        action="update",
        detail={
            "mismatches": mismatches,
            "consultation_id": str(consultation_id) if consultation_id else None,
        },
    )
    session.flush()
    return study, mismatches
