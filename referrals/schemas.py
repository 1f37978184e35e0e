"""API shapes of referrals (the family-doctor ones: `referrals.family.schemas`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from referrals.family.schemas import ICD10

Direction = Literal["up", "down", "lateral"]
Urgency = Literal["routine", "urgent", "emergency"]


class AttachmentIn(BaseModel):
    kind: Literal["document", "study", "lab", "image"]
    title: str = Field(min_length=1, max_length=200)
    uri: str | None = Field(default=None, max_length=500)
    study_uid: str | None = Field(default=None, max_length=64, pattern=r"^[0-9.]+$")


class ReferralCreate(BaseModel):
    patient_id: uuid.UUID
    to_institution_id: uuid.UUID | None = None
    to_department_id: uuid.UUID | None = None
    to_specialist_id: uuid.UUID | None = None
    direction: Direction
    urgency: Urgency = "routine"
    green_channel: bool = False
    green_channel_reason: str | None = Field(default=None, max_length=500)
    reason: str = Field(min_length=1, max_length=2000)
    diagnosis_code: str = Field(pattern=ICD10, description="ICD-10, e.g. I10 or E11.9")
    diagnosis_text: str = ""
    clinical_summary: str = ""
    attachments: list[AttachmentIn] = []
    insurance_notes: str = ""
    care_plan: str | None = None
    # True: refer although an open referral of the patient to the same destination exists
    # (else 409 `duplicate_referral` names it)
    confirm_duplicate: bool = False


class StudyLinkIn(BaseModel):
    study_uid: str = Field(min_length=1, max_length=64, pattern=r"^[0-9.]+$")


class OutcomeIn(BaseModel):
    kind: Literal["discharge_summary", "visit_summary"] = "visit_summary"
    summary: str = Field(min_length=1)
    recommendations: str | None = None
    care_plan: str | None = None


class ActionIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class BookIn(BaseModel):
    slot_id: uuid.UUID | None = None
    appointment_at: datetime | None = None


class CompleteIn(BaseModel):
    outcome: OutcomeIn | None = None


class ContactByIn(BaseModel):
    contact_by: datetime
    reason: str = Field(min_length=1, max_length=500)


class FilingSummary(BaseModel):
    """The referral's cross-region filing in a list: its state and the agency's reference."""

    status: Literal["submitted", "accepted", "rejected", "expired", "revoked"]
    filing_number: str | None
    valid_to: date
    adapter_message: str | None
    allowed_actions: list[str] = Field(
        default=[], description="resubmit | revoke: what the caller (the referrer) may do"
    )


class ReferralPublic(BaseModel):
    # every field is in every answer, defaults included: the OpenAPI says so (typed client)
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    id: uuid.UUID
    patient_id: uuid.UUID
    from_doctor_id: uuid.UUID
    from_institution_id: uuid.UUID
    to_institution_id: uuid.UUID
    to_department_id: uuid.UUID | None
    to_specialist_id: uuid.UUID | None
    to_team_id: uuid.UUID | None
    direction: str
    urgency: str
    green_channel: bool
    green_channel_reason: str | None
    reason: str
    diagnosis_code: str
    diagnosis_text: str
    clinical_summary: str
    attachments: list[dict[str, Any]]
    insurance_notes: str
    care_plan: str | None
    status: str
    allowed_actions: list[str] = []
    filing: FilingSummary | None = Field(
        default=None, description="the cross-region filing (异地就医备案), when one is needed"
    )
    contact_by: datetime | None
    contact_by_breached: bool = False
    escalation_level: int
    booking_id: uuid.UUID | None
    appointment_at: datetime | None
    outcome_kind: str | None
    outcome_summary: str | None
    outcome_recommendations: str | None
    outcome_sent_at: datetime | None
    acknowledged_at: datetime | None
    created_at: datetime
    requested_at: datetime | None
    accepted_at: datetime | None
    updated_at: datetime
    patient_name: str | None = None
    patient_resident_id_masked: str | None = None


class ReferralEventPublic(BaseModel):
    action: str
    from_status: str
    to_status: str
    by_id: uuid.UUID | None
    at: datetime
    reason: str | None
    data: dict[str, Any]


class RoutingReason(BaseModel):
    """Why a receiver stands where it does: a code the client renders with its params."""

    code: str
    params: dict[str, str | int | float | None]


class ReceiverProposal(BaseModel):
    """A candidate receiving institution, in the order of the routing rule (docs/routing.md)."""

    institution_id: uuid.UUID
    name_zh: str
    tier: str
    league_code: str
    in_alliance: bool
    alliance_ids: list[uuid.UUID]
    routing_tier: str | None = Field(
        default=None, description="tier of the routing rule; None for the contracted team"
    )
    routing_rank: int | None = None
    distance_km: float | None = None
    reason: RoutingReason | None = None


class FilingPublic(BaseModel):
    id: uuid.UUID
    referral_id: uuid.UUID
    patient_id: uuid.UUID
    scope: str
    insured_league_code: str | None
    treatment_league_code: str
    treatment_institution_id: uuid.UUID
    diagnosis_code: str
    valid_from: date
    valid_to: date
    status: Literal["submitted", "accepted", "rejected", "expired", "revoked"] = Field(
        description="submitted (being sent) | accepted | rejected | expired | revoked"
    )
    filing_number: str | None = Field(
        description="the agency's 待遇申报明细流水号 (trt_dcla_detl_sn) once accepted"
    )
    adapter_message: str | None = Field(description="the agency's words (err_msg)")
    reason_code: str | None = Field(description="the agency's code (infcode) of a rejection")
    attempts: int = Field(description="sends so far (transport failures included)")
    next_attempt_at: datetime | None = Field(description="the next send while submitted")
    last_error: str | None = Field(description="why the last send got no answer")
    filed_at: datetime | None
    decided_at: datetime | None
    closed_at: datetime | None
    allowed_actions: list[str] = []


class FilingActionIn(BaseModel):
    memo: str = Field(default="", max_length=500, description="备注 sent with a revocation")


class GroupCounts(BaseModel):
    key: str
    name: str
    up: int = 0
    down: int = 0
    lateral: int = 0


class ReferralReport(BaseModel):
    since: datetime | None
    until: datetime | None
    total: int
    by_direction: dict[str, int]
    by_status: dict[str, int]
    by_league: list[GroupCounts]
    by_alliance: list[GroupCounts]
    acceptance_hours_mean: float | None
    acceptance_hours_median: float | None
    closure_rate: float | None
    waiting_past_contact_date: int
