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
    # submitted | accepted | rejected | expired | revoked (referrals.states.FILING)
    status: str = Field(default="submitted", max_length=16, index=True)
    # The agency's 待遇申报明细流水号 (trt_dcla_detl_sn) once accepted.
    filing_number: str | None = Field(default=None, max_length=64)
    # The agency's words (err_msg) and code (infcode) of a rejection; the local adapter's note.
    adapter_message: str | None = None
    reason_code: str | None = Field(default=None, max_length=32)
    # Our message id (msgid) of the pending request, kept across transport retries, and
    # the agency's (inf_refmsgid) of its last answer.
    msgid: str | None = Field(default=None, max_length=30)
    agency_msgid: str | None = Field(default=None, max_length=30)
    # The agency's last answer as received (it carries no secret of ours).
    reply: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Sending: attempts so far, the next one (None: nothing to send), the last transport error.
    attempts: int = 0
    next_attempt_at: datetime | None = utc_field(nullable=True, index=True)
    last_error: str | None = None
    filed_at: datetime | None = utc_field(nullable=True)  # accepted at
    decided_at: datetime | None = utc_field(nullable=True)  # accepted or rejected at
    closed_at: datetime | None = utc_field(nullable=True)  # expired or revoked at
    created_at: datetime = utc_field()
