"""Helpers of the training tests: a course of the demo regional hospital, published."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from telemed.core import clock as core_clock
from telemed.identity.models import User
from telemed.network.models import Tier
from telemed.training import service
from telemed.training.models import Course
from telemed.training.schemas import CourseCreate
from tests.referrals.conftest import user_named


def course_data(session: Session, *, starts_at: datetime | None = None, **kw: Any) -> CourseCreate:
    """A one-hour lecture by the demo specialist, tomorrow, for county and township doctors."""
    start = starts_at or core_clock.now() + timedelta(days=1)
    fields: dict[str, Any] = {
        "title": "高血压基层规范化管理",
        "speaker_id": user_named(session, "specialist").id,
        "specialty_code": "cardiology",
        "target_tiers": [Tier.COUNTY, Tier.TOWNSHIP],
        "starts_at": start,
        "ends_at": start + timedelta(hours=1),
        "capacity": 50,
        "credits": 0.5,
        "materials": "讲义: https://example.org/htn.pdf",
    }
    fields.update(kw)
    return CourseCreate(**fields)


def published_course(session: Session, **kw: Any) -> Course:
    """A published course created by the demo coordinator (of the speaker's hospital)."""
    coord: User = user_named(session, "coordinator")
    now = core_clock.now()
    course = service.create(session=session, data=course_data(session, **kw), by=coord, now=now)
    return service.transition(session=session, course=course, action="publish", by=coord, now=now)
