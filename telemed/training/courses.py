"""The catalogue: creating courses, who manages them, their transitions, listing them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, select
from sqlmodel import Session, col

from telemed.core import audit
from telemed.core.errors import Forbidden, Invalid
from telemed.identity.models import DOCTOR_ROLES, Role, User
from telemed.network.models import Institution
from telemed.training import attendance
from telemed.training.models import Course, CourseStatus, Enrolment
from telemed.training.schemas import CourseCreate, CoursePublic
from telemed.training.states import COURSE


def can_manage(user: User, course_institution_id: uuid.UUID | None) -> bool:
    """Admins manage every course; a coordinator those of their own hospital."""
    if user.role == Role.ADMIN:
        return True
    return (
        user.role == Role.COORDINATOR
        and user.institution_id is not None
        and user.institution_id == course_institution_id
    )


def load(*, session: Session, user: User, course_id: uuid.UUID, lock: bool = False) -> Course:
    """A course the caller may see (drafts only to its managers), else 404."""
    stmt = select(Course).where(col(Course.id) == course_id)
    if lock:
        stmt = stmt.with_for_update()
    course = session.execute(stmt).scalars().first()
    return audit.visible_or_404(
        session,
        user,
        course,
        visible=course is not None
        and (course.status != CourseStatus.DRAFT or can_manage(user, course.institution_id)),
        object_type="training_course",
        ident=course_id,
        label="course",
        reason="a draft of another hospital's catalogue",
    )


def create(*, session: Session, data: CourseCreate, by: User, now: datetime) -> Course:
    """A draft course of the speaker's hospital, by a coordinator of that hospital (or admin)."""
    speaker = session.get(User, data.speaker_id)
    if speaker is None or speaker.role not in DOCTOR_ROLES or speaker.institution_id is None:
        raise Invalid("the speaker must be a doctor of a network hospital", field="speaker_id")
    if not can_manage(by, speaker.institution_id):
        raise Forbidden(
            "only a coordinator of the speaker's hospital may create its courses",
            code="not_course_manager",
        )
    if data.ends_at <= data.starts_at:
        raise Invalid("the lecture must end after it starts", field="ends_at")
    course = Course(
        title=data.title,
        speaker_id=speaker.id,
        institution_id=speaker.institution_id,
        specialty_code=data.specialty_code,
        target_tiers=sorted({t.value for t in data.target_tiers}),
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        capacity=data.capacity,
        credits=data.credits,
        materials=data.materials,
        room_id=data.room_id,
        created_by=by.id,
        created_at=now,
    )
    session.add(course)
    session.flush()
    audit.record(session=session, by=by, action="create", object_type="training_course",
                 object_id=course.id)  # fmt: skip
    return course


def transition(*, session: Session, course: Course, action: str, by: User, now: datetime) -> Course:
    """Publish, finish or cancel a course (409 `invalid_transition` from the wrong state)."""
    if not can_manage(by, course.institution_id):
        raise Forbidden(
            "only a coordinator of the course's hospital may do this", code="not_course_manager"
        )
    course.status = COURSE.next(course.status, action)
    session.add(course)
    if action == "finish":
        attendance.close_open(session=session, course=course, now=now)
    session.flush()
    audit.record(session=session, by=by, action=action, object_type="training_course",
                 object_id=course.id)  # fmt: skip
    return course


def public(session: Session, course: Course, *, enrolled: bool) -> CoursePublic:
    """The course as the API shows it."""
    speaker = session.get(User, course.speaker_id)
    inst = session.get(Institution, course.institution_id)
    return CoursePublic(
        **course.model_dump(exclude={"created_by", "created_at"}),
        speaker_name=speaker.full_name if speaker else "",
        institution_name=inst.name_zh if inst else "",
        enrolled=enrolled,
    )


def catalogue(*, session: Session, user: User) -> list[CoursePublic]:
    """Published and finished courses, and the drafts the caller manages, soonest first."""
    stmt = (
        select(Course, col(Enrolment.id).is_not(None))
        .outerjoin(
            Enrolment,
            and_(col(Enrolment.course_id) == Course.id, col(Enrolment.user_id) == user.id),
        )
        .order_by(col(Course.starts_at))
    )
    rows = session.execute(stmt).all()
    return [
        public(session, c, enrolled=bool(enrolled))
        for c, enrolled in rows
        if c.status in (CourseStatus.PUBLISHED, CourseStatus.FINISHED)
        or (c.status == CourseStatus.DRAFT and can_manage(user, c.institution_id))
    ]
