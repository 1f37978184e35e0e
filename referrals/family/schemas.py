"""API shapes of family-doctor teams, contracts and home services."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ICD10 = r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$"


class PackagePublic(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: str
    services: list[str]
    visits_per_year: int
    follow_up_interval_days: int | None
    fee_yuan: float
    insurance_share_pct: int
    eligibility: str | None


class PackageOffer(PackagePublic):
    """A package as offered to one resident: whether they may sign it today and, if not, why
    (`under_65`, `over_6`, `not_female`)."""

    eligible: bool
    ineligible_reason: str | None = None


class MemberIn(BaseModel):
    user_id: uuid.UUID
    role: Literal["family_doctor", "nurse", "public_health", "village_doctor"]


class TeamCreate(BaseModel):
    institution_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    lead_doctor_id: uuid.UUID
    members: list[MemberIn] = []
    served_areas: list[str] = []
    capacity: int | None = Field(default=None, ge=1)


class MemberPublic(BaseModel):
    user_id: uuid.UUID
    role: str


class TeamPublic(BaseModel):
    id: uuid.UUID
    institution_id: uuid.UUID
    name: str
    lead_doctor_id: uuid.UUID
    served_areas: list[str]
    capacity: int
    contracted: int
    members: list[MemberPublic]


class ConsentIn(BaseModel):
    """The resident's consent when a doctor signs on their behalf."""

    method: Literal["written", "electronic_signature", "verbal_witnessed", "fingerprint"]
    witness: str | None = None
    note: str | None = None


class ContractCreate(BaseModel):
    patient_id: uuid.UUID
    team_id: uuid.UUID
    package_codes: list[str] = []
    term_start: date | None = None
    consent: ConsentIn | None = None
    moving: bool = Field(default=False, description="the resident moved: switch teams now")


class ContractRenew(BaseModel):
    team_id: uuid.UUID | None = None
    package_codes: list[str] | None = None
    consent: ConsentIn | None = None


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


class FollowUpPublic(BaseModel):
    id: uuid.UUID
    package_code: str
    due_on: date
    done_at: datetime | None
    notes: str


class ContractPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    team_id: uuid.UUID
    status: str
    term_start: date
    term_end: date
    signing_channel: str
    signed_by_id: uuid.UUID
    signed_at: datetime
    consent: dict[str, Any]
    confirmed_at: datetime | None
    previous_contract_id: uuid.UUID | None
    activated_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    package_codes: list[str]
    patient_name: str | None = None
    patient_resident_id_masked: str | None = None


class FollowUpDone(BaseModel):
    notes: str = ""
    measurements: dict[str, Any] = {}


class HomeBedCreate(BaseModel):
    patient_id: uuid.UUID
    diagnosis_code: str = Field(pattern=ICD10)
    reason: str = ""
    visit_interval_days: int = Field(default=7, ge=1, le=90)
    planned_services: list[str] = []


class HomeBedPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    team_id: uuid.UUID
    status: str
    diagnosis_code: str
    reason: str
    visit_interval_days: int
    planned_services: list[str]
    admitted_at: datetime
    discharged_at: datetime | None
    discharge_summary: str | None
    visits: list[dict[str, Any]] = []
    patient_name: str | None = None
    patient_resident_id_masked: str | None = None
    next_visit_due: datetime | None = None
    home_visits: list[dict[str, Any]] = Field(
        default=[], description="the team's home visits (上门服务) of this resident, newest first"
    )


class BedVisitIn(BaseModel):
    notes: str = ""
    vitals: dict[str, Any] = {}
    home_visit_id: uuid.UUID | None = Field(
        default=None, description="the scheduled home visit this record completes"
    )


class DischargeIn(BaseModel):
    summary: str = Field(min_length=1)


class HomeVisitCreate(BaseModel):
    patient_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500)
    preferred_date: date | None = None


class HomeVisitSchedule(BaseModel):
    slot_id: uuid.UUID | None = None
    scheduled_at: datetime | None = None


class HomeVisitPublic(BaseModel):
    id: uuid.UUID
    patient_id: uuid.UUID
    team_id: uuid.UUID
    reason: str
    preferred_date: date | None
    status: str
    scheduled_at: datetime | None
    booking_id: uuid.UUID | None


class TeamWorklist(BaseModel):
    team_id: uuid.UUID
    overdue_follow_ups: list[dict[str, Any]]
    care_plans: list[dict[str, Any]]
    home_visits: list[dict[str, Any]]
    home_beds_due: list[dict[str, Any]]
    waiting_referrals: list[dict[str, Any]]
