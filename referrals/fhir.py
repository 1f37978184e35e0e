"""Referrals as FHIR R4 `ServiceRequest` + `Task` (validated with fhir.resources R4B).

The ServiceRequest is the order (who, to whom, why); the Task carries its workflow
state. Task.status uses FHIR's codes; the exact telemed state is in businessStatus.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.servicerequest import ServiceRequest
from fhir.resources.R4B.task import Task

from referrals.models import CarePlanTask, Referral

ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
STATE_SYSTEM = "https://telemed.example/fhir/CodeSystem/referral-state"
DIRECTION_SYSTEM = "https://telemed.example/fhir/CodeSystem/referral-direction"
REFERRAL_CATEGORY = ("http://snomed.info/sct", "3457005")

TASK_STATUS = {
    "draft": "draft",
    "requested": "requested",
    "received": "received",
    "accepted": "accepted",
    "booked": "ready",
    "arrived": "in-progress",
    "completed": "completed",
    "closed": "completed",
    "rejected": "rejected",
    "returned_with_advice": "rejected",
    "cancelled": "cancelled",
}
SERVICE_REQUEST_STATUS = {
    "draft": "draft",
    "requested": "active",
    "received": "active",
    "accepted": "active",
    "booked": "active",
    "arrived": "active",
    "completed": "completed",
    "closed": "completed",
    "rejected": "revoked",
    "returned_with_advice": "revoked",
    "cancelled": "revoked",
}
PRIORITY = {"routine": "routine", "urgent": "urgent", "emergency": "stat"}
# FHIR value sets (R4): Task.status and ServiceRequest.status.
TASK_STATUS_CODES = {
    "draft",
    "requested",
    "received",
    "accepted",
    "rejected",
    "ready",
    "cancelled",
    "in-progress",
    "on-hold",
    "failed",
    "completed",
    "entered-in-error",
}
REQUEST_STATUS_CODES = {
    "draft",
    "active",
    "on-hold",
    "revoked",
    "completed",
    "entered-in-error",
    "unknown",
}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def service_request(r: Referral) -> dict[str, Any]:
    """The referral as a validated ServiceRequest (JSON-ready dict)."""
    notes = [{"text": t} for t in (r.clinical_summary, r.insurance_notes) if t]
    if r.green_channel:
        notes.append({"text": f"green channel: {r.green_channel_reason}"})
    body: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": str(r.id),
        "status": SERVICE_REQUEST_STATUS[r.status],
        "intent": "order",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "3457005",
                        "display": "Patient referral",
                    }
                ],
                "text": f"referral {r.direction}",
            }
        ],
        "priority": PRIORITY.get(r.urgency, "routine"),
        "code": {
            "coding": [{"system": DIRECTION_SYSTEM, "code": r.direction}],
            "text": f"{r.direction} referral",
        },
        "subject": {"reference": f"Patient/{r.patient_id}"},
        "authoredOn": _iso(r.requested_at or r.created_at),
        "requester": {"reference": f"Practitioner/{r.from_doctor_id}"},
        "performer": [{"reference": f"Organization/{r.to_institution_id}"}],
        "reasonCode": [
            {
                "coding": [
                    {
                        "system": ICD10_SYSTEM,
                        "code": r.diagnosis_code,
                        "display": r.diagnosis_text or None,
                    }
                ],
                "text": r.reason,
            }
        ],
        "note": notes or None,
        "patientInstruction": r.care_plan or None,
    }
    if r.to_specialist_id:
        body["performer"].append({"reference": f"Practitioner/{r.to_specialist_id}"})
    if r.appointment_at:
        body["occurrenceDateTime"] = _iso(r.appointment_at)
    return ServiceRequest.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True)


def task(r: Referral) -> dict[str, Any]:
    """The workflow of the referral as a validated Task."""
    body: dict[str, Any] = {
        "resourceType": "Task",
        "id": str(r.id),
        "status": TASK_STATUS[r.status],
        "businessStatus": {
            "coding": [{"system": STATE_SYSTEM, "code": r.status}],
            "text": r.status,
        },
        "intent": "order",
        "priority": PRIORITY.get(r.urgency, "routine"),
        "focus": {"reference": f"ServiceRequest/{r.id}"},
        "for": {"reference": f"Patient/{r.patient_id}"},
        "authoredOn": _iso(r.created_at),
        "lastModified": _iso(r.updated_at),
        "requester": {"reference": f"Practitioner/{r.from_doctor_id}"},
        "owner": {"reference": f"Organization/{r.to_institution_id}"},
        "restriction": {"period": {"end": _iso(r.contact_by)}} if r.contact_by else None,
    }
    if r.outcome_sent_at:
        body["output"] = [
            {
                "type": {"text": r.outcome_kind or "outcome"},
                "valueString": "\n".join(
                    t for t in (r.outcome_summary, r.outcome_recommendations) if t
                ),
            }
        ]
    return Task.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True)


CARE_PLAN_SOURCE_SYSTEM = "https://telemed.example/fhir/CodeSystem/care-plan-source"


def care_plan(p: CarePlanTask) -> dict[str, Any]:
    """A care plan on a family-doctor team's worklist (a downward referral's, or an upward
    referral's outcome recommendations): `active` until the team marks it done."""
    body = {
        "resourceType": "CarePlan",
        "id": str(p.id),
        "status": "completed" if p.done_at else "active",
        "intent": "plan",
        "category": [{"coding": [{"system": CARE_PLAN_SOURCE_SYSTEM, "code": p.source}]}],
        "subject": {"reference": f"Patient/{p.patient_id}"},
        "basedOn": [{"reference": f"ServiceRequest/{p.referral_id}"}],
        "description": p.plan,
        "created": _iso(p.created_at),
        "period": {"start": _iso(p.created_at), "end": _iso(p.done_at)},
    }
    return CarePlan.model_validate(_clean(body)).model_dump(mode="json", exclude_none=True)


def task_bundle(referrals: list[Referral], base_url: str) -> dict[str, Any]:
    """A searchset Bundle of Tasks."""
    body = {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(referrals),
        "entry": [
            {"fullUrl": f"{base_url}/Task/{r.id}", "resource": task(r), "search": {"mode": "match"}}
            for r in referrals
        ],
    }
    return Bundle.model_validate(body).model_dump(mode="json", exclude_none=True)


def _clean(value: Any) -> Any:
    """Drop None values: FHIR forbids empty elements."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value if v is not None]
    return value
