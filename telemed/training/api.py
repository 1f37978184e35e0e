"""Routes of remote training (docs/training.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from telemed.core import audit
from telemed.core.deps import NowDep, SessionDep, SettingsDep
from telemed.core.errors import NotFound
from telemed.core.printing import LangQuery, choose_language, pdf_response
from telemed.identity.deps import CurrentUser, require_roles
from telemed.identity.models import Role, User
from telemed.network.models import Institution
from telemed.training import service
from telemed.training.certificate import render_certificate
from telemed.training.models import Course, Enrolment
from telemed.training.schemas import (
    AttendanceIn,
    CourseAction,
    CourseCreate,
    CoursePublic,
    EnrolmentPublic,
    LectureRecordingPublic,
    ProgressIn,
    TrainingReport,
)
from telemed.video.schemas import RecordingPublic

router = APIRouter(prefix="/api/v1/training", tags=["training"])
Manager = Annotated[User, Depends(require_roles(Role.COORDINATOR, Role.ADMIN))]


def _enrolment(session: SessionDep, e: Enrolment, c: Course) -> EnrolmentPublic:
    return EnrolmentPublic(
        id=e.id,
        course=service.public(session, c, enrolled=True),
        enrolled_at=e.enrolled_at,
        live_seconds=e.live_seconds,
        watched_seconds=e.watched_seconds,
        attended_share=round(service.attended_share(c, e), 4),
        credited_at=e.credited_at,
    )


@router.get("/courses", response_model=list[CoursePublic])
def courses(session: SessionDep, user: CurrentUser) -> list[CoursePublic]:
    """The catalogue: published and finished courses, and the drafts the caller manages."""
    return service.catalogue(session=session, user=user)


@router.post("/courses", response_model=CoursePublic, status_code=201)
def create_course(
    data: CourseCreate, session: SessionDep, user: Manager, now: NowDep
) -> CoursePublic:
    """A draft course, by a coordinator of the speaker's hospital (or an admin)."""
    course = service.create(session=session, data=data, by=user, now=now)
    return service.public(session, course, enrolled=False)


@router.get("/courses/{course_id}", response_model=CoursePublic)
def course(course_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> CoursePublic:
    """One course (a draft only to its managers)."""
    c = service.load(session=session, user=user, course_id=course_id)
    return service.public(
        session, c, enrolled=service.is_enrolled(session=session, course=c, by=user)
    )


@router.post("/courses/{course_id}/transitions", response_model=CoursePublic)
def course_transition(
    course_id: uuid.UUID, data: CourseAction, session: SessionDep, user: Manager, now: NowDep
) -> CoursePublic:
    """Publish, finish or cancel (409 `invalid_transition` from the wrong state)."""
    c = service.load(session=session, user=user, course_id=course_id, lock=True)
    c = service.transition(session=session, course=c, action=data.action, by=user, now=now)
    return service.public(session, c, enrolled=False)


@router.post("/courses/{course_id}/enrolment", response_model=EnrolmentPublic, status_code=201)
def enrol(
    course_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep
) -> EnrolmentPublic:
    """Enrol the caller (409 `course_full`, `already_enrolled`, `enrolment_closed`)."""
    c = service.load(session=session, user=user, course_id=course_id)
    e = service.enrol(session=session, course=c, by=user, now=now)
    return _enrolment(session, e, c)


@router.delete("/courses/{course_id}/enrolment", status_code=204)
def unenrol(course_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep) -> None:
    """Give the place back, until the lecture starts."""
    c = service.load(session=session, user=user, course_id=course_id)
    service.unenrol(session=session, course=c, by=user, now=now)


@router.post("/courses/{course_id}/attendance", response_model=EnrolmentPublic)
def attendance(
    course_id: uuid.UUID, data: AttendanceIn, session: SessionDep, user: CurrentUser, now: NowDep
) -> EnrolmentPublic:
    """The live room reports the caller joining or leaving, at server time (enrolled only)."""
    c = service.load(session=session, user=user, course_id=course_id)
    e = service.own(session=session, course=c, by=user)
    e = service.record_attendance(session=session, course=c, enrolment=e, event=data.event,
                                  now=now)  # fmt: skip
    return _enrolment(session, e, c)


@router.post("/courses/{course_id}/progress", response_model=EnrolmentPublic)
def progress(
    course_id: uuid.UUID, data: ProgressIn, session: SessionDep, user: CurrentUser, now: NowDep
) -> EnrolmentPublic:
    """The furthest position reached in the recording (monotonic, capped at its length)."""
    c = service.load(session=session, user=user, course_id=course_id)
    e = service.own(session=session, course=c, by=user)
    e = service.progress(session=session, course=c, enrolment=e, position=data.position_seconds,
                         now=now)  # fmt: skip
    return _enrolment(session, e, c)


@router.post("/courses/{course_id}/room", response_model=CoursePublic)
def open_live_room(
    course_id: uuid.UUID, session: SessionDep, user: CurrentUser, now: NowDep,
    settings: SettingsDep,
) -> CoursePublic:  # fmt: skip
    """The lecture's live room (created on the first call): its speaker or managers."""
    c = service.load(session=session, user=user, course_id=course_id, lock=True)
    c = service.open_room(session=session, course=c, by=user, now=now, settings=settings.video)
    return service.public(session, c, enrolled=False)


@router.get("/courses/{course_id}/recordings", response_model=list[LectureRecordingPublic])
def lecture_recordings(
    course_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> list[LectureRecordingPublic]:
    """The lecture's finished recordings: its enrolled doctors, speaker and managers (else
    404 `not_enrolled`)."""
    c = service.load(session=session, user=user, course_id=course_id)
    return [
        LectureRecordingPublic.model_validate(
            {
                **RecordingPublic.model_validate(r, from_attributes=True).model_dump(),
                "file_url": f"/api/v1/recordings/{r.id}/file",
            }
        )  # fmt: skip
        for r in service.lecture_recordings(session=session, course=c, by=user)
    ]


@router.get("/enrolments", response_model=list[EnrolmentPublic])
def my_enrolments(session: SessionDep, user: CurrentUser) -> list[EnrolmentPublic]:
    """The caller's courses, with attendance and credit."""
    return [_enrolment(session, e, c) for e, c in service.mine(session=session, by=user)]


@router.get("/courses/{course_id}/certificate.pdf")
def certificate(
    course_id: uuid.UUID, session: SessionDep, user: CurrentUser, lang: LangQuery = None
) -> Response:
    """The caller's certificate of the course's credit (404 `no_credit` before it is granted)."""
    c = service.load(session=session, user=user, course_id=course_id)
    e = service.own(session=session, course=c, by=user)
    if e.credited_at is None:
        raise NotFound("no credit granted for this course", code="no_credit")
    audit.read(session, user, object_type="training_enrolment", object_id=e.id,
               what="certificate")  # fmt: skip
    body = render_certificate(
        course=c,
        enrolment=e,
        doctor=user,
        doctor_institution=session.get(Institution, user.institution_id)
        if user.institution_id
        else None,
        speaker=session.get(User, c.speaker_id),
        issuer=session.get(Institution, c.institution_id),
        lang=choose_language(lang, user=user),
    )
    return pdf_response(body, f"certificate-{c.id}.pdf")


@router.get("/report", response_model=TrainingReport)
def training_report(session: SessionDep, user: Manager) -> TrainingReport:
    """Per hospital and county of the attendees: enrolled, attended, credited (coordinators)."""
    return service.report(session=session, by=user)
