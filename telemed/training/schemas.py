"""API shapes of remote training."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field

from telemed.network.models import Tier
from telemed.video.schemas import RecordingPublic


class CourseCreate(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    speaker_id: uuid.UUID
    specialty_code: str = Field(min_length=1, max_length=40)
    target_tiers: list[Tier] = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    capacity: int = Field(ge=1, le=100_000)
    credits: float = Field(default=0.5, gt=0, le=25)
    materials: str = Field(default="", max_length=20_000)
    room_id: uuid.UUID | None = None


class CoursePublic(BaseModel):
    id: uuid.UUID
    title: str
    speaker_id: uuid.UUID
    speaker_name: str
    institution_id: uuid.UUID
    institution_name: str
    specialty_code: str
    target_tiers: list[str]
    starts_at: datetime
    ends_at: datetime
    capacity: int
    enrolled_count: int
    credits: float
    materials: str
    status: str
    room_id: uuid.UUID | None
    enrolled: bool = Field(description="the caller is enrolled")


class CourseAction(BaseModel):
    action: Literal["publish", "finish", "cancel"]


class EnrolmentPublic(BaseModel):
    id: uuid.UUID
    course: CoursePublic
    enrolled_at: datetime
    live_seconds: int
    watched_seconds: int
    attended_share: float = Field(description="the larger of live and watched, over the lecture")
    credited_at: datetime | None


class AttendanceIn(BaseModel):
    event: Literal["join", "leave"]


class ProgressIn(BaseModel):
    position_seconds: int = Field(ge=0)


class ReportRow(BaseModel):
    county_code: str | None
    institution_id: uuid.UUID | None
    institution_name: str
    enrolled: int
    attended: int
    credited: int


class CountyRow(BaseModel):
    county_code: str | None
    enrolled: int
    attended: int
    credited: int


class TrainingReport(BaseModel):
    hospitals: list[ReportRow]
    counties: list[CountyRow]


class LectureRecordingPublic(RecordingPublic):
    """A finished recording of the lecture, with where to play it."""

    file_url: str = Field(description="the file: GET /api/v1/recordings/{id}/file")
