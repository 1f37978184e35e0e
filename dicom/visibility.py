"""Who may see a study, the filtered study lists, and the audit row of every access.

A study is visible to
- staff of the institution that sent it,
- participants of a consultation/referral it is linked to (resolvers registered by those
  domains through `register_link_access`),
- the patient it belongs to,
- admins.
Everything else is absent from queries and 404 on direct access.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, true
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from dicom.demographics import demographic_mismatches
from dicom.models import LinkTarget, Study, StudyLink
from dicom.schemas import PatientDemographics, StudySummary
from telemed.core import audit
from telemed.identity.models import Patient, Role, User
from telemed.identity.permissions import is_staff
from telemed.network.models import Institution

# (session, user, target_id) -> True when the user takes part in that consultation/referral
LinkAccess = Callable[[Session, User, uuid.UUID], bool]
LINK_ACCESS: dict[str, list[LinkAccess]] = {}


def register_link_access(target_type: str, fn: LinkAccess) -> None:
    """Let consultations/referrals say who takes part in their objects (grants linked studies)."""
    if target_type not in {t.value for t in LinkTarget}:
        raise ValueError(f"unknown link target type {target_type!r}")
    fns = LINK_ACCESS.setdefault(target_type, [])
    if fn not in fns:
        fns.append(fn)


def _takes_part(session: Session, user: User, target_type: str, target_id: uuid.UUID) -> bool:
    return any(fn(session, user, target_id) for fn in LINK_ACCESS.get(target_type, []))


def study_by_uid(session: Session, study_uid: str) -> Study | None:
    return session.execute(select(Study).where(Study.study_uid == study_uid)).scalar_one_or_none()


Links = list[tuple[str, uuid.UUID]]


def _study_with_links(session: Session, study_uid: str) -> tuple[Study | None, Links]:
    """The study and its links in one indexed query (study UID, then link by study id)."""
    rows = session.execute(
        select(Study, StudyLink.target_type, StudyLink.target_id)
        .outerjoin(StudyLink, col(StudyLink.study_id) == col(Study.id))
        .where(Study.study_uid == study_uid)
    ).all()
    if not rows:
        return None, []
    return rows[0][0], [(t, tid) for _, t, tid in rows if t is not None]


def _may_see(session: Session, user: User, study: Study, links: Links | None = None) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.PATIENT:
        return user.patient_id is not None and study.patient_id == user.patient_id
    if (
        is_staff(user)
        and user.institution_id is not None
        and study.source_institution_id == user.institution_id
    ):
        return True
    if links is None:
        links = [
            (t, tid)
            for t, tid in session.execute(
                select(StudyLink.target_type, StudyLink.target_id).where(
                    StudyLink.study_id == study.id
                )
            ).all()
        ]
    return any(_takes_part(session, user, t, tid) for t, tid in links)


def can_see_study(*, session: Session, user: User, study_uid: str) -> bool:
    """True when `user` may see the study (unknown studies are not visible)."""
    return visible_study(session=session, user=user, study_uid=study_uid) is not None


def visible_study(*, session: Session, user: User, study_uid: str) -> Study | None:
    """The study when `user` may see it, else None (no audit row: a search's filter)."""
    study, links = _study_with_links(session, study_uid)
    return study if study is not None and _may_see(session, user, study, links) else None


def get_visible_study(*, session: Session, user: User, study_uid: str) -> Study:
    """The study if the user may see it; 404 otherwise (no existence leak).

    One query reads the study with its links; the link resolvers of the consultation and
    referral domains are asked only for a reader who is neither of the sending
    institution, nor the patient, nor an admin."""
    study, links = _study_with_links(session, study_uid)
    return audit.visible_or_404(
        session,
        user,
        study,
        visible=study is not None and _may_see(session, user, study, links),
        object_type="study",
        ident=study_uid,
        reason="neither of the sending institution nor taking part in a linked request",
    )


def _granted_outright(user: User) -> Any:
    """A SQL condition on Study under which `_may_see` grants without asking the link
    resolvers (admin, the study's patient, staff of the sending institution); None when
    only the resolvers can grant."""
    if user.role == Role.ADMIN:
        return true()
    if user.role == Role.PATIENT:
        return Study.patient_id == user.patient_id if user.patient_id is not None else None
    if is_staff(user) and user.institution_id is not None:
        return Study.source_institution_id == user.institution_id
    return None


def open_study(*, session: Session, user: User, study_uid: str, what: str, now: datetime) -> None:
    """404 unless `user` may see the study; audit the read (`what`: metadata, frames ...).

    When the user's role or institution grants it outright, the look-up of the study and
    its audit row are one statement (`audit.read_found`); otherwise (no such study, or
    access only through a linked consultation/referral, or a refusal) the full check of
    `get_visible_study` decides, and writes the same read row or the refusal."""
    cond = _granted_outright(user)
    if cond is not None and audit.read_found(
        session,
        user,
        object_type="study",
        object_id=study_uid,
        patient_of=select(Study.patient_id).where(Study.study_uid == study_uid, cond),
        what=what,
        at=now,
    ):
        return
    study = get_visible_study(session=session, user=user, study_uid=study_uid)
    record_access(session=session, user=user, study=study, what=what, now=now)


def _visible_filter(session: Session, user: User) -> Any:
    """A SQL condition on Study selecting what `user` may see (None: everything)."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.PATIENT:
        if user.patient_id is None:
            return col(Study.id).is_(None)
        return Study.patient_id == user.patient_id
    conds: list[Any] = []
    if is_staff(user) and user.institution_id is not None:
        conds.append(Study.source_institution_id == user.institution_id)
    # Linked studies: ask each registered resolver once per distinct target.
    targets = session.execute(select(StudyLink.target_type, StudyLink.target_id).distinct()).all()
    granted = [tid for t, tid in targets if _takes_part(session, user, t, tid)]
    if granted:
        conds.append(
            col(Study.id).in_(
                select(StudyLink.study_id).where(col(StudyLink.target_id).in_(granted))
            )
        )
    if not conds:
        return col(Study.id).is_(None)
    return or_(*conds)


def visible_study_uids(
    *, session: Session, user: User, among: Iterable[str] | None = None
) -> set[str]:
    """Study UIDs the user may see (restricted to `among` when given)."""
    stmt = select(Study.study_uid)
    cond = _visible_filter(session, user)
    if cond is not None:
        stmt = stmt.where(cond)
    if among is not None:
        wanted = list(among)
        if not wanted:
            return set()
        stmt = stmt.where(col(Study.study_uid).in_(wanted))
    return set(session.execute(stmt).scalars())


def summary_of(session: Session, study: Study) -> StudySummary:
    """The list view of one study."""
    inst = (
        session.get(Institution, study.source_institution_id)
        if study.source_institution_id
        else None
    )
    patient = session.get(Patient, study.patient_id) if study.patient_id else None
    mismatches = demographic_mismatches(study, patient) if patient is not None else []
    return StudySummary(
        study_uid=study.study_uid,
        patient_name=study.patient_name,
        dicom_patient_id=study.dicom_patient_id,
        patient_id=study.patient_id,
        modality=study.modality,
        study_date=study.study_date,
        description=study.description,
        accession_number=study.accession_number,
        series_count=study.series_count,
        instance_count=study.instance_count,
        size_bytes=study.size_bytes,
        source_institution_id=study.source_institution_id,
        source_institution_name=inst.name_zh if inst else None,
        source_ae=study.source_ae,
        source=study.source,
        created_at=study.created_at,
        patient_sex=study.patient_sex,
        patient_birth_date=study.patient_birth_date,
        patient=PatientDemographics(
            id=patient.id, name=patient.name, sex=patient.sex, birth_date=patient.birth_date
        )
        if patient is not None
        else None,
        mismatches=mismatches,
        demographics_mismatch=bool(mismatches),
    )


def list_studies(
    *,
    session: Session,
    user: User,
    limit: int = 50,
    offset: int = 0,
    patient_id: uuid.UUID | None = None,
    modality: str | None = None,
) -> tuple[list[StudySummary], int]:
    """The studies `user` may see, newest first, with the total."""
    stmt = select(Study)
    cond = _visible_filter(session, user)
    if cond is not None:
        stmt = stmt.where(cond)
    if patient_id is not None:
        stmt = stmt.where(Study.patient_id == patient_id)
    if modality:
        stmt = stmt.where(col(Study.modality).contains(modality.upper()))
    rows, total = newest_first(session, stmt, limit=limit, offset=offset)
    return [summary_of(session, s) for s in rows], total


def newest_first(
    session: Session, stmt: SelectOfScalar[Study], *, limit: int, offset: int
) -> tuple[list[Study], int]:
    """One page of a study query, newest first, with the total."""
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(col(Study.created_at).desc(), col(Study.id).desc())
        .limit(limit)
        .offset(offset)
    ).scalars()
    return list(rows), int(total)


def record_access(
    *,
    session: Session,
    user: User,
    study: Study,
    what: str,
    now: datetime,
    ip: str | None = None,
    action: str = "read",
    detail: dict[str, Any] | None = None,
    patient_id: uuid.UUID | None = None,
) -> None:
    """Write one audit row: who accessed which study, what (qido, metadata, frames ...);
    it names the study's patient, or `patient_id` (a candidate shown beside the study)."""
    patient_id = patient_id or study.patient_id
    if action == "read" and not detail:
        audit.read(
            session,
            user,
            object_type="study",
            object_id=study.study_uid,
            patient_ids=[patient_id],
            what=what,
            at=now,
        )
        return
    audit.record(
        session=session,
        actor_id=user.id,
        actor_role=user.role,
        action=action,
        object_type="study",
        object_id=study.study_uid,
        patient_id=patient_id,
        ip=ip,
        detail={"what": what, **(detail or {})},
        at=now,
    )
