"""DiagnosticReport (a consultation's signed opinion) and ImagingStudy (studies linked to a
referral or consultation; endpoint = our DICOMweb), through the domains' loaders."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.imagingstudy import ImagingStudy
from sqlmodel import col

from dicom import service as dicom_service
from telemed.consultations import fhir as consultation_fhir
from telemed.consultations import service as consultation_service
from telemed.consultations.models import Consultation
from telemed.core import audit
from telemed.core.errors import Invalid, NotFound
from telemed.fhir.registry import (
    Context,
    Handler,
    Include,
    Page,
    Resource,
    SearchParam,
    ident,
    reference,
    referenced,
    sliced,
)
from telemed.fhir.resources.loading import REFERRAL, load

OPINION_STATES = ("reported", "closed")


def _root(ctx: Context) -> str:
    return ctx.base.removesuffix("/fhir/R4")


def _report(ctx: Context, c: Consultation) -> Resource:
    op = consultation_service.opinion_for(session=ctx.session, consultation_id=c.id, by=ctx.user)
    if op.signed_at is None:
        raise NotFound("no signed opinion yet")
    pdf = f"{_root(ctx)}/api/v1/consultations/{c.id}/opinion.pdf"
    return consultation_fhir.diagnostic_report(c, op, pdf_url=pdf)


def read_report(ctx: Context, id: str) -> Resource:
    """The latest signed opinion of consultation `id` (same id as its ServiceRequest)."""
    c = consultation_service.load_visible(
        session=ctx.session, user=ctx.user, consultation_id=ident(id, "DiagnosticReport")
    )
    return _report(ctx, c)


def read_provenance(ctx: Context, id: str) -> Resource:
    """The signature of consultation `id`'s latest signed opinion."""
    c = consultation_service.load_visible(
        session=ctx.session, user=ctx.user, consultation_id=ident(id, "Provenance")
    )
    op = consultation_service.opinion_for(session=ctx.session, consultation_id=c.id, by=ctx.user)
    if op.signed_at is None:
        raise NotFound("no signed opinion yet")
    keys = f"{_root(ctx)}/api/v1/consultations/keys/{op.author_id}"
    return consultation_fhir.provenance(c, op, keys_url=keys)


def search_reports(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
    """Signed opinions of the caller's consultations (their worklist), newest first."""
    where: list[Any] = [col(Consultation.state).in_(OPINION_STATES)]
    for value in params.get("based-on", []):
        where.append(col(Consultation.id) == reference(value, "ServiceRequest", "based-on"))
    for value in params.get("patient", []):
        where.append(col(Consultation.patient_id) == reference(value, "Patient", "patient"))
    rows, total = consultation_service.worklist(
        session=ctx.session,
        user=ctx.user,
        role=consultation_service.default_role(ctx.user),
        state=None,
        limit=count,
        offset=offset,
        where=where,
    )
    return Page(resources=[_report(ctx, c) for c in rows], total=total, more=offset + count < total)


def imaging_study(ctx: Context, s: Any) -> Resource:
    """A study (dicom's StudySummary) with our DICOMweb as its endpoint."""
    subject: dict[str, Any] = (
        {"reference": f"Patient/{s.patient_id}"}
        if s.patient_id
        else {"display": s.patient_name or "unknown"}
    )
    body: dict[str, Any] = {
        "resourceType": "ImagingStudy",
        "id": s.study_uid,
        "contained": [
            {
                "resourceType": "Endpoint",
                "id": "dicomweb",
                "status": "active",
                "connectionType": {
                    "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                    "code": "dicom-wado-rs",
                },
                "payloadType": [{"text": "DICOM"}],
                "address": f"{_root(ctx)}/dicom-web",
            }
        ],
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{s.study_uid}"}],
        "status": "available",
        "subject": subject,
        "endpoint": [{"reference": "#dicomweb"}],
        "numberOfSeries": s.series_count,
        "numberOfInstances": s.instance_count,
        "description": s.description or None,
    }
    if s.study_date:
        body["started"] = s.study_date.isoformat()
    if s.modality:
        body["modality"] = [
            {"system": "http://dicom.nema.org/resources/ontology/DCM", "code": m}
            for m in s.modality.split("\\")
            if m
        ]
    if s.accession_number:
        body["identifier"].append({"type": {"text": "accession"}, "value": s.accession_number})
    clean = {k: v for k, v in body.items() if v is not None}
    return ImagingStudy.model_validate(clean).model_dump(mode="json", exclude_none=True)


def read_imaging_study(ctx: Context, id: str) -> Resource:
    """A study the caller may see (dicom's rule), by Study Instance UID; the read audited."""
    study = dicom_service.get_visible_study(session=ctx.session, user=ctx.user, study_uid=id)
    audit.read(
        ctx.session,
        ctx.user,
        object_type="study",
        object_id=study.study_uid,
        patient_ids=[study.patient_id],
        what="fhir",
    )
    return imaging_study(ctx, dicom_service.summary_of(ctx.session, study))


def search_imaging_studies(
    ctx: Context, params: dict[str, list[str]], count: int, offset: int
) -> Page:
    """Studies linked to one referral or consultation (`based-on`, required)."""
    values = params.get("based-on", [])
    if len(values) != 1:
        raise Invalid("search ImagingStudy by based-on=ServiceRequest/<id>", field="based-on")
    try:
        target = load(ctx, values[0].removeprefix("ServiceRequest/"), "ServiceRequest")
    except NotFound:  # unknown or hidden (the refusal audited): nothing to show
        return Page(resources=[], total=0, more=False)
    kind = REFERRAL if not isinstance(target, Consultation) else "consultation"
    studies = dicom_service.studies_for(session=ctx.session, target_type=kind, target_id=target.id)
    page, more = sliced(studies, count, offset)
    return Page(resources=[imaging_study(ctx, s) for s in page], total=len(studies), more=more)


HANDLERS: tuple[Handler, ...] = (
    Handler(
        type="DiagnosticReport",
        documentation="The signed opinion of a consultation (same id as its ServiceRequest): "
        "conclusion, ICD-10 conclusionCode, presentedForm = the signed PDF.",
        read=read_report,
        search=search_reports,
        params=(
            SearchParam("based-on", "reference", "ServiceRequest/<consultation id>"),
            SearchParam("patient", "reference", "Patient/<id>"),
        ),
        revincludes=(
            Include(
                "Provenance:target",
                lambda ctx, reports: referenced(
                    ctx,
                    [{"p": {"reference": f"Provenance/{r['id']}"}} for r in reports],
                    "Provenance",
                    lambda r: [r["p"]],
                ),
            ),
        ),
    ),
    Handler(
        type="ImagingStudy",
        documentation="Studies linked to a referral or consultation, by Study Instance UID; "
        "the contained Endpoint is our DICOMweb (bearer token).",
        read=read_imaging_study,
        search=search_imaging_studies,
        params=(SearchParam("based-on", "reference", "ServiceRequest/<id> (required)"),),
    ),
    Handler(
        type="Provenance",
        documentation="The Ed25519 signature of a signed opinion (same id as its "
        "DiagnosticReport): signature.data over the contained Binary (the canonical JSON); "
        "policy names the specialist's published key (GET /api/v1/consultations/keys/<id>).",
        read=read_provenance,
    ),
)
