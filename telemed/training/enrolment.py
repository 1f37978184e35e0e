"""Enrolment: doctors of the targeted tiers enrol until the lecture starts; the capacity is
held by one guarded UPDATE of the course's count (and a CHECK constraint behind it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlmodel import Session, col

from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden, NotFound
from telemed.identity.models import DOCTOR_ROLES, User
from telemed.network.models import Institution
from telemed.training.models import AttendanceEvent, Course, CourseStatus, Enrolment


def _open(course: Course, now: datetime) -> None:
    if course.status != CourseStatus.PUBLISHED:
        raise Conflict(f"the course is {course.status}", code="course_not_open")
    if now >= course.starts_at:
        raise Conflict("enrolment closes when the lecture starts", code="enrolment_closed")


def may_enrol(session: Session, user: User, course: Course) -> bool:
    """Doctors of an institution whose tier the course targets."""
    if user.role not in DOCTOR_ROLES or user.institution_id is None:
        return False
    inst = session.get(Institution, user.institution_id)
    return inst is not None and inst.tier in course.target_tiers


def enrol(*, session: Session, course: Course, by: User, now: datetime) -> Enrolment:
    """Enrol the caller: 409 `course_full`, `already_enrolled`, `enrolment_closed`."""
    _open(course, now)
    if not may_enrol(session, by, course):
        raise Forbidden("the course is not meant for your institution's tier",
                        code="tier_not_targeted")  # fmt: skip
    # The row lock of this UPDATE serializes enrolments in one course: the existence check
    # below then sees every committed enrolment, and the count never passes the capacity.
    taken = session.execute(
        update(Course)
        .where(col(Course.id) == course.id, col(Course.enrolled_count) < col(Course.capacity))
        .values(enrolled_count=col(Course.enrolled_count) + 1)
        .returning(col(Course.id))
    ).first()
    if taken is None:
        raise Conflict("the course is full", code="course_full")
    exists = session.execute(
        select(col(Enrolment.id)).where(
            col(Enrolment.course_id) == course.id, col(Enrolment.user_id) == by.id
        )
    ).first()
    if exists is not None:
        raise Conflict("already enrolled", code="already_enrolled")
    enrolment = Enrolment(course_id=course.id, user_id=by.id, enrolled_at=now)
    session.add(enrolment)
    session.flush()
    session.refresh(course)
    audit.record(session=session, by=by, action="enrol", object_type="training_enrolment",
                 object_id=enrolment.id)  # fmt: skip
    return enrolment


def unenrol(*, session: Session, course: Course, by: User, now: datetime) -> None:
    """Give the place back until the lecture starts."""
    _open(course, now)
    mine = select(col(Enrolment.id)).where(
        col(Enrolment.course_id) == course.id, col(Enrolment.user_id) == by.id
    )
    # a join in the waiting room before the start goes with the enrolment
    session.execute(delete(AttendanceEvent).where(col(AttendanceEvent.enrolment_id).in_(mine)))
    gone = session.execute(
        delete(Enrolment)
        .where(col(Enrolment.course_id) == course.id, col(Enrolment.user_id) == by.id)
        .returning(col(Enrolment.id))
    ).first()
    if gone is None:
        raise NotFound("not enrolled in this course", code="not_enrolled")
    session.execute(
        update(Course)
        .where(col(Course.id) == course.id)
        .values(enrolled_count=col(Course.enrolled_count) - 1)
    )
    session.refresh(course)
    audit.record(session=session, by=by, action="unenrol", object_type="training_enrolment",
                 object_id=gone[0])  # fmt: skip


def own(*, session: Session, course: Course, by: User) -> Enrolment:
    """The caller's enrolment in `course`, else 404 `not_enrolled`."""
    e = (
        session.execute(
            select(Enrolment).where(
                col(Enrolment.course_id) == course.id, col(Enrolment.user_id) == by.id
            )
        )
        .scalars()
        .first()
    )
    if e is None:
        raise NotFound("not enrolled in this course", code="not_enrolled")
    return e


def mine(*, session: Session, by: User) -> list[tuple[Enrolment, Course]]:
    """The caller's enrolments with their courses, soonest first (an audited list read)."""
    rows = session.execute(
        select(Enrolment, Course)
        .join(Course, col(Course.id) == Enrolment.course_id)
        .where(col(Enrolment.user_id) == by.id)
        .order_by(col(Course.starts_at))
    ).all()
    audit.read(session, by, object_type="training_enrolment",
               object_ids=[e.id for e, _ in rows])  # fmt: skip
    return [(e, c) for e, c in rows]


def is_enrolled(*, session: Session, course: Course, by: User) -> bool:
    """True when the caller is enrolled in `course`."""
    return (
        session.execute(
            select(col(Enrolment.id)).where(
                col(Enrolment.course_id) == course.id, col(Enrolment.user_id) == by.id
            )
        ).first()
        is not None
    )
