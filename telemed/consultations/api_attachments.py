"""HTTP API of what a request carries: consent, documents, DICOM studies, imaging orders."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import File, Form, UploadFile
from fastapi.responses import Response

from telemed.consultations import service
from telemed.consultations.api_routes import Routes
from telemed.consultations.schemas import (
    ConsentCreate,
    ConsentPublic,
    DocumentPublic,
    ImagingOrderPublic,
    StudyAttach,
    StudyPublic,
)
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.identity.deps import ClientIP, CurrentUser

routes = Routes()


@routes.get(
    "/{consultation_id}/consent/{consent_id}/signature.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def consent_signature(
    consultation_id: uuid.UUID, consent_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> Response:
    """The signature the patient drew on the screen for this consent (PNG), audited."""
    png = service.consent_signature(
        session=session, consultation_id=consultation_id, consent_id=consent_id, by=user
    )
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


@routes.post("/{consultation_id}/consent", response_model=ConsentPublic, status_code=201)
def consent(
    consultation_id: uuid.UUID,
    body: ConsentCreate,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> Any:
    """Record the patient's informed consent."""
    return service.record_consent(
        session=session, consultation_id=consultation_id, by=user, data=body, now=now
    )


@routes.get("/{consultation_id}/consent", response_model=list[ConsentPublic])
def consent_list(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    service.read(session=session, user=user, consultation_id=consultation_id, what="consent")
    return service.consents(session=session, consultation_id=consultation_id)


@routes.post("/{consultation_id}/documents", response_model=DocumentPublic, status_code=201)
async def upload_document(
    consultation_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    settings: SettingsDep,
    kind: Annotated[str, Form()],
    file: Annotated[UploadFile, File()],
) -> Any:
    """Attach a document (multipart: kind, file)."""
    limit = settings.consultations.max_document_bytes
    content = await file.read(limit + 1)
    return service.add_document(
        session=session,
        consultation_id=consultation_id,
        by=user,
        kind=kind,
        filename=file.filename or "document",
        content_type=file.content_type or "application/octet-stream",
        content=content,
        now=now,
        max_bytes=limit,
    )


@routes.get("/{consultation_id}/documents", response_model=list[DocumentPublic])
def list_documents(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    service.read(session=session, user=user, consultation_id=consultation_id, what="documents")
    return service.documents(session=session, consultation_id=consultation_id)


@routes.get("/{consultation_id}/documents/{document_id}")
def download_document(
    consultation_id: uuid.UUID,
    document_id: uuid.UUID,
    session: SessionDep,
    user: CurrentUser,
) -> Response:
    doc = service.read_document(
        session=session, consultation_id=consultation_id, document_id=document_id, by=user
    )
    return Response(
        doc.content,
        media_type=doc.content_type,
        headers={"X-Content-SHA256": doc.sha256, "Cache-Control": "no-store"},
    )


@routes.post("/{consultation_id}/studies", response_model=StudyPublic, status_code=201)
def attach_study(
    consultation_id: uuid.UUID,
    body: StudyAttach,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
) -> Any:
    """Link a DICOM study (who may: `dicom.policy`; the requester, while the request is open)."""
    return service.attach_study(
        session=session, consultation_id=consultation_id, by=user, study_uid=body.study_uid, now=now
    )


@routes.delete("/{consultation_id}/studies/{study_uid}", status_code=204)
def detach_study(
    consultation_id: uuid.UUID,
    study_uid: str,
    session: SessionDep,
    user: CurrentUser,
    now: NowDep,
    ip: ClientIP,
) -> Response:
    """Unlink a study from the request (same rule as linking); its readers lose it at once."""
    service.detach_study(
        session=session,
        consultation_id=consultation_id,
        by=user,
        study_uid=study_uid,
        now=now,
        ip=ip,
    )
    return Response(status_code=204)


@routes.get("/{consultation_id}/studies", response_model=list[StudyPublic])
def list_studies(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    service.read(session=session, user=user, consultation_id=consultation_id, what="studies")
    return service.studies(session=session, consultation_id=consultation_id)


@routes.get("/{consultation_id}/imaging-orders", response_model=list[ImagingOrderPublic])
def list_imaging_orders(consultation_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> Any:
    """The request's imaging orders (modality worklist entries): accession number, status."""
    service.read(session=session, user=user, consultation_id=consultation_id, what="imaging_orders")
    return service.imaging_orders(session=session, consultation_id=consultation_id)
