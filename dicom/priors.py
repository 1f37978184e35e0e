"""Priors for the reader: the patient's other studies in our archive (those the caller may
see) merged with the county PACS's (C-FIND), with whether each is here already."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from dicom import outbound
from dicom.index import parse_date
from dicom.models import Study
from dicom.reading_schemas import Prior, Priors
from dicom.visibility import visible_study_uids
from telemed.core import audit
from telemed.core.errors import Conflict
from telemed.core.settings import Settings
from telemed.identity.models import User
from telemed.network.models import DicomAE

log = logging.getLogger("telemed.dicom.priors")


def county_pacs_of(session: Session, study: Study) -> DicomAE | None:
    """The sending institution's registered PACS with a host (where its priors are)."""
    pacs = session.exec(
        select(DicomAE).where(
            DicomAE.institution_id == study.source_institution_id, DicomAE.kind == "pacs"
        )
    ).first()
    return pacs if pacs is not None and pacs.host else None


def county_pacs(session: Session, study: Study) -> DicomAE:
    pacs = county_pacs_of(session, study)
    if pacs is None:
        raise Conflict(
            "the sending institution has no PACS registered for queries", code="no_county_pacs"
        )
    return pacs


def _same_patient(study: Study) -> Any:
    """SQL: the same patient as `study` (ours when matched; else the same DICOM PatientID
    from the same sending institution)."""
    conds: list[Any] = []
    if study.dicom_patient_id:
        conds.append(
            (col(Study.dicom_patient_id) == study.dicom_patient_id)
            & (col(Study.source_institution_id) == study.source_institution_id)
        )
    if study.patient_id is not None:
        conds.append(col(Study.patient_id) == study.patient_id)
    return or_(*conds) if conds else None


def _ours(session: Session, user: User, study: Study) -> list[Study]:
    cond = _same_patient(study)
    if cond is None:
        return []
    rows = list(
        session.execute(select(Study).where(cond, Study.study_uid != study.study_uid)).scalars()
    )
    visible = visible_study_uids(session=session, user=user, among=[s.study_uid for s in rows])
    return [s for s in rows if s.study_uid in visible]


def find(
    *, session: Session, user: User, study: Study, settings: Settings, now: datetime
) -> Priors:
    ours = _ours(session, user, study)
    items: dict[str, Prior] = {
        s.study_uid: Prior(
            study_uid=s.study_uid,
            study_date=s.study_date,
            modalities=s.modality,
            body_part="",
            description=s.description,
            patient_id=s.dicom_patient_id,
            patient_name=s.patient_name,
            in_archive=True,
            at_county_pacs=False,
            retrieved=True,
            instance_count=s.instance_count,
        )
        for s in ours
    }
    if ours:
        audit.read(
            session,
            user,
            object_type="study",
            patient_ids=[s.patient_id for s in ours],
            object_ids=[s.study_uid for s in ours],
            what="priors-list",
            at=now,
        )
    pacs = county_pacs_of(session, study)
    state = "none"
    if pacs is not None and study.dicom_patient_id:
        try:
            found = outbound.find_studies(
                ae=pacs, calling_ae=settings.dicom.ae_title, patient_id=study.dicom_patient_id
            )
            state = "ok"
        except (ConnectionError, OSError, RuntimeError, ValueError) as exc:
            log.warning("C-FIND of priors at %s failed: %s", pacs.ae_title, exc)
            found, state = [], "unavailable"
        for f in found:
            uid = f["study_uid"]
            if not uid or uid == study.study_uid:
                continue
            if uid in items:
                mine = items[uid]
                mine.at_county_pacs = True
                mine.body_part = mine.body_part or f.get("body_part", "")
                continue
            items[uid] = Prior(
                study_uid=uid,
                study_date=parse_date(f.get("study_date", "")),
                modalities=f.get("modalities", ""),
                body_part=f.get("body_part", ""),
                description=f.get("description", ""),
                patient_id=f.get("patient_id", ""),
                patient_name=f.get("patient_name", ""),
                in_archive=False,
                at_county_pacs=True,
                retrieved=False,
                instance_count=None,
            )
    ordered = sorted(
        items.values(), key=lambda p: (p.study_date is not None, p.study_date), reverse=True
    )
    return Priors(items=ordered, county_pacs=state)  # type: ignore[arg-type]


__all__ = ["county_pacs", "county_pacs_of", "find"]
