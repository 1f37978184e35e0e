"""Orders fulfilled by arriving studies: the study is recorded on the order's request.

The domains that publish orders (consultations, referrals) register how a study is
recorded on their request (`register_target_attach`); the order itself is published by
`dicom.worklist.publish_order`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from dicom.models import LinkTarget, OrderStatus, Study, StudyLink, WorklistItem
from dicom.sql import insert_for
from telemed.core import audit
from telemed.core.errors import DomainError

log = logging.getLogger("telemed.dicom")


# (session, target_id, study_uid, by_id, patient_id, institution_id, now): record a study on
# a consultation/referral of that hospital and patient; raise NotFound when it is not one.
TargetAttach = Callable[[Session, uuid.UUID, str, uuid.UUID, uuid.UUID, uuid.UUID, datetime], None]
_attachers: dict[str, TargetAttach] = {}


def register_target_attach(target_type: str, fn: TargetAttach) -> None:
    """Let consultations/referrals record a study matched to (or assigned to) their request."""
    if target_type not in {t.value for t in LinkTarget}:
        raise ValueError(f"unknown link target type {target_type!r}")
    _attachers[target_type] = fn


def attach(
    session: Session,
    study: Study,
    target_type: str,
    target_id: uuid.UUID,
    by_id: uuid.UUID,
    institution_id: uuid.UUID,
    now: datetime,
) -> None:
    """Record the study on the target (its domain checks it) and link it for access."""
    assert study.patient_id is not None
    fn = _attachers.get(target_type)
    if fn is not None:
        fn(session, target_id, study.study_uid, by_id, study.patient_id, institution_id, now)
    session.execute(
        insert_for(session, StudyLink)
        .values(
            id=uuid.uuid4(),
            study_id=study.id,
            study_uid=study.study_uid,
            target_type=target_type,
            target_id=target_id,
            linked_by_id=by_id,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["study_uid", "target_type", "target_id"])
    )


def fulfil(session: Session, order: WorklistItem, study: Study, now: datetime) -> None:
    """A study arrived with the order's accession number: patient, request, worklist."""
    if study.patient_id != order.patient_id:
        return  # the uploader named another patient explicitly: reconciliation decides
    order.status = OrderStatus.COMPLETED
    order.matched_study_uid = study.study_uid
    order.updated_at = now
    try:
        with session.begin_nested():
            attach(
                session,
                study,
                order.target_type,
                order.target_id,
                order.requested_by_id,
                order.institution_id,
                now,
            )
    except DomainError:  # the request no longer takes studies: the patient still matches
        log.warning("order %s: study %s not attached", order.accession_number, study.study_uid)
    audit.record(
        session=session,
        actor_id=None,
        actor_role="system",
        action="update",
        object_type="study",
        object_id=study.study_uid,
        patient_id=study.patient_id,
        detail={
            "what": "order-match",
            "accession_number": order.accession_number,
            "target_type": order.target_type,
            "target_id": str(order.target_id),
        },
        at=now,
    )
