"""The live lecture: its video room (kind `training`), who may enter it, and the attendance
the room reports.

The room is opened by one of the course's managers or its speaker (the host, the presenter);
its participants are the speaker and the enrolled doctors (hooked into telemed.video by
telemed.wiring), who enter without a waiting room: the enrolment is the admission. Every
admitted join and leave of an enrolled doctor is recorded as attendance at server time.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlmodel import Session, col, select

from telemed.core import audit
from telemed.core.errors import Conflict, Forbidden, NotFound
from telemed.core.settings import VideoSettings
from telemed.identity.models import User
from telemed.training import attendance
from telemed.training.courses import can_manage
from telemed.training.enrolment import is_enrolled
from telemed.training.models import Course, CourseStatus, Enrolment
from telemed.video import service as video
from telemed.video.models import Recording, RecordingStatus, Room, RoomKind
from telemed.video.schemas import RoomCreate

__all__ = [
    "lecture_participants",
    "lecture_presence",
    "lecture_recordings",
    "lecture_viewer",
    "may_watch",
    "open_room",
]

log = logging.getLogger("telemed.training.live")


def open_room(
    *, session: Session, course: Course, by: User, now: datetime, settings: VideoSettings
) -> Course:
    """The lecture's live room, created on the first call (a published course; its managers
    or its speaker): host the speaker, window the schedule, topology by the server."""
    if by.id != course.speaker_id and not can_manage(by, course.institution_id):
        raise Forbidden("only the speaker or the course's managers open its live room",
                        code="not_course_manager")  # fmt: skip
    if course.status != CourseStatus.PUBLISHED:
        raise Conflict("the lecture is not live", code="lecture_not_live")
    if course.room_id is not None:
        return course
    data = RoomCreate(
        kind=RoomKind.TRAINING,
        title=course.title[:200],
        starts_at=course.starts_at,
        ends_at=course.ends_at,
        host_id=course.speaker_id,
    )
    mode = video.topology(session=session, data=data, settings=settings)
    limit = video.participant_limit(mode=mode, settings=settings)
    data.max_participants = max(2, min(course.capacity + 1, limit))
    room = video.create_room(session=session, data=data, by=by, now=now, settings=settings)
    course.room_id = room.id
    session.add(course)
    session.flush()
    return course


def _course_of(session: Session, room: Room) -> Course | None:
    return session.execute(select(Course).where(col(Course.room_id) == room.id)).scalars().first()


def lecture_participants(session: Session, room: Room) -> set[uuid.UUID]:
    """The speaker and the enrolled doctors of the room's course."""
    course = _course_of(session, room)
    if course is None:
        return set()
    ids = set(
        session.execute(
            select(col(Enrolment.user_id)).where(col(Enrolment.course_id) == course.id)
        ).scalars()
    )
    return ids | {course.speaker_id}


def lecture_presence(
    session: Session, room: Room, user_id: uuid.UUID, event: str, now: datetime
) -> None:
    """An enrolled doctor joined or left the live room: their attendance (the speaker's is
    not counted; a duplicate, or a course no longer live, changes nothing)."""
    course = _course_of(session, room)
    if course is None:
        return
    enrolment = (
        session.execute(
            select(Enrolment).where(
                col(Enrolment.course_id) == course.id, col(Enrolment.user_id) == user_id
            )
        )
        .scalars()
        .first()
    )
    if enrolment is None:
        return
    try:
        with session.begin_nested():
            attendance.record(
                session=session, course=course, enrolment=enrolment, event=event, now=now
            )
    except Conflict as exc:
        log.info("attendance of %s in %s not recorded: %s", user_id, course.id, exc.code)


def may_watch(*, session: Session, course: Course, user: User) -> bool:
    """The course's speaker, its enrolled doctors and its managers (its hospital's
    coordinators, admins) play the lecture's recordings; nobody else."""
    if user.id == course.speaker_id or can_manage(user, course.institution_id):
        return True
    return is_enrolled(session=session, course=course, by=user)


def lecture_viewer(session: Session, room: Room, user_id: uuid.UUID) -> bool:
    """The video domain's rule for a lecture room's recordings (hooked by telemed.wiring)."""
    course, user = _course_of(session, room), session.get(User, user_id)
    return (
        course is not None
        and user is not None
        and may_watch(session=session, course=course, user=user)
    )


def lecture_recordings(*, session: Session, course: Course, by: User) -> list[Recording]:
    """The lecture's finished recordings, for those who may watch them (else 404
    `not_enrolled`, a refusal in the audit log); one audited list read."""
    if not may_watch(session=session, course=course, user=by):
        audit.refused(session, by, object_type="training_course", object_id=course.id,
                      reason="not enrolled in the course")  # fmt: skip
        raise NotFound("not enrolled in this course", code="not_enrolled")
    rows: list[Recording] = []
    if course.room_id is not None:
        rows = [
            r
            for r in video.recordings_for(session=session, room_id=course.room_id, viewer=by)
            if r.status == RecordingStatus.FINISHED
        ]
    audit.read(session, by, object_type="video_recording", object_ids=[r.id for r in rows],
               what="course_recordings")  # fmt: skip
    return rows
