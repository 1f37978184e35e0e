"""API shapes of remote consultations."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from telemed.consultations.service_classes import ServiceClass, Urgency
from telemed.identity.models import Title

ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-Z]{1,4})?$")


class ConsentBase(BaseModel):
    """Informed consent (知情同意): who gave it, when, how: `verbal` (recorded by the doctor),
    `signed_form` (the scanned form attached), `written` (a paper form signed before a
    witness) or `on_screen` (signed with a finger or mouse on the screen)."""

    given_by: str = Field(min_length=1, max_length=64)
    relationship: str = Field(default="self", max_length=32)
    method: Literal["signed_form", "verbal", "written", "on_screen"]
    given_at: datetime
    document_id: uuid.UUID | None = None
    witness: str = Field(default="", max_length=64, description="written: who witnessed it")
    note: str = Field(default="", max_length=500)


class ConsentCreate(ConsentBase):
    signature_png: str | None = Field(
        default=None,
        max_length=400_000,
        description="on_screen: the drawn signature, base64 PNG (or a data: URL), ≤ 256 KiB",
    )


class ConsentPublic(ConsentBase):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    recorded_by_id: uuid.UUID
    recorded_at: datetime
    has_signature: bool = Field(
        default=False, description="GET …/consent/{consent_id}/signature.png serves it"
    )


class ImagingOrder(BaseModel):
    """The study expected from the requesting hospital: published on its modality worklist."""

    modality: str = Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9_ ]+$")
    scheduled_at: datetime | None = None  # default: now
    procedure: str = Field(default="", max_length=64)


class ConsultationCreate(BaseModel):
    patient_id: uuid.UUID
    service_class: ServiceClass
    urgency: Urgency = Urgency.ROUTINE
    summary: str = Field(min_length=1, max_length=20000)
    question: str = Field(min_length=1, max_length=5000)
    wanted_specialty: str = Field(min_length=1, max_length=40)
    wanted_title: Title | None = None
    chosen_institution_id: uuid.UUID | None = None
    chosen_specialist_id: uuid.UUID | None = None
    override_reason: str | None = Field(
        default=None,
        max_length=1000,
        description="why the chosen hospital is not the first one proposed (docs/routing.md)",
    )
    consent: ConsentCreate | None = None
    # imaging diagnosis only: the study will come from our modality (MWL entry published)
    imaging_order: ImagingOrder | None = None


class ConsultationUpdate(BaseModel):
    """Changes to a draft."""

    urgency: Urgency | None = None
    summary: str | None = Field(default=None, min_length=1, max_length=20000)
    question: str | None = Field(default=None, min_length=1, max_length=5000)
    wanted_specialty: str | None = Field(default=None, min_length=1, max_length=40)
    wanted_title: Title | None = None
    chosen_institution_id: uuid.UUID | None = None
    chosen_specialist_id: uuid.UUID | None = None
    override_reason: str | None = Field(default=None, max_length=1000)


class ConsultationPublic(BaseModel):
    # every field is in every answer, defaults included: the OpenAPI says so (typed client)
    model_config = ConfigDict(
        from_attributes=True, json_schema_serialization_defaults_required=True
    )

    id: uuid.UUID
    patient_id: uuid.UUID
    requesting_doctor_id: uuid.UUID
    requesting_institution_id: uuid.UUID
    service_class: str
    urgency: str
    live_session: bool
    summary: str
    question: str
    wanted_specialty: str
    wanted_title: str | None
    chosen_institution_id: uuid.UUID | None
    chosen_specialist_id: uuid.UUID | None
    proposed_specialist_id: uuid.UUID | None
    assigned_specialist_id: uuid.UUID | None
    receiving_institution_id: uuid.UUID | None
    override_reason: str | None = None
    first_proposed_institution_id: uuid.UUID | None = None
    state: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    accepted_at: datetime | None
    reported_at: datetime | None
    closed_at: datetime | None
    accept_due_at: datetime | None
    report_due_at: datetime | None
    expires_at: datetime | None
    booking_id: uuid.UUID | None
    session_start_at: datetime | None
    session_end_at: datetime | None
    fee_cents: int
    currency: str
    payment_state: str
    allowed_actions: list[str] = []
    my_relations: list[str] = []
    # filled by the list route (GET /consultations): what a worklist decides by
    studies_count: int | None = None
    documents_count: int | None = None


class TransitionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_state: str
    to_state: str
    by_id: uuid.UUID | None
    at: datetime
    reason: str
    data: dict[str, Any]


class ReasonBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class AcceptBody(BaseModel):
    specialist_id: uuid.UUID | None = None  # coordinators assign; a specialist accepts for self
    slot_id: uuid.UUID | None = None  # live sessions: this slot, else the earliest one
    note: str = Field(default="", max_length=1000)


class ScheduleBody(BaseModel):
    slot_id: uuid.UUID


class RedirectBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)
    institution_id: uuid.UUID | None = None
    specialist_id: uuid.UUID | None = None


class ProposalQuery(BaseModel):
    service_class: ServiceClass
    wanted_specialty: str
    wanted_title: Title | None = None
    institution_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = Field(
        default=None, description="route from this patient's county and contract"
    )
    urgency: Urgency = Urgency.ROUTINE
    limit: int = Field(default=10, ge=1, le=50)


class Reason(BaseModel):
    """Why a candidate stands where it does: a code the client renders with its params."""

    code: str
    params: dict[str, str | int | float | None]


class Proposal(BaseModel):
    """A specialist the request could go to, with why they rank where they do."""

    specialist_id: uuid.UUID
    specialist_name: str
    title: str | None
    specialty_code: str | None
    institution_id: uuid.UUID
    institution_name: str
    tier: str
    same_alliance: bool
    earliest_slot_id: uuid.UUID | None = None
    earliest_slot_at: datetime | None = None
    routing_tier: str = Field(description="tier of the routing rule (docs/routing.md)")
    routing_rank: int = Field(description="1 (county medical community) .. 5 (region)")
    distance_km: float | None = Field(description="from the patient's county seat")
    sla_share: float | None = Field(description="deadlines met over the last 90 days, 0..1")
    reason: Reason


class DocumentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: uuid.UUID
    uploaded_at: datetime


class StudyAttach(BaseModel):
    study_uid: str = Field(min_length=1, max_length=64, pattern=r"^[0-9.]+$")


class StudyPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    study_uid: str
    linked_by_id: uuid.UUID
    linked_at: datetime
    # The study's DICOM patient beside the request's (dicom.service.demographics_against).
    dicom: dict[str, str] | None = None
    mismatches: list[str] = Field(default_factory=list)
    demographics_mismatch: bool = False


class ImagingOrderPublic(BaseModel):
    """The imaging order of a request as its participants see it (its worklist entry)."""

    model_config = ConfigDict(from_attributes=True)

    accession_number: str
    modality: str
    procedure: str
    scheduled_at: datetime
    status: str  # scheduled | completed | cancelled
    matched_study_uid: str | None
    created_at: datetime


class ReferralAdvice(BaseModel):
    refer: bool = False
    specialty: str | None = None
    urgency: Urgency | None = None
    note: str = Field(default="", max_length=2000)


class EcgMeasurements(BaseModel):
    """The ECG values the reader signs (自动测量, checked and edited by the reader): offered by
    `GET /api/v1/studies/{uid}/ecg`, changed where the reader disagrees (`edited` names them)."""

    model_config = ConfigDict(extra="forbid")

    study_uid: str | None = Field(default=None, pattern=r"^[0-9.]{1,64}$")
    sop_uid: str | None = Field(default=None, pattern=r"^[0-9.]{1,64}$")
    heart_rate_bpm: float | None = Field(default=None, ge=10, le=400)
    rr_ms: float | None = Field(default=None, ge=100, le=6000)
    pr_ms: float | None = Field(default=None, ge=0, le=1000)
    qrs_ms: float | None = Field(default=None, ge=0, le=500)
    qt_ms: float | None = Field(default=None, ge=0, le=1000)
    qtc_bazett_ms: float | None = Field(default=None, ge=0, le=1500)
    qtc_fridericia_ms: float | None = Field(default=None, ge=0, le=1500)
    axis_deg: float | None = Field(default=None, ge=-180, le=360)
    edited: list[
        Literal[
            "heart_rate_bpm", "rr_ms", "pr_ms", "qrs_ms", "qt_ms",
            "qtc_bazett_ms", "qtc_fridericia_ms", "axis_deg",
        ]
    ] = Field(default_factory=list, max_length=8)  # fmt: skip


class OpinionWrite(BaseModel):
    """The structured opinion (会诊意见)."""

    findings: str = Field(min_length=1, max_length=20000)
    impression: str = Field(min_length=1, max_length=5000)
    icd10: list[str] = Field(default_factory=list, max_length=20)
    recommendations: str = Field(default="", max_length=20000)
    referral_advice: ReferralAdvice = ReferralAdvice()
    ecg_measurements: EcgMeasurements | None = None  # an ECG reading's signed values

    @field_validator("icd10")
    @classmethod
    def _icd10(cls, codes: list[str]) -> list[str]:
        out = []
        for code in codes:
            c = code.strip().upper()
            if not ICD10.match(c):
                raise ValueError(f"{code!r} is not an ICD-10 code (e.g. I21.0, J18.9)")
            out.append(c)
        return out


class OpinionSign(BaseModel):
    """The signer's own password: signing re-authenticates (403 without it or when wrong)."""

    password: str | None = Field(default=None, max_length=1024)


class OpinionCorrection(OpinionWrite):
    """A new signed version: like signing, it takes the signer's password."""

    reason: str = Field(min_length=1, max_length=1000)
    password: str | None = Field(default=None, max_length=1024)


class SlideAnnotation(BaseModel):
    """A mark on a whole-slide image: a point or a rectangle with a text, in pixels of the
    slide's base (highest-resolution) level, origin top left (docs/imaging.md, Pathology)."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    study_uid: str = Field(min_length=1, max_length=64, pattern=r"^[0-9.]+$")
    kind: Literal["point", "rectangle"]
    x: float = Field(ge=0, le=10_000_000)
    y: float = Field(ge=0, le=10_000_000)
    width: float = Field(default=0, ge=0, le=10_000_000)
    height: float = Field(default=0, ge=0, le=10_000_000)
    text: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _shape(self) -> SlideAnnotation:
        if self.kind == "rectangle" and not (self.width > 0 and self.height > 0):
            raise ValueError("a rectangle has a width and a height")
        if self.kind == "point" and (self.width or self.height):
            raise ValueError("a point has no width or height")
        return self


class AnnotationsWrite(BaseModel):
    items: list[SlideAnnotation] = Field(max_length=500)


class OpinionSigner(BaseModel):
    """Who signed: the author's name, title (职称) and hospital."""

    id: uuid.UUID
    full_name: str
    title: str | None = Field(description="chief_physician, associate_chief_physician, …")
    institution_id: uuid.UUID | None
    institution_name: str | None
    institution_name_en: str | None = None


class Diagnosis(BaseModel):
    """An ICD-10 code of the opinion with its catalogue names ("" when not catalogued)."""

    code: str
    name_zh: str
    name_en: str


class OpinionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    consultation_id: uuid.UUID
    version: int
    author_id: uuid.UUID
    findings: str
    impression: str
    icd10: list[str]
    recommendations: str
    referral_advice: dict[str, Any]
    ecg_measurements: dict[str, Any] | None = None
    supersedes_id: uuid.UUID | None
    correction_reason: str
    created_at: datetime
    signed_at: datetime | None
    key_id: str | None
    signature: str | None
    canonical: str | None  # the exact UTF-8 text the signature covers
    annotations: list[SlideAnnotation] = []
    signer: OpinionSigner | None = None  # once signed
    diagnoses: list[Diagnosis] = []  # `icd10` in order, with names


class VerifyResult(BaseModel):
    consultation_id: uuid.UUID
    version: int
    valid: bool
    algorithm: str
    key_id: str | None
    signer_id: uuid.UUID
    fingerprint: str | None
    signed_at: datetime | None
    reason: str


class KeyPublic(BaseModel):
    key_id: str
    user_id: uuid.UUID
    algorithm: str
    public_key: str
    public_key_pem: str
    fingerprint: str
    created_at: datetime
    revoked_at: datetime | None


class FeePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    service_class: str
    tier: str
    amount_cents: int
    currency: str
    updated_at: datetime


class FeeSet(BaseModel):
    service_class: ServiceClass
    tier: Literal["regional", "league", "county"]
    amount_cents: int = Field(ge=0, le=10_000_000)
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")


class PaymentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    provider: str
    provider_ref: str
    amount_cents: int
    currency: str
    status: str
    created_at: datetime


class ServiceClassPublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    live_session: bool
    expected_attachments: list[str]
    accept_minutes: dict[str, int]
    report_minutes: dict[str, int]


class ComplianceRow(BaseModel):
    key: str
    name: str
    requests: int
    accept_measured: int
    accepted_in_time: int
    accept_breaches: int
    accept_compliance: float | None
    report_measured: int
    reported_in_time: int
    report_breaches: int
    report_compliance: float | None


class ComplianceReport(BaseModel):
    start: datetime | None
    end: datetime | None
    generated_at: datetime
    by_institution: list[ComplianceRow]
    by_league: list[ComplianceRow]
    by_service_class: list[ComplianceRow]
