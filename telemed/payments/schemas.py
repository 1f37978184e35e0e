"""API shapes of payments (docs/payments.md)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class OrderCreate(BaseModel):
    subject_type: Literal["booking"]
    subject_id: uuid.UUID


class RefundPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    refund_no: str
    amount_cents: int
    reason: str
    state: str  # processing | succeeded | failed
    message: str
    attempts: int
    requested_at: datetime
    settled_at: datetime | None


class OrderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    order_no: str
    patient_id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    institution_id: uuid.UUID
    institution_name: str | None = None
    service_class: str
    description: str
    currency: str
    total_cents: int
    insurance_category: str
    insurance_cents: int
    own_cents: int
    state: str
    allowed_actions: list[str] = []
    provider: str | None
    channel: str | None
    provider_txn: str | None
    expires_at: datetime
    paid_at: datetime | None
    refunded_cents: int
    refunded_at: datetime | None
    closed_reason: str
    created_at: datetime
    updated_at: datetime
    refunds: list[RefundPublic] = []


class PayRequest(BaseModel):
    provider: str = Field(max_length=16)
    channel: Literal["h5", "jsapi", "native", "wap"]
    # Where the payer's browser comes back: a path of this server ("/#/payments?…").
    return_path: str | None = Field(default=None, max_length=300, pattern=r"^/([^/].*)?$")
    payer_ref: str | None = Field(default=None, max_length=128)  # openid (jsapi)


class PayStartPublic(BaseModel):
    kind: Literal["redirect", "qr", "jsapi"]
    url: str | None
    params: dict[str, str]
    provider_ref: str | None
    order: OrderPublic


class ProvidersPublic(BaseModel):
    providers: list[dict[str, Any]]  # {name, channels}


class CoverageRulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    service_class: str
    insurance_category: str
    rate_bp: int
    cap_cents: int | None
    is_example: bool
    note: str
    updated_at: datetime


class CoverageRuleSet(BaseModel):
    service_class: str = Field(max_length=32)
    insurance_category: str = Field(max_length=32)
    rate_bp: int = Field(ge=0, le=10000)
    cap_cents: int | None = Field(default=None, ge=0)
    note: str = Field(default="", max_length=200)


class Mismatch(BaseModel):
    kind: Literal["missing_at_provider", "missing_here", "amount_mismatch"]
    order_no: str
    line: Literal["paid", "refund"]
    refund_no: str | None
    ours_cents: int | None
    theirs_cents: int | None


class ReconciliationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    provider: str
    ran_at: datetime
    ours: int
    theirs: int
    matched: int
    mismatches: list[Mismatch]
