"""Attendance and credit: join/leave of the live lecture, progress in its recording, and the
rule that grants the credit (继续医学教育学分): at least 80 % of the lecture attended live
or watched."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from telemed.core.errors import Conflict
from telemed.training.models import AttendanceEvent, Course, CourseStatus, Enrolment

CREDIT_SHARE_PERCENT = 80


def duration_seconds(course: Course) -> int:
    """The lecture's length; its recording is as long."""
    return int((course.ends_at - course.starts_at).total_seconds())


def attended_share(course: Course, enrolment: Enrolment) -> float:
    """The larger of the live and the watched share of the lecture (0 … 1)."""
    total = duration_seconds(course)
    return min(1.0, max(enrolment.live_seconds, enrolment.watched_seconds) / total)


def credit_due(course: Course, enrolment: Enrolment) -> bool:
    """True when ≥ 80 % of the lecture was attended live or watched (exact, in seconds)."""
    best = max(enrolment.live_seconds, enrolment.watched_seconds)
    return best * 100 >= duration_seconds(course) * CREDIT_SHARE_PERCENT


def _grant_if_due(course: Course, enrolment: Enrolment, now: datetime) -> None:
    if enrolment.credited_at is None and credit_due(course, enrolment):
        enrolment.credited_at = now


def _overlap(course: Course, start: datetime, end: datetime) -> int:
    """Seconds of [start, end] inside the lecture's schedule."""
    lo, hi = max(start, course.starts_at), min(end, course.ends_at)
    return max(0, int((hi - lo).total_seconds()))


def _close(course: Course, enrolment: Enrolment, now: datetime) -> None:
    assert enrolment.joined_at is not None
    enrolment.live_seconds = min(
        duration_seconds(course),
        enrolment.live_seconds + _overlap(course, enrolment.joined_at, now),
    )
    enrolment.joined_at = None
    _grant_if_due(course, enrolment, now)


def record(
    *, session: Session, course: Course, enrolment: Enrolment, event: str, now: datetime
) -> Enrolment:
    """A join or leave of the live lecture at server time `now` (the course published).

    A join while in the room and a leave while out change nothing but are refused (409
    `already_joined` / `not_joined`), so a client's duplicate cannot double count."""
    if course.status != CourseStatus.PUBLISHED:
        raise Conflict("the lecture is not live", code="lecture_not_live")
    if event == "join":
        if enrolment.joined_at is not None:
            raise Conflict("already in the lecture", code="already_joined")
        enrolment.joined_at = now
    else:
        if enrolment.joined_at is None:
            raise Conflict("not in the lecture", code="not_joined")
        _close(course, enrolment, now)
    session.add(AttendanceEvent(enrolment_id=enrolment.id, kind=event, at=now))
    session.add(enrolment)
    session.flush()
    return enrolment


def progress(
    *, session: Session, course: Course, enrolment: Enrolment, position: int, now: datetime
) -> Enrolment:
    """The furthest position reached in the recording: never goes back, capped at the length."""
    if course.status != CourseStatus.FINISHED:
        raise Conflict("the recording is on demand once the lecture finished",
                       code="recording_not_available")  # fmt: skip
    capped = min(position, duration_seconds(course))
    enrolment.watched_seconds = max(enrolment.watched_seconds, capped)
    _grant_if_due(course, enrolment, now)
    session.add(enrolment)
    session.flush()
    return enrolment


def close_open(*, session: Session, course: Course, now: datetime) -> None:
    """End the live sessions still open when the course finishes (counted to now)."""
    rows = session.execute(
        select(Enrolment).where(
            col(Enrolment.course_id) == course.id, col(Enrolment.joined_at).is_not(None)
        )
    ).scalars()
    for e in rows:
        _close(course, e, now)
        session.add(AttendanceEvent(enrolment_id=e.id, kind="leave", at=now))
        session.add(e)
