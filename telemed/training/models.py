"""Tables of remote training: courses, enrolments, attendance events."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from telemed.core.db import id_field, utc_field


class CourseStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class Course(SQLModel, table=True):
    """A lecture of the training catalogue, given by a speaker of a network hospital.

    `enrolled_count` is kept by the enrolment statements themselves (one guarded UPDATE),
    and the database refuses it beyond `capacity`: no overbooking under concurrency."""

    __tablename__ = "training_course"
    __table_args__ = (
        CheckConstraint("enrolled_count >= 0 AND enrolled_count <= capacity", name="capacity"),
        CheckConstraint("ends_at > starts_at", name="schedule"),
    )

    id: uuid.UUID = id_field()
    title: str = Field(max_length=200)
    speaker_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    # the speaker's hospital: its coordinators publish the course and see its report
    institution_id: uuid.UUID = Field(foreign_key="institution.id", index=True)
    specialty_code: str = Field(max_length=40)
    target_tiers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    starts_at: datetime = utc_field(index=True)
    ends_at: datetime = utc_field()
    capacity: int
    enrolled_count: int = 0
    credits: float = 0.5  # class-II CME credits granted for the course
    materials: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default=CourseStatus.DRAFT, index=True, max_length=16)
    room_id: uuid.UUID | None = None  # the live session's video room (kind "training")
    created_by: uuid.UUID = Field(foreign_key="user_account.id")
    created_at: datetime = utc_field()


class Enrolment(SQLModel, table=True):
    """One doctor enrolled in one course, with what they attended and their credit."""

    __tablename__ = "training_enrolment"
    __table_args__ = (UniqueConstraint("course_id", "user_id"),)

    id: uuid.UUID = id_field()
    course_id: uuid.UUID = Field(foreign_key="training_course.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="user_account.id", index=True)
    enrolled_at: datetime = utc_field()
    joined_at: datetime | None = utc_field(nullable=True)  # in the live room since
    live_seconds: int = 0  # of the lecture's schedule, attended live
    watched_seconds: int = 0  # furthest position reached in the recording
    credited_at: datetime | None = utc_field(nullable=True)


class AttendanceEvent(SQLModel, table=True):
    """A join or leave of the live lecture, at server time."""

    __tablename__ = "training_attendance"

    id: uuid.UUID = id_field()
    enrolment_id: uuid.UUID = Field(foreign_key="training_enrolment.id", index=True)
    kind: str = Field(max_length=8)  # join | leave
    at: datetime = utc_field()
