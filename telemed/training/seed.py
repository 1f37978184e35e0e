"""The demo's training catalogue: two published lectures of the demo regional hospital."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from telemed.core import clock
from telemed.identity.models import User
from telemed.network.models import Tier
from telemed.training import service
from telemed.training.models import Course
from telemed.training.schemas import CourseCreate

DEMO_COURSES = (
    ("高血压基层规范化管理", "cardiology", 2, 1.0),
    ("胸部CT常见病影像诊断", "radiology", 5, 0.5),
)


def seed_demo(session: Session) -> int:
    """Publish the demo courses (by the demo coordinator) unless there are courses already."""
    if session.execute(select(Course.id)).first() is not None:
        return 0
    by = {u.username: u for u in session.execute(select(User)).scalars()
          if u.username in ("coordinator", "specialist", "specialist2")}  # fmt: skip
    if len(by) < 3:
        return 0
    now = clock.now()
    day = now.replace(hour=7, minute=0, second=0, microsecond=0)  # 15:00 Beijing time
    for (title, specialty, days, credits), speaker in zip(
        DEMO_COURSES, (by["specialist"], by["specialist2"]), strict=True
    ):
        start = day + timedelta(days=days)
        data = CourseCreate(
            title=title, speaker_id=speaker.id, specialty_code=specialty,
            target_tiers=[Tier.COUNTY, Tier.TOWNSHIP, Tier.COMMUNITY],
            starts_at=start, ends_at=start + timedelta(hours=1, minutes=30),
            capacity=100, credits=credits, materials="讲义与病例在课前一天发布。",
        )  # fmt: skip
        course = service.create(session=session, data=data, by=by["coordinator"], now=now)
        service.transition(session=session, course=course, action="publish",
                           by=by["coordinator"], now=now)  # fmt: skip
    return len(DEMO_COURSES)
