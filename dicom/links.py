"""Links of studies to consultations/referrals: who may link and unlink is `dicom.policy`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from dicom import policy
from dicom.models import LinkTarget, Study, StudyLink
from dicom.schemas import StudySummary
from dicom.sql import insert_for
from dicom.visibility import get_visible_study, record_access, summary_of
from telemed.core.errors import Invalid, NotFound
from telemed.identity.models import User


def _link(
    session: Session, study_uid: str, target_type: str, target_id: uuid.UUID
) -> StudyLink | None:
    return session.execute(
        select(StudyLink).where(
            StudyLink.study_uid == study_uid,
            StudyLink.target_type == target_type,
            StudyLink.target_id == target_id,
        )
    ).scalar_one_or_none()


def link_study(
    *,
    session: Session,
    study_uid: str,
    target_type: str,
    target_id: uuid.UUID,
    by: User,
    now: datetime,
) -> StudyLink:
    """Attach a study to a consultation/referral as `dicom.policy` allows. Idempotent."""
    if target_type not in {t.value for t in LinkTarget}:
        raise Invalid(f"unknown target type {target_type!r}", field="target_type")
    study = get_visible_study(session=session, user=by, study_uid=study_uid)
    policy.require_may_link(
        session=session, user=by, study=study, target_type=target_type, target_id=target_id
    )
    existing = _link(session, study_uid, target_type, target_id)
    if existing is not None:
        return existing
    values = {
        "id": uuid.uuid4(),
        "study_id": study.id,
        "study_uid": study_uid,
        "target_type": target_type,
        "target_id": target_id,
        "linked_by_id": by.id,
        "created_at": now,
    }
    # Concurrent linkers: the unique constraint decides, the loser reads the winner's row.
    session.execute(
        insert_for(session, StudyLink)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["study_uid", "target_type", "target_id"])
    )
    link = _link(session, study_uid, target_type, target_id)
    assert link is not None
    record_access(
        session=session,
        user=by,
        study=study,
        what="link",
        now=now,
        action="create",
        detail={"target_type": target_type, "target_id": str(target_id)},
    )
    session.flush()
    return link


def unlink_study(
    *,
    session: Session,
    study_uid: str,
    target_type: str,
    target_id: uuid.UUID,
    by: User,
    now: datetime,
    ip: str | None = None,
) -> None:
    """Remove a link as `dicom.policy` allows; its readers lose the study at once (404)."""
    study = get_visible_study(session=session, user=by, study_uid=study_uid)
    link = _link(session, study_uid, target_type, target_id)
    if link is None:
        raise NotFound(
            f"study {study_uid} is not linked to {target_type} {target_id}", code="link_not_found"
        )
    policy.require_may_link(
        session=session, user=by, study=study, target_type=target_type, target_id=target_id
    )
    session.delete(link)
    policy.unlinked(session, study_uid=study_uid, target_type=target_type, target_id=target_id)
    record_access(
        session=session,
        user=by,
        study=study,
        what="unlink",
        now=now,
        ip=ip,
        action="delete",
        detail={"target_type": target_type, "target_id": str(target_id)},
    )
    session.flush()


def links_for(*, session: Session, target_type: str, target_id: uuid.UUID) -> list[StudyLink]:
    """The links of a consultation/referral, oldest first (the caller authorizes the target)."""
    return list(
        session.execute(
            select(StudyLink)
            .where(StudyLink.target_type == target_type, StudyLink.target_id == target_id)
            .order_by(col(StudyLink.created_at), col(StudyLink.id))
        ).scalars()
    )


def link_counts(
    *, session: Session, target_type: str, target_ids: list[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """How many studies each of `target_ids` has linked (absent: none), in one query."""
    if not target_ids:
        return {}
    rows = session.execute(
        select(StudyLink.target_id, func.count())
        .where(StudyLink.target_type == target_type, col(StudyLink.target_id).in_(target_ids))
        .group_by(col(StudyLink.target_id))
    )
    return {target: int(n) for target, n in rows}


def studies_for(*, session: Session, target_type: str, target_id: uuid.UUID) -> list[StudySummary]:
    """The studies linked to a consultation/referral (the caller authorizes the target)."""
    rows = session.execute(
        select(Study)
        .join(StudyLink, col(StudyLink.study_id) == Study.id)
        .where(StudyLink.target_type == target_type, StudyLink.target_id == target_id)
        .order_by(col(StudyLink.created_at))
    ).scalars()
    return [summary_of(session, s) for s in rows]
