"""API shapes of scheduling."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from scheduling.models import ServiceClass

_LOCAL_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?")


def _local_time(value: Any) -> Any:
    """A wall-clock time in Asia/Shanghai: `HH:MM` or `HH:MM:SS`, no zone, no fraction."""
    if isinstance(value, str) and not _LOCAL_TIME.fullmatch(value):
        raise ValueError("a local time is HH:MM or HH:MM:SS (Asia/Shanghai, no zone or fraction)")
    if isinstance(value, time) and (value.tzinfo is not None or value.microsecond):
        raise ValueError("a local time has no zone and no fraction of a second")
    return value


# Rule times are local (Asia/Shanghai) wall-clock times. The schema says so with a pattern:
# OpenAPI's `format: time` is RFC 3339's full-time, which needs a zone, and a zoned or
# fractional time compared with the stored naive ones raised TypeError.
LocalTime = Annotated[
    time,
    BeforeValidator(_local_time),
    PlainSerializer(lambda t: t.strftime("%H:%M:%S"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^" + _LOCAL_TIME.pattern + "$",
            "description": "local time in Asia/Shanghai, HH:MM or HH:MM:SS",
            "examples": ["08:00"],
        }
    ),
]


class SlotView(BaseModel):
    """One bookable slot as a given viewer sees it (remaining counts reserved places only
    for viewers entitled to them)."""

    id: uuid.UUID
    institution_id: uuid.UUID
    institution_name: str
    specialist_id: uuid.UUID | None
    specialist_name: str | None
    specialty_code: str
    title: str | None
    service_class: str
    start_at: datetime
    end_at: datetime
    remaining: int
    tier: str | None = None
    league_code: str | None = None
    capacity: int | None = None
    # the fee of the slot's service at its hospital's tier (None: no fee set)
    fee_cents: int | None = None
    currency: str | None = None


class HoldCreate(BaseModel):
    patient_id: uuid.UUID | None = None


class BookingCreate(BaseModel):
    slot_id: uuid.UUID | None = None
    hold_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    reference_type: str | None = Field(default=None, max_length=32)
    reference_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _slot_or_hold(self) -> BookingCreate:
        if self.slot_id is None and self.hold_id is None:
            raise ValueError("give slot_id or hold_id")
        return self


class BookingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slot_id: uuid.UUID
    patient_id: uuid.UUID | None
    booked_by_id: uuid.UUID
    status: str
    reference_type: str | None
    reference_id: uuid.UUID | None
    start_at: datetime
    end_at: datetime
    institution_id: uuid.UUID
    specialist_id: uuid.UUID | None
    service_class: str
    uses_reserved: bool
    hold_expires_at: datetime | None
    needs_reschedule: bool
    rescheduled_from_id: uuid.UUID | None
    status_reason: str
    created_at: datetime


class BookingListItem(BookingPublic):
    """A booking as the appointments list shows it: its slot's doctor, specialty and
    hospital, and the fee of its service at that hospital's tier (None: no fee set)."""

    specialist_name: str | None
    specialist_title: str | None
    specialty_code: str
    institution_name: str
    fee_cents: int | None
    currency: str | None


class CancelRequest(BaseModel):
    reason: str = Field(default="", max_length=200)


class RescheduleRequest(BaseModel):
    slot_id: uuid.UUID
    reason: str = Field(default="", max_length=200)


class RuleCreate(BaseModel):
    """A weekly pattern; times are local Asia/Shanghai."""

    institution_id: uuid.UUID | None = None
    specialist_id: uuid.UUID | None = None
    resource_name: str | None = Field(default=None, max_length=100)
    specialty_code: str | None = Field(default=None, max_length=40)
    service_class: ServiceClass = ServiceClass.OUTPATIENT
    weekdays: list[int] = Field(min_length=1)
    start_time: LocalTime
    end_time: LocalTime
    slot_minutes: int = Field(default=30, ge=5, le=480)
    capacity: int = Field(default=1, ge=1, le=500)
    reserved_share: float = Field(default=0.0, ge=0, le=1)
    release_hours_before: int = Field(default=48, ge=0, le=24 * 60)
    valid_from: date | None = None
    valid_to: date | None = None
    follow_holidays: bool = True

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in v):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return sorted(set(v))

    @model_validator(mode="after")
    def _times(self) -> RuleCreate:
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        if self.specialist_id is None and not self.resource_name:
            raise ValueError("give specialist_id or resource_name")
        return self


class RuleUpdate(BaseModel):
    weekdays: list[int] | None = Field(default=None, max_length=7)
    start_time: LocalTime | None = None
    end_time: LocalTime | None = None
    slot_minutes: int | None = Field(default=None, ge=5, le=480)
    capacity: int | None = Field(default=None, ge=1, le=500)
    reserved_share: float | None = Field(default=None, ge=0, le=1)
    release_hours_before: int | None = Field(default=None, ge=0, le=24 * 60)
    valid_to: date | None = None
    follow_holidays: bool | None = None
    active: bool | None = None


class RulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    institution_id: uuid.UUID
    specialist_id: uuid.UUID | None
    resource_name: str | None
    specialty_code: str
    service_class: str
    weekdays: str
    start_time: LocalTime
    end_time: LocalTime
    slot_minutes: int
    capacity: int
    reserved_share: float
    release_hours_before: int
    valid_from: date
    valid_to: date | None
    follow_holidays: bool
    active: bool
    version: int


class ExceptionCreate(BaseModel):
    kind: str = Field(pattern="^(leave|extra)$")
    rule_id: uuid.UUID | None = None
    specialist_id: uuid.UUID | None = None
    start_at: datetime
    end_at: datetime
    reason: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _check(self) -> ExceptionCreate:
        if self.start_at.tzinfo is None or self.end_at.tzinfo is None:
            raise ValueError("times need a UTC offset, e.g. 2026-12-01T08:00:00+08:00")
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        if self.kind == "extra" and self.rule_id is None:
            raise ValueError("an extra session names the rule it follows (rule_id)")
        if self.rule_id is None and self.specialist_id is None:
            raise ValueError("give rule_id or specialist_id")
        return self


class ExceptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    rule_id: uuid.UUID | None
    specialist_id: uuid.UUID | None
    start_at: datetime
    end_at: datetime
    reason: str


class HolidayCreate(BaseModel):
    day: date
    kind: str = Field(pattern="^(off|workday)$")
    name: str = Field(default="", max_length=64)
    source: str = Field(default="", max_length=200)


class DayPublic(BaseModel):
    day: date
    kind: str
    code: str  # the built-in holiday's code (spring_festival …); "" for an operator's row
    name: str  # in the caller's language (an operator's row: as entered)


class WaitlistCreate(BaseModel):
    specialty_code: str = Field(max_length=40)
    service_class: ServiceClass | None = None
    institution_id: uuid.UUID | None = None
    patient_id: uuid.UUID | None = None
    start_at: datetime
    end_at: datetime

    @model_validator(mode="after")
    def _check(self) -> WaitlistCreate:
        if self.end_at <= self.start_at:
            raise ValueError("end_at must be after start_at")
        return self


class WaitlistPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    requested_by_id: uuid.UUID
    patient_id: uuid.UUID | None
    specialty_code: str
    service_class: str | None
    institution_id: uuid.UUID | None
    start_at: datetime
    end_at: datetime
    status: str
    offered_booking_id: uuid.UUID | None
    created_at: datetime


class HorizonPublic(BaseModel):
    rules: int
    created: int
    updated: int
    withdrawn: int
    deleted: int
    flagged_bookings: int
