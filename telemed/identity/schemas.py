"""API shapes of identity."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from telemed.core.i18n import LANGUAGES
from telemed.identity.models import Role, Title

_LANGUAGE_CODES: dict[str, Any] = {"enum": list(LANGUAGES)}
_LANGUAGE_OR_NULL: dict[str, Any] = {"enum": [*LANGUAGES, None]}


class TokenPublic(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    # True: the token allows only /auth/me, /auth/password and /auth/logout until the
    # password is changed.
    must_change_password: bool = False


class UserPublic(BaseModel):
    id: uuid.UUID
    username: str
    role: Role
    full_name: str
    institution_id: uuid.UUID | None
    department_id: uuid.UUID | None
    specialty_code: str | None
    title: str | None
    patient_id: uuid.UUID | None
    must_change_password: bool = False
    language: str | None = Field(
        default=None,
        description="the language chosen for the app: zh-CN | en | mn-Mong; null = not chosen",
        json_schema_extra=_LANGUAGE_OR_NULL,
    )


class LanguageUpdate(BaseModel):
    language: str = Field(
        max_length=16,
        description="zh-CN | en | mn-Mong (another code is 422 invalid_value)",
        json_schema_extra=_LANGUAGE_CODES,
    )


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    password: str = Field(
        min_length=1,
        max_length=128,
        description="at least 10 characters, not common, not derived from the username "
        "or name (422 password_too_short | password_too_weak | password_personal)",
    )
    role: Role
    full_name: str = Field(min_length=1, max_length=64)
    institution_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    specialty_code: str | None = None
    title: Title | None = None
    phone: str | None = Field(default=None, pattern=r"^1\d{10}$")
    patient_id: uuid.UUID | None = None
    must_change_password: bool = Field(
        default=False, description="the first login only allows changing the password"
    )


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(
        min_length=1, max_length=128, description="the same policy as at creation"
    )


class PatientCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    name_mn: str | None = Field(
        default=None,
        max_length=128,
        description="the name in Mongolian script (stored NFC; searchable by `q`)",
    )
    preferred_language: str | None = Field(
        default=None,
        max_length=16,
        description="zh-CN | en | mn-Mong: the language the patient is told things in",
        json_schema_extra=_LANGUAGE_OR_NULL,
    )
    resident_id: str = Field(min_length=1, max_length=32, description="18-character resident ID")
    phone: str | None = Field(default=None, pattern=r"^1\d{10}$")
    county_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    # The patient agreed (at registration, to the registering staff) to be told by SMS.
    sms_consent: bool = False


class SmsConsentUpdate(BaseModel):
    consent: bool


class SmsConsentPublic(BaseModel):
    consent: bool
    consent_at: datetime | None
    method: str | None


class PatientPublic(BaseModel):
    id: uuid.UUID
    name: str
    name_mn: str | None = None
    preferred_language: str | None = Field(default=None, json_schema_extra=_LANGUAGE_OR_NULL)
    sex: str
    birth_date: date
    resident_id_masked: str
    phone_masked: str | None
    institution_id: uuid.UUID | None
    county_code: str | None
    sms_consent: bool = False


class AuditActor(BaseModel):
    """Who wrote an audit row, as the admin's log shows them."""

    id: uuid.UUID
    username: str
    full_name: str
    role: str
    institution_id: uuid.UUID | None
    institution_name_zh: str | None
    institution_name_en: str | None


class AuditEventPublic(BaseModel):
    id: uuid.UUID
    at: datetime
    actor_id: uuid.UUID | None
    actor_role: str | None
    # The actor's account (null for the system or a removed account).
    actor: AuditActor | None = None
    action: str
    object_type: str
    object_id: str
    patient_id: uuid.UUID | None
    patient_ids: list[uuid.UUID] = []
    ip: str | None
    request_id: str | None
    detail: dict[str, Any]
