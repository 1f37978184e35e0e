"""Tables of scheduling: rules, exceptions, holidays, slots, bookings, waitlist.

The "never overbooked" invariant lives in the database: `scheduling_slot.booked` counts
active bookings and holds and is guarded by CHECK constraints (`booked <= capacity`,
`reserved_booked <= reserved`); every booking first locks its slot row (`FOR UPDATE`).
On PostgreSQL an exclusion constraint refuses two overlapping active bookings of one
person (see migration 0101).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from telemed.core.db import id_field, utc_field


class ServiceClass(StrEnum):
    """Service classes a slot offers (agreed vocabulary, see INTERFACES.md)."""

    CONSULTATION = "consultation"
    IMAGING_READING = "imaging_reading"
    OUTPATIENT = "outpatient"
    MDT = "mdt"
    TRAINING = "training"
    HOME_VISIT = "home_visit"


class BookingStatus(StrEnum):
    """FHIR Appointment.status values used by bookings."""

    PROPOSED = "proposed"
    PENDING = "pending"  # held
    BOOKED = "booked"
    ARRIVED = "arrived"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    NOSHOW = "noshow"
    WAITLIST = "waitlist"


ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.BOOKED, BookingStatus.ARRIVED)


class ScheduleRule(SQLModel, table=True):
    """A weekly pattern of one specialist or resource (排班规则), in Asia/Shanghai local time."""

    __tablename__ = "scheduling_rule"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("slot_minutes >= 5", name="slot_minutes_min"),
        CheckConstraint("end_time > start_time", name="end_after_start"),
        CheckConstraint("reserved_share >= 0 AND reserved_share <= 1", name="reserved_share"),
    )

    id: uuid.UUID = id_field()
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    specialist_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", index=True)
    resource_name: str | None = Field(default=None, max_length=100)  # MDT room, reading desk
    specialty_code: str = Field(max_length=40, index=True)
    service_class: str = Field(max_length=32)
    weekdays: str = Field(max_length=20)  # "0,1,2,3,4" (Monday = 0)
    start_time: time  # local (Asia/Shanghai)
    end_time: time
    slot_minutes: int = 30
    capacity: int = 1
    reserved_share: float = 0.0  # share of capacity kept for family-doctor referrals
    release_hours_before: int = 48  # reserved capacity opens to everyone this long before
    valid_from: date
    valid_to: date | None = None
    follow_holidays: bool = True
    active: bool = True
    version: int = 1
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = utc_field()
    updated_at: datetime = utc_field()


class ScheduleException(SQLModel, table=True):
    """Leave (no slots in the window) or an ad-hoc extra session (slots by a rule's template)."""

    __tablename__ = "scheduling_exception"
    __table_args__ = (CheckConstraint("end_at > start_at", name="end_after_start"),)

    id: uuid.UUID = id_field()
    kind: str = Field(max_length=16)  # leave | extra
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    rule_id: uuid.UUID | None = Field(default=None, foreign_key="scheduling_rule.id", index=True)
    specialist_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id", index=True)
    start_at: datetime = utc_field()
    end_at: datetime = utc_field()
    reason: str = Field(default="", max_length=200)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = utc_field()


class Holiday(SQLModel, table=True):
    """An operator-entered calendar day overriding the built-in China holiday calendar."""

    __tablename__ = "scheduling_holiday"

    day: date = Field(primary_key=True)
    kind: str = Field(max_length=16)  # off | workday (调休上班)
    name: str = Field(default="", max_length=64)
    source: str = Field(default="", max_length=200)


class Slot(SQLModel, table=True):
    """A bookable time with a capacity (号源); search columns copied for one-table queries."""

    __tablename__ = "scheduling_slot"
    __table_args__ = (
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        CheckConstraint("reserved >= 0 AND reserved <= capacity", name="reserved_within_capacity"),
        CheckConstraint(
            "reserved_booked >= 0 AND reserved_booked <= reserved AND reserved_booked <= booked",
            name="reserved_booked_within_reserved",
        ),
        CheckConstraint("end_at > start_at", name="end_after_start"),
        UniqueConstraint("rule_id", "start_at", "end_at", name="uq_scheduling_slot_rule_times"),
        Index(
            "ix_scheduling_slot_search_specialty",
            "specialty_code",
            "league_code",
            "start_at",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_scheduling_slot_search_start", "start_at", "service_class"),
        Index("ix_scheduling_slot_institution_start", "institution_id", "start_at"),
        Index("ix_scheduling_slot_specialist_start", "specialist_id", "start_at"),
        Index(
            "ix_scheduling_slot_specialist_class_start",
            "specialist_id",
            "service_class",
            "start_at",
            "id",
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: uuid.UUID = id_field()
    rule_id: uuid.UUID | None = Field(default=None, foreign_key="scheduling_rule.id")
    exception_id: uuid.UUID | None = Field(default=None, foreign_key="scheduling_exception.id")
    institution_id: uuid.UUID = Field(foreign_key="institution.id")
    specialist_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    resource_name: str | None = Field(default=None, max_length=100)
    specialty_code: str = Field(max_length=40)
    service_class: str = Field(max_length=32)
    title: str | None = Field(default=None, max_length=32)
    league_code: str = Field(max_length=6)
    tier: str = Field(max_length=16)
    institution_name: str = Field(max_length=128)
    specialist_name: str | None = Field(default=None, max_length=100)
    start_at: datetime = utc_field()
    end_at: datetime = utc_field()
    capacity: int = 1
    reserved: int = 0
    release_at: datetime = utc_field()
    booked: int = 0
    reserved_booked: int = 0
    status: str = Field(default="active", max_length=16)  # active | withdrawn
    created_at: datetime = utc_field()


class Booking(SQLModel, table=True):
    """An appointment (预约) on a slot; a hold is a booking in state `pending`."""

    __tablename__ = "scheduling_booking"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_scheduling_booking_person_start", "person_id", "start_at"),
        Index("ix_scheduling_booking_slot_status", "slot_id", "status"),
        # A patient's recent no-shows (the booking path's policy check): no-show rows only.
        Index(
            "ix_scheduling_booking_patient_noshow",
            "patient_id",
            "start_at",
            postgresql_where=text("status = 'noshow'"),
            sqlite_where=text("status = 'noshow'"),
        ),
    )

    id: uuid.UUID = id_field()
    slot_id: uuid.UUID = Field(foreign_key="scheduling_slot.id")
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id", index=True)
    booked_by_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    # The person whose time it takes: the patient, or the booker when there is no patient.
    person_id: uuid.UUID
    status: str = Field(max_length=16, index=True)
    reference_type: str | None = Field(default=None, max_length=32)
    reference_id: uuid.UUID | None = Field(default=None, index=True)
    start_at: datetime = utc_field()
    end_at: datetime = utc_field()
    institution_id: uuid.UUID = Field(foreign_key="institution.id")
    specialist_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    service_class: str = Field(max_length=32)
    uses_reserved: bool = False
    hold_expires_at: datetime | None = utc_field(nullable=True)
    needs_reschedule: bool = False
    rescheduled_from_id: uuid.UUID | None = Field(default=None, foreign_key="scheduling_booking.id")
    waitlist_entry_id: uuid.UUID | None = None
    status_reason: str = Field(default="", max_length=200)
    status_changed_at: datetime | None = utc_field(nullable=True)
    status_changed_by_id: uuid.UUID | None = Field(default=None, foreign_key="user_account.id")
    reminded_at: datetime | None = utc_field(nullable=True)
    created_at: datetime = utc_field()


class WaitlistEntry(SQLModel, table=True):
    """A request waiting for a slot (候补): offered, in order, the slots freed by cancellations."""

    __tablename__ = "scheduling_waitlist"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="end_after_start"),
        Index("ix_scheduling_waitlist_match", "status", "specialty_code", "created_at"),
    )

    id: uuid.UUID = id_field()
    requested_by_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    patient_id: uuid.UUID | None = Field(default=None, foreign_key="patient.id")
    specialty_code: str = Field(max_length=40)
    service_class: str | None = Field(default=None, max_length=32)
    institution_id: uuid.UUID | None = Field(default=None, foreign_key="institution.id")
    start_at: datetime = utc_field()
    end_at: datetime = utc_field()
    status: str = Field(default="waiting", max_length=16)  # waiting | offered | done | cancelled
    offered_booking_id: uuid.UUID | None = None
    created_at: datetime = utc_field()
