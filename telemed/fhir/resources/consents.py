"""Consent: a consultation's informed consent (知情同意, `consultation_consent` rows) and a
family-doctor contract's signing consent (签约, one per contract, same id as the contract).

Visibility and audit are the REST API's: a consultation consent through
`consultations.service.read(what="consent")` (read) and the role's worklist (search); a
contract through `referrals.service.read_contract` (read) and
`visible_contracts_of_patient` or the caller's teams' contracts (search), audited as
`GET /family-doctors/contracts` audits. Consultation consents come first in a search.
"""

from __future__ import annotations

import uuid
from typing import Any

from fhir.resources.R4B.consent import Consent
from sqlmodel import col, select

from referrals import service as referrals_service
from referrals.models import Contract
from telemed.consultations import service as consultation_service
from telemed.consultations.models import Consultation, ConsultationConsent
from telemed.core import audit
from telemed.core.errors import NotFound
from telemed.core.pagination import PageParams, paginate
from telemed.fhir.registry import (
    Context,
    Handler,
    Page,
    Resource,
    SearchParam,
    ident,
    reference,
    token,
)
from telemed.identity.models import Role

KIND_SYSTEM = "https://telemed.example/fhir/CodeSystem/consent-kind"
METHOD_SYSTEM = "https://telemed.example/fhir/CodeSystem/consent-method"
METHOD_EXT = "https://telemed.example/fhir/StructureDefinition/consent-method"
# a contract's status as Consent.status
CONTRACT_STATUS = {
    "pending": "proposed",
    "active": "active",
    "expired": "inactive",
    "terminated": "inactive",
}


def _consent(
    *, id: uuid.UUID, kind: str, status: str, patient_id: uuid.UUID, **rest: Any
) -> Resource:
    body: dict[str, Any] = {
        "resourceType": "Consent",
        "id": str(id),
        "status": status,
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "treatment",
                }
            ]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0"}]},
            {"coding": [{"system": KIND_SYSTEM, "code": kind}], "text": kind},
        ],
        "patient": {"reference": f"Patient/{patient_id}"},
        "policyRule": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}
            ]
        },
        **rest,
    }
    return Consent.model_validate(body).model_dump(mode="json", exclude_none=True)


def consultation_consent_resource(row: ConsultationConsent, c: Consultation) -> Resource:
    """The consent: given by whom (`performer.display`, relationship in `text`), when, how
    (`verbal` or `signed_form`, the form as `sourceReference`), for which consultation."""
    rest: dict[str, Any] = {
        "dateTime": row.given_at.isoformat(),
        "performer": [{"display": f"{row.given_by} ({row.relationship})"}],
        "organization": [{"reference": f"Organization/{c.requesting_institution_id}"}],
        "provision": {
            "type": "permit",
            "data": [{"meaning": "related", "reference": {"reference": f"ServiceRequest/{c.id}"}}],
        },
        "extension": [
            {
                "url": METHOD_EXT,
                "valueCoding": {"system": METHOD_SYSTEM, "code": row.method},
            }
        ],
    }
    if row.document_id:
        rest["sourceReference"] = {"display": f"consultation document {row.document_id}"}
    return _consent(
        id=row.id, kind="consultation", status="active", patient_id=c.patient_id, **rest
    )


def contract_consent_resource(c: Contract) -> Resource:
    """A contract's signing consent: the term as `provision.period`, `dateTime` = signed at,
    the recorded consent's method (`written`, ... ; `app` when the resident signed)."""
    method = str(c.consent.get("method") or c.signing_channel)
    return _consent(
        id=c.id,
        kind="contract",
        status=CONTRACT_STATUS.get(c.status, "inactive"),
        patient_id=c.patient_id,
        dateTime=c.signed_at.isoformat(),
        provision={
            "type": "permit",
            "period": {"start": c.term_start.isoformat(), "end": c.term_end.isoformat()},
        },
        extension=[{"url": METHOD_EXT, "valueCoding": {"system": METHOD_SYSTEM, "code": method}}],
    )


def read_consent(ctx: Context, id: str) -> Resource:
    uid = ident(id, "Consent")
    row = ctx.session.get(ConsultationConsent, uid)
    if row is not None:
        c = consultation_service.read(
            session=ctx.session,
            user=ctx.user,
            consultation_id=row.consultation_id,
            what="consent",
        )
        return consultation_consent_resource(row, c)
    if ctx.session.get(Contract, uid) is not None:
        return contract_consent_resource(
            referrals_service.read_contract(session=ctx.session, user=ctx.user, contract_id=uid)
        )
    raise NotFound(f"Consent/{id} not found")


def _visible_contracts(ctx: Context, patient_ids: set[uuid.UUID]) -> list[Contract]:
    """The contracts a search covers: of the patient named (those the caller may see), else
    the caller's own (a resident) or their teams'."""
    if patient_ids:
        if len(patient_ids) > 1:
            return []
        return referrals_service.visible_contracts_of_patient(
            session=ctx.session, user=ctx.user, patient_id=next(iter(patient_ids))
        )
    if ctx.user.role == Role.PATIENT and ctx.user.patient_id:
        return referrals_service.visible_contracts_of_patient(
            session=ctx.session, user=ctx.user, patient_id=ctx.user.patient_id
        )
    rows: list[Contract] = []
    for team_id in referrals_service.teams_of_user(session=ctx.session, user_id=ctx.user.id):
        rows += referrals_service.contracts_of_team(session=ctx.session, team_id=team_id)
    return rows


def search_consents(ctx: Context, params: dict[str, list[str]], count: int, offset: int) -> Page:
    patient_ids = {reference(v, "Patient", "patient") for v in params.get("patient", [])}
    wanted: set[str] | None = None
    for value in params.get("status", []):
        codes = {token(v) for v in value.split(",")}
        wanted = codes if wanted is None else wanted & codes
    # consultation consents (all `active`): of the consultations of the caller's worklist
    rows: list[ConsultationConsent] = []
    c_total = 0
    if wanted is None or "active" in wanted:
        where = [col(Consultation.patient_id) == p for p in patient_ids]
        visible = consultation_service.worklist_query(
            user=ctx.user,
            role=consultation_service.default_role(ctx.user),
            state=None,
            where=where,
        ).order_by(None)
        ids = visible.with_only_columns(col(Consultation.id)).scalar_subquery()
        stmt = (
            select(ConsultationConsent)
            .where(col(ConsultationConsent.consultation_id).in_(ids))
            .order_by(col(ConsultationConsent.recorded_at).desc(), col(ConsultationConsent.id))
        )
        rows, c_total = paginate(ctx.session, stmt, PageParams(limit=count, offset=offset))
    of = {
        c.id: c
        for c in ctx.session.execute(
            select(Consultation).where(col(Consultation.id).in_({r.consultation_id for r in rows}))
        ).scalars()
    }
    if rows:
        audit.read(
            ctx.session,
            ctx.user,
            object_type="consultation",
            object_ids=list(of),
            patient_ids=[c.patient_id for c in of.values()],
            what="consent",
        )
    found = [consultation_consent_resource(r, of[r.consultation_id]) for r in rows]
    # then the contracts' consents
    signed = [
        c
        for c in _visible_contracts(ctx, patient_ids)
        if wanted is None or CONTRACT_STATUS.get(c.status, "inactive") in wanted
    ]
    start = max(0, offset - c_total)
    page = signed[start : start + count - len(found)]
    if page:
        audit.read(
            ctx.session,
            ctx.user,
            object_type="contract",
            patient_ids=[c.patient_id for c in page],
            object_ids=[c.id for c in page],
        )
    found += [contract_consent_resource(c) for c in page]
    total = c_total + len(signed)
    return Page(resources=found, total=total, more=offset + count < total)


HANDLERS: tuple[Handler, ...] = (
    Handler(
        type="Consent",
        documentation="Consultation consent (category consent-kind|consultation, status "
        "active) and family-doctor contract consent (consent-kind|contract, status from the "
        "contract: proposed, active, inactive).",
        read=read_consent,
        search=search_consents,
        params=(
            SearchParam("patient", "reference", "Patient/<id>"),
            SearchParam("status", "token", "proposed, active or inactive (comma-separated)"),
        ),
    ),
)
