"""Tables of identity: users, patients, tokens."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from telemed.core.db import id_field, utc_field


class Role(StrEnum):
    PATIENT = "patient"
    FAMILY_DOCTOR = "family_doctor"
    COUNTY_DOCTOR = "county_doctor"
    SPECIALIST = "specialist"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


DOCTOR_ROLES = (Role.FAMILY_DOCTOR, Role.COUNTY_DOCTOR, Role.SPECIALIST)


class Title(StrEnum):
    """Professional titles of doctors (职称)."""

    CHIEF = "chief_physician"  # 主任医师
    ASSOCIATE_CHIEF = "associate_chief_physician"  # 副主任医师
    ATTENDING = "attending_physician"  # 主治医师
    RESIDENT = "resident_physician"  # 住院医师


TITLE_NAMES = {
    Title.CHIEF: "主任医师",
    Title.ASSOCIATE_CHIEF: "副主任医师",
    Title.ATTENDING: "主治医师",
    Title.RESIDENT: "住院医师",
}


class User(SQLModel, table=True):
    """Anyone who logs in."""

    __tablename__ = "user_account"

    id: uuid.UUID = id_field()
    username: str = Field(unique=True, max_length=64)
    password_hash: str = Field(max_length=255)
    role: str = Field(index=True, max_length=16)
    full_name: str = Field(max_length=64)
    institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id", index=True)
    department_id: uuid.UUID | None = Field(default=None, foreign_key="department.id")
    specialty_code: str | None = Field(default=None, max_length=40, index=True)
    title: str | None = Field(default=None, max_length=32)
    phone: str | None = Field(default=None, max_length=20)
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id", unique=True)
    is_active: bool = True
    # Set by an admin (or at creation): the next login only allows changing the password.
    must_change_password: bool = False
    # The language the user chose for the app (zh-CN | en | mn-Mong); None = not chosen.
    language: str | None = Field(default=None, max_length=16)
    password_changed_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()


class KnownLoginAddress(SQLModel, table=True):
    """An address a user logged in from successfully: failures from elsewhere never
    block the account there (docs/operations.md, login throttling)."""

    __tablename__ = "known_login_address"

    user_id: uuid.UUID = Field(foreign_key="user_account.id", primary_key=True)
    address: str = Field(primary_key=True, max_length=64)
    last_login_at: datetime = utc_field()


class Patient(SQLModel, table=True):
    """A real-name patient (实名). The resident ID is kept as a keyed hash and a masked form."""

    __tablename__ = "patient"

    id: uuid.UUID = id_field()
    name: str = Field(max_length=64)
    # The name in Mongolian script, NFC as typed, and its search key (telemed.identity.names).
    name_mn: str | None = Field(default=None, max_length=128)
    name_mn_key: str | None = Field(default=None, max_length=128, index=True)
    # The language the patient is told things in (notifications, SMS, .ics, printed
    # documents): zh-CN | en | mn-Mong; None = not chosen (the bilingual texts).
    preferred_language: str | None = Field(default=None, max_length=16)
    sex: str = Field(max_length=8)  # male | female
    birth_date: date
    resident_id_hash: str = Field(unique=True, max_length=64)
    resident_id_masked: str = Field(max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    # Consent to be told by SMS (短信通知同意): when, and how it was given; None = no SMS.
    sms_consent_at: datetime | None = utc_field(nullable=True)
    sms_consent_method: str | None = Field(default=None, max_length=32)
    institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id", index=True)
    county_code: str | None = Field(default=None, foreign_key="county.code", max_length=6)
    # Basic medical insurance category (telemed.payments.coverage.CATEGORIES): urban_employee
    # (城镇职工), urban_rural_resident (城乡居民), self_pay (自费); None counts as self_pay.
    insurance_category: str | None = Field(default=None, max_length=32)
    created_at: datetime = utc_field()


class AuthToken(SQLModel, table=True):
    """An issued bearer token (stored as its SHA-256)."""

    __tablename__ = "auth_token"

    id: uuid.UUID = id_field()
    token_hash: str = Field(unique=True, max_length=64)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = utc_field()
    expires_at: datetime = utc_field()
    revoked_at: datetime | None = utc_field(nullable=True)
