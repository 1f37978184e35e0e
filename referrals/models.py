"""Tables of two-way referrals: referrals, their events, care plans, cross-region filings.

The family-doctor tables live in `referrals.family.models` (re-exported here).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from referrals.family.models import (
    DOCTOR_TEAM_ROLES,
    Contract,
    ContractPackage,
    ContractStatus,
    FamilyDoctorTeam,
    FollowUp,
    HomeBedVisit,
    HomeSickBed,
    HomeVisitRequest,
    ServicePackage,
    TeamMember,
    TeamRole,
)
from telemed.core.db import id_field, utc_field

__all__ = [
    "DOCTOR_TEAM_ROLES",
    "CarePlanTask",
    "Contract",
    "ContractPackage",
    "ContractStatus",
    "CrossRegionFiling",
    "FamilyDoctorTeam",
    "FollowUp",
    "HomeBedVisit",
    "HomeSickBed",
    "HomeVisitRequest",
    "Referral",
    "ReferralEvent",
    "ServicePackage",
    "TeamMember",
    "TeamRole",
]


class Referral(SQLModel, table=True):
    """A two-way referral (双向转诊) between tiers."""

    __tablename__ = "referral"

    id: uuid.UUID = id_field()
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    from_doctor_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    from_institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    to_institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    to_department_id: uuid.UUID | None = Field(default=None, foreign_key="department.id")
    to_specialist_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    to_team_id: uuid.UUID | None = Field(default=None, foreign_key="fd_team.id", index=True)
    direction: str = Field(max_length=8)  # up | down | lateral
    urgency: str = Field(default="routine", max_length=16)  # routine | urgent | emergency
    green_channel: bool = False
    green_channel_reason: str | None = None
    reason: str
    diagnosis_code: str = Field(max_length=16)
    diagnosis_text: str = ""
    clinical_summary: str = ""
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    insurance_notes: str = ""
    care_plan: str | None = None
    status: str = Field(default="draft", max_length=24, index=True)
    contact_by: datetime | None = utc_field(nullable=True, index=True)
    escalated_at: datetime | None = utc_field(nullable=True)
    escalation_level: int = 0
    booking_id: uuid.UUID | None = None
    appointment_at: datetime | None = utc_field(nullable=True)
    outcome_kind: str | None = Field(default=None, max_length=24)
    outcome_summary: str | None = None
    outcome_recommendations: str | None = None
    outcome_sent_at: datetime | None = utc_field(nullable=True)
    outcome_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    acknowledged_at: datetime | None = utc_field(nullable=True)
    acknowledged_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = utc_field()
    requested_at: datetime | None = utc_field(nullable=True)
    accepted_at: datetime | None = utc_field(nullable=True)
    updated_at: datetime = utc_field()


class ReferralEvent(SQLModel, table=True):
    """One transition of a referral: who, when, why."""

    __tablename__ = "referral_event"

    id: uuid.UUID = id_field()
    referral_id: uuid.UUID = Field(foreign_key="referral.id", index=True)
    action: str = Field(max_length=32)
    from_status: str = Field(max_length=24)
    to_status: str = Field(max_length=24)
    by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    at: datetime = utc_field()
    reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class CarePlanTask(SQLModel, table=True):
    """A care plan or recommendation landing on a family-doctor team's worklist."""

    __tablename__ = "fd_care_plan"

    id: uuid.UUID = id_field()
    team_id: uuid.UUID = Field(foreign_key="fd_team.id", index=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    referral_id: uuid.UUID = Field(foreign_key="referral.id", index=True)
    source: str = Field(max_length=16)  # down_referral | outcome
    plan: str
    created_at: datetime = utc_field()
    done_at: datetime | None = utc_field(nullable=True)
    done_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")


class CrossRegionFiling(SQLModel, table=True):
    """Cross-region treatment filing (异地就医备案) for direct insurance settlement."""

    __tablename__ = "referral_filing"

    id: uuid.UUID = id_field()
    referral_id: uuid.UUID = Field(foreign_key="referral.id", unique=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    scope: str = Field(max_length=24)  # cross_league | out_of_region
    insured_league_code: str | None = Field(default=None, max_length=6)
    treatment_league_code: str = Field(max_length=6)
    treatment_institution_id: uuid.UUID = Field(foreign_key="institution.id")
    diagnosis_code: str = Field(max_length=16)
    valid_from: date
    valid_to: date
    status: str = Field(default="draft", max_length=16)  # draft | filed | refused
    filing_number: str | None = Field(default=None, max_length=64)
    adapter_message: str | None = None
    filed_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()
