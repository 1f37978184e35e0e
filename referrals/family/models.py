"""Tables of the family-doctor service: teams, packages, contracts, follow-ups, home services.

The one-active-contract-per-resident rule is a partial unique index
(`uq_contract_one_active`, PostgreSQL and SQLite alike), not a Python check.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from telemed.core.db import id_field, utc_field


class TeamRole(StrEnum):
    LEAD = "lead"  # 团队长 (lead family doctor)
    FAMILY_DOCTOR = "family_doctor"  # 家庭医生
    NURSE = "nurse"  # 护士
    PUBLIC_HEALTH = "public_health"  # 公卫医生
    VILLAGE_DOCTOR = "village_doctor"  # 乡村医生


# Members counted as "family doctors" for the team's default capacity.
DOCTOR_TEAM_ROLES = (TeamRole.LEAD, TeamRole.FAMILY_DOCTOR)


class ContractStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"
    TERMINATED = "terminated"


class FamilyDoctorTeam(SQLModel, table=True):
    """A family-doctor team (家庭医生团队) at a primary institution."""

    __tablename__ = "fd_team"

    id: uuid.UUID = id_field()
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    name: str = Field(max_length=100)
    lead_doctor_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    # None: residents_per_family_doctor x the team's family doctors.
    capacity: int | None = None
    served_areas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    is_active: bool = True
    created_at: datetime = utc_field()


class TeamMember(SQLModel, table=True):
    """A member of a team with their role in it."""

    __tablename__ = "fd_team_member"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: uuid.UUID = id_field()
    team_id: uuid.UUID = Field(foreign_key="fd_team.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    role: str = Field(max_length=20)


class ServicePackage(SQLModel, table=True):
    """A contracted service package (签约服务包): basic or personalised."""

    __tablename__ = "fd_service_package"

    code: str = Field(primary_key=True, max_length=32)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=64)
    kind: str = Field(max_length=16)  # basic | personalised
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    visits_per_year: int = 0
    follow_up_interval_days: int | None = None  # chronic packages generate follow-ups
    fee_fen: int = 0  # yearly fee in fen (1/100 yuan)
    insurance_share_pct: int = 0  # share of the fee paid by insurance / public health funds
    eligibility: str | None = Field(default=None, max_length=32)  # age65 | child0_6 | female


class Contract(SQLModel, table=True):
    """A resident's one-year contract with one team (家庭医生签约)."""

    __tablename__ = "fd_contract"
    __table_args__ = (
        Index(
            "uq_contract_one_active",
            "patient_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: uuid.UUID = id_field()
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    team_id: uuid.UUID = Field(foreign_key="fd_team.id", index=True)
    status: str = Field(default=ContractStatus.PENDING, max_length=16, index=True)
    term_start: date
    term_end: date
    signing_channel: str = Field(max_length=16)  # app | doctor
    signed_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    signed_at: datetime = utc_field()
    consent: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # App-signed contracts wait for the team to confirm; doctor-signed ones are confirmed.
    confirmed_at: datetime | None = utc_field(nullable=True)
    previous_contract_id: uuid.UUID | None = Field(default=None, foreign_key="fd_contract.id")
    activated_at: datetime | None = utc_field(nullable=True)
    ended_at: datetime | None = utc_field(nullable=True)
    end_reason: str | None = Field(default=None, max_length=200)
    ended_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    reminder_sent_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()


class ContractPackage(SQLModel, table=True):
    __tablename__ = "fd_contract_package"

    contract_id: uuid.UUID = Field(foreign_key="fd_contract.id", primary_key=True)
    package_code: str = Field(foreign_key="fd_service_package.code", primary_key=True)


class FollowUp(SQLModel, table=True):
    """A scheduled follow-up (随访) of a contracted resident with a chronic package."""

    __tablename__ = "fd_follow_up"

    id: uuid.UUID = id_field()
    contract_id: uuid.UUID = Field(foreign_key="fd_contract.id", index=True)
    team_id: uuid.UUID = Field(foreign_key="fd_team.id", index=True)
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    package_code: str = Field(max_length=32)
    due_on: date = Field(index=True)
    done_at: datetime | None = utc_field(nullable=True)
    done_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    notes: str = ""
    measurements: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )


class HomeSickBed(SQLModel, table=True):
    """A home sick bed (家庭病床): admission, visit plan, discharge."""

    __tablename__ = "fd_home_bed"

    id: uuid.UUID = id_field()
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    team_id: uuid.UUID = Field(foreign_key="fd_team.id", index=True)
    status: str = Field(default="admitted", max_length=16)  # admitted | discharged
    diagnosis_code: str = Field(max_length=16)
    reason: str = ""
    visit_interval_days: int = 7
    planned_services: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    admitted_at: datetime = utc_field()
    admitted_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    discharged_at: datetime | None = utc_field(nullable=True)
    discharge_summary: str | None = None


class HomeBedVisit(SQLModel, table=True):
    __tablename__ = "fd_home_bed_visit"

    id: uuid.UUID = id_field()
    bed_id: uuid.UUID = Field(foreign_key="fd_home_bed.id", index=True)
    visited_at: datetime = utc_field()
    by_id: uuid.UUID = Field(foreign_key="user_account.id")
    notes: str = ""
    vitals: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class HomeVisitRequest(SQLModel, table=True):
    """A home-visit request (上门服务) the team schedules."""

    __tablename__ = "fd_home_visit"

    id: uuid.UUID = id_field()
    patient_id: uuid.UUID = Field(foreign_key="patient.id", index=True)
    team_id: uuid.UUID = Field(foreign_key="fd_team.id", index=True)
    requested_by_id: uuid.UUID = Field(foreign_key="user_account.id")
    reason: str
    preferred_date: date | None = None
    status: str = Field(default="requested", max_length=16)  # requested|scheduled|done|cancelled
    scheduled_at: datetime | None = utc_field(nullable=True)
    booking_id: uuid.UUID | None = None
    done_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()
