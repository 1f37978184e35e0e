"""A request before it is sent: creating it (idempotently) and editing the draft."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session

from telemed.consultations.attachments import publish_imaging_order, record_consent
from telemed.consultations.models import Consultation
from telemed.consultations.proposals import (
    check_override,
    check_specialty,
    check_targets,
    may_act_for,
)
from telemed.consultations.schemas import ConsultationCreate, ConsultationUpdate
from telemed.consultations.service_classes import info
from telemed.consultations.steps import get_consultation, log, record, step
from telemed.core import audit, idempotency
from telemed.core.errors import Invalid
from telemed.core.ids import uuid7
from telemed.identity.models import Patient, Role, User


def create(
    *,
    session: Session,
    by: User,
    data: ConsultationCreate,
    now: datetime,
    ip: str | None = None,
    idempotency_key: str | None = None,
) -> Consultation:
    """A new request in `draft` (consent may come with it); a retried key returns the first."""
    new_id = uuid7()  # known up front: the key is claimed together with its outcome
    if idempotency_key:
        scoped = idempotency.scoped_key(
            scope="consultations.create", user_id=by.id, key=idempotency_key
        )
        previous = idempotency.claim(
            session=session,
            key=scoped,
            payload=data.model_dump(mode="json"),
            now=now,
            status_code=201,
            response={"id": str(new_id)},
        )
        if previous is not None:
            return get_consultation(
                session=session, consultation_id=uuid.UUID(previous.response["id"])
            )
    return _create(session=session, by=by, data=data, now=now, ip=ip, new_id=new_id)


def _create(
    *,
    session: Session,
    by: User,
    data: ConsultationCreate,
    now: datetime,
    ip: str | None,
    new_id: uuid.UUID,
) -> Consultation:
    if by.role not in (Role.COUNTY_DOCTOR, Role.FAMILY_DOCTOR, Role.SPECIALIST):
        raise Invalid("only doctors request remote services", field="role")
    if by.institution_id is None:
        raise Invalid("the requesting doctor has no institution", field="institution")
    found = session.get(Patient, data.patient_id)
    patient = audit.visible_or_404(  # hidden patients do not exist for this doctor
        session,
        by,
        found,
        visible=found is not None and may_act_for(session, by, found),
        object_type="patient",
        ident=data.patient_id,
        patient_id=data.patient_id,
        reason="may not request care for this patient",
    )
    check_specialty(data.wanted_specialty)
    check_targets(session, data.chosen_institution_id, data.chosen_specialist_id)
    if data.imaging_order is not None and data.service_class != "imaging_diagnosis":
        raise Invalid(
            "an imaging order goes with an imaging_diagnosis request", field="imaging_order"
        )
    c = Consultation(
        id=new_id,
        patient_id=patient.id,
        requesting_doctor_id=by.id,
        requesting_institution_id=by.institution_id,
        service_class=data.service_class,
        urgency=data.urgency,
        live_session=info(data.service_class).live_session,
        summary=data.summary,
        question=data.question,
        wanted_specialty=data.wanted_specialty,
        wanted_title=data.wanted_title,
        chosen_institution_id=data.chosen_institution_id,
        chosen_specialist_id=data.chosen_specialist_id,
        override_reason=(data.override_reason or "").strip() or None,
        state="draft",
        created_at=now,
        updated_at=now,
    )
    check_override(session, c, by, now)  # 422 override_reason_required before any write
    session.add(c)
    session.flush()
    log(session, c, "create", from_state="", by=by, at=now)
    record(session, by, "create", c, now=now, ip=ip)
    if data.consent is not None:
        record_consent(session=session, consultation_id=c.id, by=by, data=data.consent, now=now)
    if data.imaging_order is not None:
        publish_imaging_order(session=session, consultation=c, by=by, now=now, order=data)
    session.flush()
    return c


def update_draft(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    data: ConsultationUpdate,
    now: datetime,
) -> Consultation:
    """Change the draft's fields (the requester, while it is a draft)."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="edit")
    changes = data.model_dump(exclude_unset=True)
    if "wanted_specialty" in changes:
        check_specialty(changes["wanted_specialty"])
    check_targets(
        session,
        changes.get("chosen_institution_id", c.chosen_institution_id),
        changes.get("chosen_specialist_id", c.chosen_specialist_id),
    )
    if "override_reason" in changes:
        changes["override_reason"] = (changes["override_reason"] or "").strip() or None
    for k, v in changes.items():
        setattr(c, k, v)
    check_override(session, c, by, now)
    c.updated_at = now
    record(session, by, "update", c, now=now, detail={"fields": sorted(changes)})
    session.flush()
    return c
