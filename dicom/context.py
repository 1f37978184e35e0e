"""The viewer's context of a study: its summary and the requests it is linked to that the
caller takes part in (each request's domain describes its own: `register_link_context`),
and a study's DICOM demographics against a request's patient."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, select

from dicom.demographics import demographic_mismatches, dicom_demographics
from dicom.models import LinkTarget, Study, StudyLink
from dicom.reading_schemas import LinkedConsultation, ViewerContext
from dicom.schemas import StudyDemographics
from dicom.visibility import study_by_uid, summary_of
from telemed.identity.models import Patient, User

# (session, user, target_id) -> the request as the viewer shows it, or None when the user
# takes no part in it. Keys of the dict: id, question, state, service_class, patient_id, link.
LinkContext = Callable[[Session, User, uuid.UUID], dict[str, Any] | None]
LINK_CONTEXT: dict[str, LinkContext] = {}


def register_link_context(target_type: str, fn: LinkContext) -> None:
    if target_type not in {t.value for t in LinkTarget}:
        raise ValueError(f"unknown link target type {target_type!r}")
    LINK_CONTEXT[target_type] = fn


def of(*, session: Session, user: User, study: Study) -> ViewerContext:
    links = session.execute(
        select(StudyLink)
        .where(StudyLink.study_id == study.id, StudyLink.target_type == LinkTarget.CONSULTATION)
        .order_by(col(StudyLink.created_at))
    ).scalars()
    describe = LINK_CONTEXT.get(LinkTarget.CONSULTATION)
    consultations = []
    for link in links:
        shown = describe(session, user, link.target_id) if describe else None
        if shown is not None:
            consultations.append(LinkedConsultation(**shown))
    return ViewerContext(study=summary_of(session, study), consultations=consultations)


def demographics_against(
    *, session: Session, study_uid: str, patient_id: uuid.UUID
) -> StudyDemographics | None:
    """The study's DICOM demographics against one of our patients (a request's patient)."""
    study = study_by_uid(session, study_uid)
    patient = session.get(Patient, patient_id)
    if study is None or patient is None:
        return None
    mismatches = demographic_mismatches(study, patient)
    return StudyDemographics(
        dicom=dicom_demographics(study),
        mismatches=mismatches,
        demographics_mismatch=bool(mismatches),
    )
