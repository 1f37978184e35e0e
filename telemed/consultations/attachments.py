"""What a request carries: the patient's consent, documents, DICOM studies and imaging orders.

Studies and imaging orders live in dicom (study links, the modality worklist); this module
reads and writes them through `dicom.service`, for the request.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from dicom import service as dicom_service
from telemed.consultations.consent_signature import checked_png
from telemed.consultations.models import Consultation, ConsultationConsent, ConsultationDocument
from telemed.consultations.schemas import ConsentCreate, ImagingOrderPublic, StudyPublic
from telemed.consultations.service_classes import DOCUMENT_KINDS
from telemed.consultations.steps import load_visible, record, step
from telemed.core import audit
from telemed.core.errors import Invalid, NotFound
from telemed.identity.models import User


def record_consent(
    *, session: Session, consultation_id: uuid.UUID, by: User, data: ConsentCreate, now: datetime
) -> ConsultationConsent:
    """Record the patient's informed consent (before submission)."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="record_consent")
    if data.given_at > now + timedelta(minutes=5):
        raise Invalid("consent cannot be given in the future", field="given_at")
    if data.method == "signed_form" or data.document_id is not None:
        doc = session.get(ConsultationDocument, data.document_id) if data.document_id else None
        if doc is None or doc.consultation_id != c.id or doc.kind != "consent_form":
            raise Invalid(
                "a signed form needs the scanned form attached as a consent_form document",
                field="document_id",
            )
    witness = data.witness.strip()
    if data.method == "written" and not witness:
        raise Invalid(
            "a written consent names its witness", code="witness_required", field="witness"
        )
    png = None
    if data.method == "on_screen":
        if not data.signature_png:
            raise Invalid(
                "an on-screen consent carries the drawn signature",
                code="signature_required",
                field="signature_png",
            )
        png = checked_png(data.signature_png)
    elif data.signature_png:
        raise Invalid("only an on-screen consent carries a drawn signature", field="signature_png")
    row = ConsultationConsent(
        consultation_id=c.id,
        given_by=data.given_by,
        relationship=data.relationship,
        method=data.method,
        given_at=data.given_at,
        recorded_by_id=by.id,
        recorded_at=now,
        document_id=data.document_id,
        note=data.note,
        witness=witness,
        signature_png=png,
    )
    session.add(row)
    record(session, by, "consent", c, now=now, detail={"method": data.method})
    session.flush()
    return row


def consents(*, session: Session, consultation_id: uuid.UUID) -> list[ConsultationConsent]:
    """The consents recorded for the request."""
    return list(
        session.execute(
            select(ConsultationConsent).where(
                ConsultationConsent.consultation_id == consultation_id
            )
        ).scalars()
    )


def consent_signature(
    *, session: Session, consultation_id: uuid.UUID, consent_id: uuid.UUID, by: User
) -> bytes:
    """The drawn signature of a consent of a request `by` may read (audited), else 404."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    row = session.get(ConsultationConsent, consent_id)
    if row is None or row.consultation_id != c.id or row.signature_png is None:
        raise NotFound("no drawn signature for this consent")
    audit.read(
        session,
        by,
        object_type="consultation_consent",
        object_id=row.id,
        patient_ids=[c.patient_id],
        what="signature",
    )
    return row.signature_png


def add_document(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    kind: str,
    filename: str,
    content_type: str,
    content: bytes,
    now: datetime,
    max_bytes: int,
) -> ConsultationDocument:
    """Attach a document (stored with its type and SHA-256)."""
    c = step(session=session, consultation_id=consultation_id, by=by, action="attach")
    if kind not in DOCUMENT_KINDS:
        raise Invalid(f"unknown document kind {kind!r}", field="kind")
    if not content:
        raise Invalid("the document is empty", field="file")
    if len(content) > max_bytes:
        raise Invalid(f"documents are limited to {max_bytes} bytes", field="file")
    doc = ConsultationDocument(
        consultation_id=c.id,
        kind=kind,
        filename=filename[:255] or "document",
        content_type=content_type[:128] or "application/octet-stream",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by_id=by.id,
        uploaded_at=now,
    )
    session.add(doc)
    session.flush()
    record(session, by, "attach", c, now=now, object_type="consultation_document", object_id=doc.id)
    return doc


def documents(*, session: Session, consultation_id: uuid.UUID) -> list[ConsultationDocument]:
    """The request's documents, oldest first."""
    return list(
        session.execute(
            select(ConsultationDocument)
            .where(ConsultationDocument.consultation_id == consultation_id)
            .order_by(col(ConsultationDocument.uploaded_at))
        ).scalars()
    )


def attachment_counts(
    *, session: Session, consultation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """(studies, documents) attached to each request, two queries for a whole list."""
    if not consultation_ids:
        return {}
    studies_of = dicom_service.link_counts(
        session=session, target_type="consultation", target_ids=consultation_ids
    )
    rows = session.execute(
        select(ConsultationDocument.consultation_id, func.count())
        .where(col(ConsultationDocument.consultation_id).in_(consultation_ids))
        .group_by(col(ConsultationDocument.consultation_id))
    ).all()
    documents_of = {cid: int(n) for cid, n in rows}
    return {
        cid: (studies_of.get(cid, 0), int(documents_of.get(cid, 0))) for cid in consultation_ids
    }


def read_document(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    document_id: uuid.UUID,
    by: User,
) -> ConsultationDocument:
    """One attached document's content; the read audited."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    doc = session.get(ConsultationDocument, document_id)
    if doc is None or doc.consultation_id != c.id:
        raise NotFound(f"document {document_id} not found")
    audit.read(
        session,
        by,
        object_type="consultation_document",
        object_id=doc.id,
        patient_ids=[c.patient_id],
    )
    return doc


def attach_study(
    *, session: Session, consultation_id: uuid.UUID, by: User, study_uid: str, now: datetime
) -> StudyPublic:
    """Link a DICOM study to the request as `dicom.policy` allows (the requester, while the
    request is open, a study their hospital sent); idempotent."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    link = dicom_service.link_study(
        session=session, study_uid=study_uid, by=by, now=now, **_as_target(c)
    )
    record(session, by, "attach", c, now=now, detail={"study_uid": study_uid})
    return _study_public(link)


def detach_study(
    *,
    session: Session,
    consultation_id: uuid.UUID,
    by: User,
    study_uid: str,
    now: datetime,
    ip: str | None,
) -> None:
    """Unlink a study from the request (same rule as attaching); its readers lose it at once."""
    c = load_visible(session=session, user=by, consultation_id=consultation_id)
    dicom_service.unlink_study(
        session=session, study_uid=study_uid, by=by, now=now, ip=ip, **_as_target(c)
    )
    record(session, by, "detach", c, now=now, ip=ip, detail={"study_uid": study_uid})


def _as_target(c: Consultation) -> dict[str, Any]:
    """The request as dicom names the object a study is linked to."""
    return {"target_type": "consultation", "target_id": c.id}


def _study_public(link: Any) -> StudyPublic:
    return StudyPublic(
        study_uid=link.study_uid, linked_by_id=link.linked_by_id, linked_at=link.created_at
    )


def studies(*, session: Session, consultation_id: uuid.UUID) -> list[StudyPublic]:
    """The studies linked to the request (the links live in dicom)."""
    links = dicom_service.links_for(
        session=session, target_type="consultation", target_id=consultation_id
    )
    c = session.get(Consultation, consultation_id)
    out = []
    for link in links:
        row = _study_public(link)
        check = (
            dicom_service.demographics_against(
                session=session, study_uid=link.study_uid, patient_id=c.patient_id
            )
            if c is not None
            else None
        )
        if check is not None:
            row.dicom = check.dicom.model_dump()
            row.mismatches = check.mismatches
            row.demographics_mismatch = check.demographics_mismatch
        out.append(row)
    return out


def imaging_orders(*, session: Session, consultation_id: uuid.UUID) -> list[ImagingOrderPublic]:
    """The request's imaging orders, oldest first (the worklist lives in dicom)."""
    orders = dicom_service.orders_of(
        session=session, target_type="consultation", target_id=consultation_id
    )
    return [ImagingOrderPublic.model_validate(o, from_attributes=True) for o in orders]


def publish_imaging_order(
    *, session: Session, consultation: Consultation, by: User, now: datetime, order: Any
) -> None:
    """Publish the expected study on the requesting hospital's modality worklist."""
    o = order.imaging_order
    dicom_service.publish_order(
        session=session,
        target_type="consultation",
        target_id=consultation.id,
        patient_id=consultation.patient_id,
        institution_id=consultation.requesting_institution_id,
        by=by,
        modality=o.modality,
        scheduled_at=o.scheduled_at or now,
        procedure=o.procedure,
        now=now,
    )
