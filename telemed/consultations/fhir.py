"""Consultations as FHIR R4 (validated with fhir.resources R4B): the request is a
`ServiceRequest`, its workflow a `Task`, the signed opinion a `DiagnosticReport`.

Task.status uses FHIR's codes; the exact consultation state is in businessStatus.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from telemed.consultations.models import Consultation, Opinion

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
KIND_SYSTEM = "https://telemed.example/fhir/CodeSystem/request-kind"
STATE_SYSTEM = "https://telemed.example/fhir/CodeSystem/consultation-state"
SERVICE_CLASS_SYSTEM = "https://telemed.example/fhir/CodeSystem/service-class"
SPECIALTY_SYSTEM = "https://telemed.example/fhir/CodeSystem/specialty"

TASK_STATUS = {
    "draft": "draft",
    "submitted": "requested",
    "redirected": "requested",
    "accepted": "accepted",
    "scheduled": "ready",
    "in_session": "in-progress",
    "reported": "completed",
    "closed": "completed",
    "declined": "rejected",
    "cancelled": "cancelled",
    "expired": "failed",
}
SERVICE_REQUEST_STATUS = {
    "draft": "draft",
    "submitted": "active",
    "redirected": "active",
    "accepted": "active",
    "scheduled": "active",
    "in_session": "active",
    "reported": "completed",
    "closed": "completed",
    "declined": "revoked",
    "cancelled": "revoked",
    "expired": "revoked",
}
PRIORITY = {"routine": "routine", "urgent": "urgent", "emergency": "stat"}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    return value


def kind_category() -> dict[str, Any]:
    """The category that marks a ServiceRequest as a remote consultation."""
    return {"coding": [{"system": KIND_SYSTEM, "code": "consultation"}], "text": "consultation"}


def _performers(c: Consultation) -> list[dict[str, str]] | None:
    out = []
    org = c.receiving_institution_id or c.chosen_institution_id
    if org:
        out.append({"reference": f"Organization/{org}"})
    doctor = c.assigned_specialist_id or c.chosen_specialist_id
    if doctor:
        out.append({"reference": f"Practitioner/{doctor}"})
    return out or None


def service_request(c: Consultation) -> dict[str, Any]:
    """The consultation request as a validated ServiceRequest."""
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(c.id),
        "status": SERVICE_REQUEST_STATUS[c.state],
        "intent": "order",
        "category": [kind_category()],
        "priority": PRIORITY.get(c.urgency, "routine"),
        "code": {
            "coding": [{"system": SERVICE_CLASS_SYSTEM, "code": c.service_class}],
            "text": c.service_class,
        },
        "subject": {"reference": f"Patient/{c.patient_id}"},
        "authoredOn": _iso(c.submitted_at or c.created_at),
        "requester": {"reference": f"Practitioner/{c.requesting_doctor_id}"},
        "performerType": {
            "coding": [{"system": SPECIALTY_SYSTEM, "code": c.wanted_specialty}],
            "text": c.wanted_specialty,
        },
        "performer": _performers(c),
        "reasonCode": [{"text": c.question}],
        "note": [{"text": c.summary}],
    }
    if c.session_start_at:
        body["occurrencePeriod"] = {
            "start": _iso(c.session_start_at),
            "end": _iso(c.session_end_at),
        }
    return ServiceRequest.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True)


def task(c: Consultation) -> dict[str, Any]:
    """The consultation's workflow as a validated Task."""
    body: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(c.id),
        "status": TASK_STATUS[c.state],
        "businessStatus": {"coding": [{"system": STATE_SYSTEM, "code": c.state}], "text": c.state},
        "intent": "order",
        "priority": PRIORITY.get(c.urgency, "routine"),
        "focus": {"reference": f"ServiceRequest/{c.id}"},
        "for": {"reference": f"Patient/{c.patient_id}"},
        "authoredOn": _iso(c.created_at),
        "lastModified": _iso(c.updated_at),
        "requester": {"reference": f"Practitioner/{c.requesting_doctor_id}"},
        "owner": (
            {"reference": f"Organization/{c.receiving_institution_id}"}
            if c.receiving_institution_id
            else None
        ),
        "restriction": (
            {"period": {"end": _iso(c.report_due_at or c.accept_due_at)}}
            if (c.report_due_at or c.accept_due_at)
            else None
        ),
    }
    return Task.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True)


def diagnostic_report(c: Consultation, op: Opinion, *, pdf_url: str) -> dict[str, Any]:
    """The signed opinion as a validated DiagnosticReport (conclusion, ICD-10 codes, PDF)."""
    body: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": str(c.id),
        "basedOn": [{"reference": f"ServiceRequest/{c.id}"}],
        "status": "amended" if op.version > 1 else "final",
        "code": {
            "coding": [{"system": SERVICE_CLASS_SYSTEM, "code": c.service_class}],
            "text": "remote consultation opinion",
        },
        "subject": {"reference": f"Patient/{c.patient_id}"},
        "issued": _iso(op.signed_at),
        "performer": [{"reference": f"Practitioner/{op.author_id}"}],
        "conclusion": "\n".join(t for t in (op.impression, op.recommendations) if t) or None,
        "conclusionCode": [
            {"coding": [{"system": ICD10_SYSTEM, "code": code}], "text": code} for code in op.icd10
        ]
        or None,
        "presentedForm": [
            {
                "contentType": "application/pdf",
                "url": pdf_url,
                "title": f"opinion v{op.version}",
                "creation": _iso(op.signed_at),
            }
        ],
    }
    return DiagnosticReport.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True)


def provenance(c: Consultation, op: Opinion, *, keys_url: str) -> dict[str, Any]:
    """Who signed the opinion and how: the Ed25519 signature over the canonical JSON form
    (carried as a contained Binary, so the signature verifies from this resource alone)."""
    import base64

    from fhir.resources.R4B.provenance import Provenance

    canonical = base64.b64encode((op.canonical or "").encode()).decode()
    body: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": str(c.id),
        "contained": [
            {
                "resourceType": "Binary",
                "id": "canonical",
                "contentType": "application/json",
                "data": canonical,
            }
        ],
        "target": [{"reference": f"DiagnosticReport/{c.id}"}],
        "recorded": _iso(op.signed_at),
        "activity": {"text": "signed" if op.version == 1 else f"correction v{op.version}"},
        "agent": [
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                            "code": "author",
                        }
                    ]
                },
                "who": {"reference": f"Practitioner/{op.author_id}"},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": "#canonical"}}],
        "signature": [
            {
                "type": [
                    {
                        "system": "urn:iso-astm:E1762-95:2013",
                        "code": "1.2.840.10065.1.12.1.1",
                        "display": "Author's Signature",
                    }
                ],
                "when": _iso(op.signed_at),
                "who": {"reference": f"Practitioner/{op.author_id}"},
                "targetFormat": "application/json",
                "sigFormat": "application/octet-stream",
                "data": op.signature,
            }
        ],
        "policy": [f"{keys_url}#{op.key_id}"],
    }
    return Provenance.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True)
